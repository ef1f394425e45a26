import BrenderTesting
import Foundation
import Logging
import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct FarmJobTests {
    let fixture: FarmFixture
    var farm: Farm { fixture.farm }
    var clock: ManualClock { fixture.clock }

    init() throws {
        fixture = try FarmFixture()
    }

    private func reopen() throws -> Farm {
        try fixture.reopen()
    }

    private func worker(_ name: String, tags: [String]? = nil) async throws -> Int64 {
        try await farm.register(.simulated(name, tags: tags)).clientID
    }

    @discardableResult
    private func submit(_ frames: String, chunk: Int = 1, priority: Int = 50, tags: [String] = [], maxAttempts: Int = 3) async throws -> Int64 {
        var values: [String: JSONValue] = [
            "type": "command", "argv": ["true"], "frames": .string(frames), "chunk": .int(Int64(chunk)),
            "priority": .int(Int64(priority)), "max_attempts": .int(Int64(maxAttempts)),
        ]
        if !tags.isEmpty { values["tags"] = .array(tags.map(JSONValue.string)) }
        let response = try await farm.handle(APIRequest(item: "job", action: "create", values: values))
        return response.items[0]["id"]!.intValue!
    }

    private func job(_ id: Int64, on farm: Farm? = nil) async throws -> JSONValue {
        try await (farm ?? self.farm).handle(APIRequest(item: "job", action: "read", filters: ["id": .int(id)])).items[0]
    }

    private func report(_ assignment: WorkerProtocol.Assignment, client: Int64, _ state: WorkerProtocol.TaskState, error: String? = nil)
        async throws -> WorkerProtocol.TaskUpdateReply
    {
        let frames = state == .completed ? Array(assignment.chunk.frames) : []
        return try await farm.updateTask(
            .init(
                sender: await farm.sender(client), taskID: assignment.taskID, jobID: assignment.jobID, lease: assignment.lease, state: state,
                framesDone: frames, log: "", logOffset: 0, error: error))
    }

    @Test func submitCreatesOneTaskPerChunkInOneGo() async throws {
        let id = try await submit("1-12", chunk: 5)
        let tasks = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(id)])).items
        #expect(tasks.map { $0["frames"] } == ["1-5", "6-10", "11-12"])
        #expect(try await job(id)["frames_total"] == 12)
        #expect(try await job(id)["status"] == "queued")
    }

    @Test func badSubmissionsNameTheField() async throws {
        func refusal(_ values: [String: JSONValue]) async -> APIError? {
            do {
                _ = try await farm.handle(APIRequest(item: "job", action: "create", values: values))
                return nil
            } catch {
                return error
            }
        }
        #expect(await refusal(["file": "/a.blend"])?.field == "values.frames")
        #expect(await refusal(["file": "/a.blend", "frames": "9-1"])?.message.contains("reversed range '9-1'") == true)
        #expect(await refusal(["frames": "1-3"])?.field == "values.file")
        #expect(await refusal(["file": "relative.blend", "frames": "1"])?.field == "values.file")
        #expect(await refusal(["file": "/a.blend", "frames": "1", "priority": 101])?.field == "values.priority")
        #expect(await refusal(["file": "/a.blend", "frames": "1", "colour": "red"])?.field == "values.colour")
        #expect(await refusal(["type": "command", "frames": "1"])?.field == "values.argv")
        #expect(await refusal(["file": "/a.blend", "frames": "1", "format": "GIF"])?.field == "values.format")
    }

    @Test func tasksGoByPriorityThenAgeThenFrameOrder() async throws {
        let w = try await worker("w")
        let low = try await submit("1-2", priority: 10)
        clock.advance(1)
        let oldHigh = try await submit("1-2", priority: 90)
        clock.advance(1)
        let newHigh = try await submit("1-2", priority: 90)
        var order: [(Int64, Int)] = []
        for _ in 0..<6 {
            let task = try #require(try await farm.requestTask(clientID: w, wait: 0))
            order.append((task.jobID, task.frameStart))
            _ = try await report(task, client: w, .completed)
        }
        #expect(order.map(\.0) == [oldHigh, oldHigh, newHigh, newHigh, low, low])
        #expect(order.map(\.1) == [1, 2, 1, 2, 1, 2])
    }

    @Test func onlyEnabledOnlineIdleClientsWithTheTagsGetWork() async throws {
        let plain = try await worker("plain")
        let gpu = try await worker("gpu", tags: ["gpu"])
        try await submit("1-3", tags: ["gpu"])
        #expect(try await farm.requestTask(clientID: plain, wait: 0) == nil)
        _ = try await farm.handle(APIRequest(item: "client", action: "update", filters: ["name": "gpu"], values: ["status": "disabled"]))
        #expect(try await farm.requestTask(clientID: gpu, wait: 0) == nil)
        _ = try await farm.handle(APIRequest(item: "client", action: "update", filters: ["name": "gpu"], values: ["status": "enabled"]))
        let first = try #require(try await farm.requestTask(clientID: gpu, wait: 0))
        #expect(first.frameStart == 1)
        let client = try await farm.handle(APIRequest(item: "client", action: "read", filters: ["name": "gpu"])).items[0]
        #expect(client["activity"] == "busy")
        #expect(client["task"] == .int(first.taskID))
    }

    @Test func finishingATaskReturnsTheNextInTheSameRoundTrip() async throws {
        let w = try await worker("w")
        let id = try await submit("1-2")
        let first = try #require(try await farm.requestTask(clientID: w, wait: 0))
        let reply = try await farm.updateTask(
            .init(
                sender: await farm.sender(w), taskID: first.taskID, jobID: id, lease: first.lease, state: .completed, framesDone: [1], log: "",
                logOffset: 0,
                nextWait: 0))
        #expect(reply.accepted)
        #expect(reply.next?.frameStart == 2)
    }

    @Test func jobCompletesWhenEveryTaskHasAndCountsVerifiedFramesOnly() async throws {
        let w = try await worker("w")
        let id = try await submit("1-4", chunk: 2)
        let first = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await farm.updateTask(
            .init(
                sender: await farm.sender(w), taskID: first.taskID, jobID: id, lease: first.lease, state: .running, framesDone: [1], log: "",
                logOffset: 0))
        #expect(try await job(id)["frames_done"] == 1)
        #expect(try await job(id)["status"] == "active")
        _ = try await report(first, client: w, .completed)
        let second = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await report(second, client: w, .completed)
        let done = try await job(id)
        #expect(done["status"] == "completed")
        #expect(done["frames_done"] == 4)
        #expect(done["finished_at"] != .null)
    }

    @Test func completionWithMissingFramesIsAFailure() async throws {
        let w = try await worker("w")
        let id = try await submit("1-2", chunk: 2, maxAttempts: 1)
        let task = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await farm.updateTask(
            .init(
                sender: await farm.sender(w), taskID: task.taskID, jobID: id, lease: task.lease, state: .completed, framesDone: [1], log: "",
                logOffset: 0))
        #expect(try await job(id)["status"] == "failed")
    }

    @Test func aFailedAttemptIsRetriedOnAnotherWorkerThenFailsForGood() async throws {
        let a = try await worker("a")
        let b = try await worker("b")
        let id = try await submit("1", maxAttempts: 2)
        let first = try #require(try await farm.requestTask(clientID: a, wait: 0))
        _ = try await report(first, client: a, .failed, error: "Blender reported an error: boom")
        // a failed it, and b is free: a does not get it back.
        #expect(try await farm.requestTask(clientID: a, wait: 0) == nil)
        let second = try #require(try await farm.requestTask(clientID: b, wait: 0))
        #expect(second.taskID == first.taskID)
        #expect(second.lease == first.lease + 1)
        _ = try await report(second, client: b, .failed, error: "again")
        let failed = try await job(id)
        #expect(failed["status"] == "failed")
        let task = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(id)])).items[0]
        #expect(task["status"] == "failed")
        #expect(task["error"] == "again")
        #expect(task["failures"] == 2)
    }

    @Test func aLoneWorkerRetriesItsOwnFailure() async throws {
        let a = try await worker("a")
        try await submit("1", maxAttempts: 2)
        let first = try #require(try await farm.requestTask(clientID: a, wait: 0))
        _ = try await report(first, client: a, .failed, error: "flaky")
        #expect(try await farm.requestTask(clientID: a, wait: 0)?.taskID == first.taskID)
    }

    @Test func aStaleLeaseIsToldToStopAndNeverRecorded() async throws {
        let a = try await worker("a")
        let b = try await worker("b")
        let id = try await submit("1")
        let first = try #require(try await farm.requestTask(clientID: a, wait: 0))
        // a goes silent; its task is requeued and given to b.
        clock.advance(11)
        _ = try await farm.heartbeat(clientID: b)
        await farm.sweepTimedOutWorkers()
        let second = try #require(try await farm.requestTask(clientID: b, wait: 0))
        #expect(second.taskID == first.taskID)
        // a comes back and reports the old lease: refused, told to stop.
        _ = try await farm.heartbeat(clientID: a)
        let stale = try await report(first, client: a, .completed)
        #expect(!stale.accepted && stale.stop)
        #expect(try await job(id)["status"] == "active")
        let fresh = try await report(second, client: b, .completed)
        #expect(fresh.accepted)
        #expect(try await job(id)["status"] == "completed")
    }

    @Test func aTaskLostOnTheWayGoesBackWhenTheWorkerAsksAgain() async throws {
        let a = try await worker("a")
        try await submit("1")
        let lost = try #require(try await farm.requestTask(clientID: a, wait: 0))
        // The answer never reached the worker, which asks again: it gets the same task, new lease.
        let again = try #require(try await farm.requestTask(clientID: a, wait: 0))
        #expect(again.taskID == lost.taskID)
        #expect(again.lease == lost.lease + 1)
    }

    @Test func cancelStopsRunningTasksAndDropsQueuedOnes() async throws {
        let w = try await worker("w")
        let id = try await submit("1-3")
        let running = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "canceled"]))
        let canceled = try await job(id)
        #expect(canceled["status"] == "canceled")
        #expect(canceled["tasks_canceled"] == 3)
        let update = try await farm.updateTask(
            .init(
                sender: await farm.sender(w), taskID: running.taskID, jobID: id, lease: running.lease, state: .running, framesDone: [], log: "",
                logOffset: 0))
        #expect(update.stop)
        #expect(try await farm.requestTask(clientID: w, wait: 0) == nil)
    }

    @Test func pauseStopsNewTasksResumeRestartsThem() async throws {
        let w = try await worker("w")
        let id = try await submit("1-3")
        let running = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "paused"]))
        let reply = try await report(running, client: w, .completed)
        #expect(reply.accepted)  // running tasks finish
        #expect(try await farm.requestTask(clientID: w, wait: 0) == nil)
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "queued"]))
        #expect(try await job(id)["status"] == "active")
        #expect(try await farm.requestTask(clientID: w, wait: 0)?.frameStart == 2)
    }

    @Test func forbiddenTransitionsAreConflictsThatNameTheStatus() async throws {
        let id = try await submit("1")
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "canceled"]))
        do {
            _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "paused"]))
            Issue.record("expected a conflict")
        } catch {
            #expect(error.httpStatus == 409)
            #expect(error.message == "job \(id) is canceled; it cannot be paused")
        }
        do {
            _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "completed"]))
            Issue.record("expected a refusal")
        } catch {
            #expect(error.field == "values.status")
        }
    }

    @Test func resumingAFinishedJobIsRefusedWithAdvice() async throws {
        let w = try await worker("w")
        let id = try await submit("1")
        let task = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await report(task, client: w, .completed)
        do {
            _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "queued"]))
            Issue.record("expected a conflict")
        } catch {
            #expect(error.message == "job \(id) is completed; it cannot be resumed; requeue its tasks to run it again")
        }
        #expect(try await job(id)["status"] == "completed")
    }

    @Test func aFailedFrameLetsTheOthersRenderAndRequeueRerunsOnlyIt() async throws {
        let w = try await worker("w")
        let id = try await submit("1-2", maxAttempts: 1)
        let first = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await report(first, client: w, .failed, error: "boom")
        #expect(try await job(id)["status"] == "active", "one bad frame does not stop the others")
        let second = try #require(try await farm.requestTask(clientID: w, wait: 0))
        _ = try await report(second, client: w, .completed)
        let failed = try await job(id)
        #expect(failed["status"] == "failed")
        #expect(failed["failed_frames"] == "1")
        #expect(failed["reason"] == "frames 1 failed")
        let requeued = try await farm.handle(
            APIRequest(item: "task", action: "update", filters: ["job": .int(id), "status": ["failed", "canceled"]], values: ["status": "queued"]))
        #expect(requeued.count == 1)
        #expect(try await job(id)["status"] == "active")
        #expect(try await farm.requestTask(clientID: w, wait: 0)?.taskID == first.taskID)
    }

    @Test func aRunningJobCannotBeDeleted() async throws {
        let w = try await worker("w")
        let id = try await submit("1-2")
        _ = try await farm.requestTask(clientID: w, wait: 0)
        await #expect(throws: APIError.self) {
            try await farm.handle(APIRequest(item: "job", action: "delete", filters: ["id": .int(id)]))
        }
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "canceled"]))
        #expect(try await farm.handle(APIRequest(item: "job", action: "delete", filters: ["id": .int(id)])).count == 1)
        #expect(try await farm.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(id)])).items.isEmpty)
    }

    @Test func aWaitingWorkerGetsAJobTheMomentItIsSubmitted() async throws {
        let w = try await worker("w")
        let farm = self.farm
        let waiting = Task { try await farm.requestTask(clientID: w, wait: 20) }
        try await Task.sleep(for: .milliseconds(50))
        let id = try await submit("5")
        let assignment = try await waiting.value
        #expect(assignment?.jobID == id)
        #expect(assignment?.frameStart == 5)
    }

    @Test func waitingWorkersEachGetADifferentTaskFromOneSubmit() async throws {
        let farm = self.farm
        var waiting: [Task<WorkerProtocol.Assignment?, any Error>] = []
        for index in 0..<4 {
            let id = try await worker("w\(index)")
            waiting.append(Task { try await farm.requestTask(clientID: id, wait: 20) })
        }
        try await Task.sleep(for: .milliseconds(100))
        let job = try await submit("1-3")
        var frames: [Int] = []
        for task in waiting.prefix(3) { frames.append(try #require(try await task.value).frameStart) }
        #expect(frames == [1, 2, 3], "first come, first served, in frame order")
        await farm.beginShutdown()
        #expect(try await waiting[3].value == nil, "no fourth task")
        #expect(try await self.job(job)["tasks_active"] == 3)
    }

    @Test func busyIsDerivedFromRunningTasksAfterARestart() async throws {
        let w = try await worker("w")
        let idle = try await worker("idle")
        _ = try await submit("1")
        _ = try await farm.requestTask(clientID: w, wait: 0)
        let reopened = try reopen()
        let clients = try await reopened.handle(APIRequest(item: "client", action: "read")).items
        #expect(clients.first { $0["id"] == .int(w) }?["activity"] == "busy")
        #expect(clients.first { $0["id"] == .int(idle) }?["activity"] == "idle")
    }

    @Test func shutdownEndsLongPollsWithNoTask() async throws {
        let w = try await worker("w")
        let farm = self.farm
        let waiting = Task { try await farm.requestTask(clientID: w, wait: 20) }
        try await Task.sleep(for: .milliseconds(50))
        await farm.beginShutdown()
        #expect(try await waiting.value == nil)
    }

    @Test func aHundredThousandFrameJobIsStoredWholeAndReloads() async throws {
        let id = try await submit("1-100000")
        let reopened = try reopen()
        let reloaded = try await job(id, on: reopened)
        #expect(reloaded["tasks_total"] == 100_000)
        #expect(reloaded["frames_total"] == 100_000)
        let last = try await reopened.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(id)], limit: 1, offset: 99_999))
        #expect(last.items[0]["frames"] == "100000")
    }

    @Test func activeTasksAndBusyClientsSurviveARestart() async throws {
        let w = try await worker("w")
        let id = try await submit("1-2")
        let running = try #require(try await farm.requestTask(clientID: w, wait: 0))
        let reopened = try reopen()
        // The worker's report after the restart is accepted: same task, same lease.
        let reply = try await reopened.updateTask(
            .init(
                sender: await farm.sender(w), taskID: running.taskID, jobID: id, lease: running.lease, state: .completed, framesDone: [1], log: "",
                logOffset: 0))
        #expect(reply.accepted)
        #expect(try await job(id, on: reopened)["tasks_completed"] == 1)
    }

    @Test func logChunksAreStoredOnceEvenWhenResent() async throws {
        let w = try await worker("w")
        let id = try await submit("1")
        let task = try #require(try await farm.requestTask(clientID: w, wait: 0))
        func send(_ text: String, offset: Int) async throws {
            _ = try await farm.updateTask(
                .init(
                    sender: await farm.sender(w), taskID: task.taskID, jobID: id, lease: task.lease, state: .running, framesDone: [], log: text,
                    logOffset: offset))
        }
        try await send("one\n", offset: 0)
        try await send("one\n", offset: 0)  // the answer was lost; the worker resends
        try await send("one\ntwo\n", offset: 0)  // resent with more
        try await send("three\n", offset: 8)
        let log = String(decoding: try #require(await farm.taskLog(taskID: task.taskID, offset: 0)).data, as: UTF8.self)
        #expect(log.hasSuffix("---\none\ntwo\nthree\n"))
        #expect(log.hasPrefix("--- attempt 1 of task \(task.taskID)"))
    }
}
