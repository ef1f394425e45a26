import BrenderTesting
import Foundation
import Testing

@testable import BrenderKit

/// The worker-protocol holes that lost work or hung a job, each pinned by the behaviour that
/// closes it.
@Suite struct FarmReliabilityTests {
    let fixture: FarmFixture
    var farm: Farm { fixture.farm }
    var clock: ManualClock { fixture.clock }

    init() throws {
        fixture = try FarmFixture()
    }

    private func worker(_ name: String) async throws -> Int64 {
        try await farm.register(.simulated(name)).clientID
    }

    @discardableResult
    private func submit(_ frames: String, chunk: Int = 1, on farm: Farm? = nil) async throws -> Int64 {
        let values: [String: JSONValue] = ["type": "command", "argv": ["true"], "frames": .string(frames), "chunk": .int(Int64(chunk))]
        return try await (farm ?? self.farm).handle(APIRequest(item: "job", action: "create", values: values)).items[0]["id"]!.intValue!
    }

    private func task(_ id: Int64, on farm: Farm? = nil) async throws -> JSONValue {
        try await (farm ?? self.farm).handle(APIRequest(item: "task", action: "read", filters: ["id": .int(id)])).items[0]
    }

    private func client(_ id: Int64) async throws -> JSONValue {
        try await farm.handle(APIRequest(item: "client", action: "read", filters: ["id": .int(id)])).items[0]
    }

    private func log(_ taskID: Int64, on farm: Farm? = nil) async -> String {
        String(decoding: await (farm ?? self.farm).taskLog(taskID: taskID, offset: 0)?.data ?? Data(), as: UTF8.self)
    }

    // MARK: 1. A refused update changes nothing

    @Test func aFinalUpdateWithAWrongLeaseChangesNothingAndLeavesNoTaskStuck() async throws {
        let w = try await worker("w")
        try await submit("1")
        let assignment = try #require(try await farm.requestTask(clientID: w, wait: 0))
        var forged = assignment
        forged.lease += 7
        for state in [WorkerProtocol.TaskState.failed, .completed, .released] {
            let reply = try await farm.updateTask(clientID: w, forged, state, frames: [1])
            #expect(!reply.accepted && reply.stop && reply.next == nil)
            #expect(try await task(assignment.taskID)["status"] == "active", "a refused \(state) changed the task")
            #expect(try await client(w)["activity"] == "busy", "a refused \(state) freed the client")
        }
        #expect(await farm.repairInvariants().isEmpty)
        // The real lease still completes it.
        #expect(try await farm.updateTask(clientID: w, assignment, .completed, frames: [1]).accepted)
        #expect(try await task(assignment.taskID)["status"] == "completed")
    }

    @Test func theInvariantCheckRequeuesATaskWhoseClientDoesNotRunItAndSaysSo() async throws {
        let w = try await worker("w")
        try await submit("1")
        let assignment = try #require(try await farm.requestTask(clientID: w, wait: 0))
        await farm.forgetCurrentTask(of: w)
        let repairs = await farm.repairInvariants()
        #expect(repairs == ["task \(assignment.taskID) was active but its client w does not run it; requeued"])
        #expect(try await task(assignment.taskID)["status"] == "queued")
        #expect(await farm.repairInvariants().isEmpty)
    }

    /// A worker running a task, on a server that dies at the second commit of what comes next
    /// (if it makes two), and the farm loaded again after `change`.
    private func crashingAtTheSecondCommit(of change: (Int64) async throws -> Void) async throws -> (farm: Farm, task: JSONValue) {
        let w = try await worker("w")
        try await submit("1")
        let assignment = try #require(try await farm.requestTask(clientID: w, wait: 0))
        try await farm.injectStoreFault(.crash(afterCommits: 1))
        try await change(w)
        let reopened = try fixture.reopen()
        return (reopened, try await task(assignment.taskID, on: reopened))
    }

    @Test func aDeletedClientsTaskGoesBackInTheTransactionThatDeletesIt() async throws {
        let (reopened, task) = try await crashingAtTheSecondCommit { w in
            _ = try await farm.handle(APIRequest(item: "client", action: "delete", filters: ["id": .int(w)], force: true))
        }
        #expect(try await reopened.handle(APIRequest(item: "client", action: "read")).items.isEmpty)
        #expect(task["status"] == "queued")
        #expect(await reopened.repairInvariants().isEmpty)
    }

    @Test func aWorkerThatRegistersAgainTakesUpItsRecordInTheTransactionThatHandsBackItsTask() async throws {
        let (reopened, task) = try await crashingAtTheSecondCommit { _ in
            var restarted = WorkerProtocol.Registration.simulated("w")
            restarted.hostname = "new-host"
            _ = try await farm.register(restarted)
        }
        let client = try await reopened.handle(APIRequest(item: "client", action: "read")).items[0]
        #expect(client["hostname"] == "new-host" && client["connection"] == "online")
        #expect(task["status"] == "queued")
        #expect(await reopened.repairInvariants().isEmpty)
    }

    @Test func aWorkerThatSignsOffGoesOfflineInTheTransactionThatHandsBackItsTask() async throws {
        let (reopened, task) = try await crashingAtTheSecondCommit { w in try await farm.signOff(clientID: w) }
        #expect(try await reopened.handle(APIRequest(item: "client", action: "read")).items[0]["connection"] == "offline")
        #expect(task["status"] == "queued")
    }

    @Test func aClientDisabledWithNowStopsItsTaskInTheTransactionThatDisablesIt() async throws {
        let (reopened, task) = try await crashingAtTheSecondCommit { w in
            _ = try await farm.handle(
                APIRequest(item: "client", action: "update", filters: ["id": .int(w)], values: ["status": "disabled"], now: true))
        }
        #expect(try await reopened.handle(APIRequest(item: "client", action: "read")).items[0]["status"] == "disabled")
        #expect(task["status"] == "queued")
    }

    @Test func askingForWorkHandsBackTheLostTaskAndStartsTheNextInOneTransaction() async throws {
        let w = try await worker("w")
        try await submit("1-2")
        let lost = try #require(try await farm.requestTask(clientID: w, wait: 0))
        // The answer never arrived: the worker asks again, on a server that dies after one commit.
        try await farm.injectStoreFault(.crash(afterCommits: 1))
        let next = try #require(try await farm.requestTask(clientID: w, wait: 0))
        let reopened = try fixture.reopen()
        let tasks = try await reopened.handle(APIRequest(item: "task", action: "read")).items
        let active = tasks.filter { $0["status"] == "active" }
        #expect(active.map { $0["id"] } == [.int(next.taskID)], "\(tasks)")
        #expect(active.first?["attempts"] == .int(Int64(next.lease)))
        #expect(tasks.count { $0["status"] == "queued" } == 1)
        if next.taskID != lost.taskID { #expect(try await task(lost.taskID, on: reopened)["status"] == "queued") }
        #expect(await reopened.repairInvariants().isEmpty)
    }

    @Test func aJobThatWaitedForADeletedJobFailsInTheTransactionThatDeletesIt() async throws {
        let first = try await submit("1")
        let values: [String: JSONValue] = ["type": "command", "argv": ["true"], "frames": "1", "after": [.int(first)]]
        let waiting = try await farm.handle(APIRequest(item: "job", action: "create", values: values)).items[0]["id"]!.intValue!
        try await farm.injectStoreFault(.crash(afterCommits: 1))
        _ = try await farm.handle(APIRequest(item: "job", action: "delete", filters: ["id": .int(first)]))
        let reopened = try fixture.reopen()
        let jobs = try await reopened.handle(APIRequest(item: "job", action: "read")).items
        #expect(jobs.map { $0["id"] } == [.int(waiting)], "the delete held")
        #expect(jobs.first?["status"] == "failed", "\(jobs)")
        #expect(jobs.first?["reason"] == .string("job \(first), which it waits for, was deleted"))
    }

    @Test func theInvariantsAreCheckedAtStartUpToo() async throws {
        let w = try await worker("w")
        try await submit("1")
        _ = try #require(try await farm.requestTask(clientID: w, wait: 0))
        let reopened = try fixture.reopen()
        #expect(await reopened.repairInvariants().isEmpty, "a consistent farm needs no repair after a restart")
    }

    // MARK: 2. The server decides log offsets from what it stored

    @Test func aLogGapIsRefusedAnOverlapTrimmedAndOnlyStoredTextAcknowledged() async throws {
        let w = try await worker("w")
        try await submit("1")
        let a = try #require(try await farm.requestTask(clientID: w, wait: 0))
        var reply = try await farm.updateTask(clientID: w, a, .running, log: "one\n", logOffset: 0)
        #expect(reply.logOffset == 4)
        // Far ahead: a gap. Nothing stored, and the answer says where to continue.
        reply = try await farm.updateTask(clientID: w, a, .running, log: "far\n", logOffset: 1000)
        #expect(reply.accepted && reply.logOffset == 4)
        // The right offset after it is stored, not dropped.
        reply = try await farm.updateTask(clientID: w, a, .running, log: "two\n", logOffset: 4)
        #expect(reply.logOffset == 8)
        // A resend that overlaps is trimmed.
        reply = try await farm.updateTask(clientID: w, a, .running, log: "two\nthree\n", logOffset: 4)
        #expect(reply.logOffset == 14)
        // A final state with a gap does not count; the worker sends again from the stored end.
        reply = try await farm.updateTask(clientID: w, a, .completed, frames: [1], log: "end\n", logOffset: 99)
        #expect(reply.accepted && reply.logOffset == 14)
        #expect(try await task(a.taskID)["status"] == "active")
        reply = try await farm.updateTask(clientID: w, a, .completed, frames: [1], log: "end\n", logOffset: 14)
        #expect(reply.logOffset == 18)
        #expect(try await task(a.taskID)["status"] == "completed")
        let text = await log(a.taskID)
        #expect(text.hasPrefix("--- attempt 1 of task \(a.taskID) (frames 1) on client \(w) (w), "))
        #expect(text.hasSuffix(" ---\none\ntwo\nthree\nend\n"))
        #expect(!text.contains("far"))
    }

    @Test func logOffsetsSurviveARestartSoAResentChunkIsNotStoredTwice() async throws {
        let w = try await worker("w")
        try await submit("1")
        let a = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await farm.updateTask(clientID: w, a, .running, log: "before the crash\n", logOffset: 0)
        let restarted = try fixture.reopen()
        // The answer was lost in the crash: the worker sends the same chunk again, then more.
        let again = try await restarted.updateTask(
            .init(
                sender: .simulated(w, name: "w"), taskID: a.taskID, jobID: a.jobID, lease: a.lease, state: .running, framesDone: [],
                log: "before the crash\nafter\n", logOffset: 0))
        #expect(again.logOffset == 23)
        let text = await log(a.taskID, on: restarted)
        #expect(text.components(separatedBy: "before the crash").count == 2, "the chunk is in the log once: \(text)")
        #expect(text.hasSuffix("before the crash\nafter\n"))
    }

    @Test func theNextAttemptsLogSaysWhyTheLastOneEnded() async throws {
        let a = try await worker("a")
        let b = try await worker("b")
        try await submit("1")
        let first = try #require(try await farm.requestTask(clientID: a, wait: 0))
        _ = try await farm.updateTask(clientID: a, first, .running, log: "Fra:1 half way\n")
        clock.advance(11)
        _ = try await farm.heartbeat(clientID: b)
        await farm.sweepTimedOutWorkers()
        let second = try #require(try await farm.requestTask(clientID: b, wait: 0))
        _ = try await farm.updateTask(clientID: b, second, .running, log: "again\n")
        let text = await log(first.taskID)
        #expect(
            text.contains(
                "Fra:1 half way\n--- attempt 1 ended: attempt 1 was requeued: its worker a went offline (not heard from for 10 s) ---\n--- attempt 2 of task"
            ))
    }

    // MARK: 7. Partitions that heal at once

    @Test func aWorkerWhoseTaskWasRequeuedButNotReassignedKeepsItsWork() async throws {
        let w = try await worker("w")
        try await submit("1")
        let a = try #require(try await farm.requestTask(clientID: w, wait: 0))
        clock.advance(11)
        #expect(await farm.sweepTimedOutWorkers() == [w])
        #expect(try await task(a.taskID)["status"] == "queued")
        // The partition heals: its next report comes first, under the same lease.
        let progress = try await farm.updateTask(clientID: w, a, .running, log: "still rendering\n")
        #expect(progress.accepted && !progress.stop)
        #expect(try await client(w)["connection"] == "online")
        #expect(try await client(w)["activity"] == "busy")
        let done = try await farm.updateTask(clientID: w, a, .completed, frames: [1])
        #expect(done.accepted)
        #expect(try await task(a.taskID)["status"] == "completed")
        #expect(try await task(a.taskID)["attempts"] == 1)
    }

    @Test func aLateResultForATaskGivenToAnotherIsRefusedWithTheReason() async throws {
        let a = try await worker("a")
        let b = try await worker("b")
        try await submit("1")
        let first = try #require(try await farm.requestTask(clientID: a, wait: 0))
        clock.advance(11)
        _ = try await farm.heartbeat(clientID: b)
        await farm.sweepTimedOutWorkers()
        _ = try #require(try await farm.requestTask(clientID: b, wait: 0))
        let late = try await farm.updateTask(clientID: a, first, .completed, frames: [1])
        #expect(!late.accepted && late.stop)
        #expect(
            late.reason
                == "task \(first.taskID) was given to client \(b) (b) as attempt 2 after attempt 1 was requeued: its worker a went offline (not heard from for 10 s)"
        )
    }

    @Test func anyRequestBringsAnOfflineWorkerBackAndAWaitingOneGetsWorkAtOnce() async throws {
        let w = try await worker("w")
        clock.advance(11)
        #expect(await farm.sweepTimedOutWorkers() == [w])
        // Its first request after the heal is a long poll: it is online again and waits there.
        let farm = self.farm
        let waiting = Task { try await farm.requestTask(clientID: w, wait: 30) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await client(w)["connection"] == "online")
        try await submit("1")
        let assignment = try await waiting.value
        #expect(assignment != nil, "the queued task went to the worker that came back")
    }

    // MARK: 5. One client record, one worker process

    @Test func aSecondProcessWithAnOnlineWorkersNameIsRefusedWithWhoHasIt() async throws {
        let first = try await farm.register(.simulated("dup", key: "first-process-key-000"))
        var second = WorkerProtocol.Registration.simulated("dup", key: "second-process-key-00")
        second.hostname = "other-host"
        second.pid = 4242
        await #expect(throws: APIError.self) { try await farm.register(second) }
        do {
            _ = try await farm.register(second)
        } catch {
            #expect(error.code == .conflict && error.field == "name")
            #expect(error.message.contains("client \(first.clientID) on host sim-host"))
        }
        // Without a given name it gets a name of its own.
        second.nameGiven = false
        let renamed = try await farm.register(second)
        #expect(renamed.name == "dup-2" && renamed.clientID != first.clientID)
        // A restart of the first (same key) re-attaches to its record.
        #expect(try await farm.register(.simulated("dup", key: "first-process-key-000")).clientID == first.clientID)
    }

    @Test func anOfflineRecordIsTakenOverAndItsOldProcessRefused() async throws {
        let old = try await farm.register(.simulated("node", key: "old-process-key-00000"))
        clock.advance(11)
        await farm.sweepTimedOutWorkers()
        let new = try await farm.register(.simulated("node", key: "new-process-key-00000"))
        #expect(new.clientID == old.clientID)
        await #expect(throws: APIError.self) {
            _ = try await farm.heartbeat(.init(clientID: old.clientID, key: "old-process-key-00000"))
        }
        _ = try await farm.heartbeat(.init(clientID: new.clientID, key: "new-process-key-00000"))
    }

    // MARK: 4. A full disk

    @Test func aFullDatabaseRefusesNewJobsWith507ButCancelsAndDeletesStillWork() async throws {
        try await submit("1-10")
        try await farm.capDatabase(extraPages: 0)
        var refusal: APIError?
        do {
            try await submit("1-5000", chunk: 1)
        } catch let error as APIError {
            refusal = error
        }
        #expect(refusal?.code == .insufficientStorage)
        #expect(refusal?.httpStatus == 507)
        #expect(refusal?.message.contains("is full") == true)
        #expect(await farm.lowOnStorage)
        // Nothing was half-applied: one job, still ten tasks.
        #expect(try await farm.handle(APIRequest(item: "job", action: "read")).items.count == 1)
        // Cancel and delete still work, and free space.
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": 1], values: ["status": "canceled"]))
        _ = try await farm.handle(APIRequest(item: "job", action: "delete", filters: ["id": 1]))
        #expect(try await farm.handle(APIRequest(item: "job", action: "read")).items.isEmpty)
        // Space returns: the next check makes the reserve again and jobs are accepted.
        try await farm.uncapDatabase()
        await farm.checkStorage()
        #expect(await !farm.lowOnStorage)
        #expect(await farm.reserveHeld)
        try await submit("1")
    }

    @Test func aWorkerReportOnAFullDiskIsNotAcknowledgedAndSucceedsWhenSpaceReturns() async throws {
        let w = try await worker("w")
        try await submit("1")
        let a = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await farm.updateTask(clientID: w, a, .running, log: "before\n")
        try await farm.capDatabase(extraPages: 0)
        // Fill the database's free pages so even the task row update needs a new page... or not:
        // the log is refused while the farm is low on space, so the final report is not taken.
        do {
            try await submit("1-5000")
        } catch {}
        #expect(await farm.lowOnStorage)
        await #expect(throws: APIError.self) {
            _ = try await farm.updateTask(clientID: w, a, .completed, frames: [1], log: "the end\n", logOffset: 7)
        }
        #expect(try await task(a.taskID)["status"] == "active")
        try await farm.uncapDatabase()
        await farm.checkStorage()
        let reply = try await farm.updateTask(clientID: w, a, .completed, frames: [1], log: "the end\n", logOffset: 7)
        #expect(reply.accepted && reply.logOffset == 15)
        #expect(try await task(a.taskID)["status"] == "completed")
        #expect(await log(a.taskID).hasSuffix("before\nthe end\n"))
    }
}
