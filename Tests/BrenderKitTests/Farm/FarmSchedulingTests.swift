import BrenderTesting
import Foundation
import Testing

@testable import BrenderKit
@testable import FarmCore

/// The production rules on a real farm (a temporary database, a hand-moved clock).
@Suite struct FarmSchedulingTests {
    let fixture: FarmFixture
    var farm: Farm { fixture.farm }
    var clock: ManualClock { fixture.clock }

    init() throws {
        fixture = try FarmFixture()
    }

    private func worker(_ name: String, tags: [String]? = nil, platform: String = "linux-x86_64", capabilities: [String] = [])
        async throws -> Int64
    {
        var registration = WorkerProtocol.Registration.simulated(name, tags: tags)
        registration.platform = platform
        registration.capabilities = capabilities + ["commands"]
        registration.timeZone = "Europe/Amsterdam"
        return try await farm.register(registration).clientID
    }

    @discardableResult
    private func submit(_ frames: String = "1", _ extra: [String: JSONValue] = [:]) async throws -> Int64 {
        var values: [String: JSONValue] = ["type": "command", "argv": ["true"], "frames": .string(frames)]
        values.merge(extra) { $1 }
        return try await farm.handle(APIRequest(item: "job", action: "create", values: values)).items[0]["id"]!.intValue!
    }

    private func job(_ id: Int64) async throws -> JSONValue {
        try await farm.handle(APIRequest(item: "job", action: "read", filters: ["id": .int(id)])).items[0]
    }

    private func update(_ id: Int64, _ values: [String: JSONValue]) async throws -> APIResponse {
        try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: values))
    }

    private func finish(_ task: WorkerProtocol.Assignment, on client: Int64, _ state: WorkerProtocol.TaskState = .completed) async throws {
        _ = try await farm.updateTask(
            clientID: client, task, state, frames: state == .completed ? Array(task.chunk.frames) : [],
            error: state == .failed ? "boom" : nil)
    }

    // MARK: Dependencies

    @Test func aJobAfterAnotherWaitsAndStartsTheMomentItCompletes() async throws {
        let w = try await worker("w")
        let idle = try await worker("idle")
        let first = try await submit()
        let second = try await submit("1", ["after": [.int(first)]])
        #expect(try await job(second)["status"] == "waiting")
        #expect(try await job(second)["reason"] == .string("waits for job \(first)"))
        let task = try #require(try await farm.requestTask(clientID: w, wait: 0))
        #expect(task.jobID == first)
        #expect(try await farm.requestTask(clientID: idle, wait: 0) == nil, "nothing else may run meanwhile")
        try await finish(task, on: w)
        #expect(try await job(second)["status"] == "queued")
        let task2 = try #require(try await farm.requestTask(clientID: w, wait: 0))
        #expect(task2.jobID == second)
        #expect(try await job(second)["status"] == "active")
    }

    @Test func aJobNotStartedYetWaitsAgainWhenTheJobItWaitsForIsRequeued() async throws {
        let w = try await worker("w")
        let first = try await submit()
        let second = try await submit("1", ["after": [.int(first)]])
        try await finish(try #require(try await farm.requestTask(clientID: w, wait: 0)), on: w)
        #expect(try await job(second)["status"] == "queued")
        // The first job is rendered again: the second must not start before it completes again.
        _ = try await farm.handle(
            APIRequest(item: "task", action: "update", filters: ["job": .int(first), "status": "completed"], values: ["status": "queued"]))
        #expect(try await job(second)["status"] == "waiting")
        let again = try #require(try await farm.requestTask(clientID: w, wait: 0))
        #expect(again.jobID == first)
        #expect(try await farm.requestTask(clientID: try await worker("idle"), wait: 0) == nil)
        try await finish(again, on: w)
        #expect(try await farm.requestTask(clientID: w, wait: 0)?.jobID == second)
    }

    @Test func aJobAfterAFailedOneNeverStartsAndSaysWhy() async throws {
        let w = try await worker("w")
        let first = try await submit("1", ["max_attempts": 1])
        let second = try await submit("1-3", ["after": [.int(first)]])
        let third = try await submit("1", ["after": [.int(second)]])
        try await finish(try #require(try await farm.requestTask(clientID: w, wait: 0)), on: w, .failed)
        #expect(try await job(first)["status"] == "failed")
        let broken = try await job(second)
        #expect(broken["status"] == "failed")
        #expect(broken["reason"] == .string("job \(first), which it waits for, failed"))
        #expect(broken["tasks_canceled"] == 3 && broken["tasks_queued"] == 0)
        #expect(try await job(third)["reason"] == .string("job \(second), which it waits for, failed"))
        #expect(try await farm.requestTask(clientID: w, wait: 0) == nil)
    }

    @Test func cyclesUnknownJobsAndFailedDependenciesAreRefused() async throws {
        let a = try await submit()
        let b = try await submit("1", ["after": [.int(a)]])
        await #expect(throws: APIError.self) { try await update(a, ["after": [.int(b)]]) }
        do {
            _ = try await update(a, ["after": [.int(b)]])
        } catch let error as APIError {
            #expect(error.message == "job \(a) would wait for itself: job \(a) waits for job \(b) waits for job \(a)")
            #expect(error.field == "values.after")
        }
        await #expect(throws: APIError.self) { try await update(a, ["after": [.int(a)]]) }
        await #expect(throws: APIError.self) { try await submit("1", ["after": [999]]) }
        _ = try await update(a, ["status": "canceled"])
        do {
            _ = try await submit("1", ["after": [.int(a)]])
            Issue.record("a job after a canceled one was accepted")
        } catch let error as APIError {
            #expect(error.httpStatus == 409 && error.message.contains("job \(a) was canceled"))
        }
    }

    @Test func cancelingOrDeletingAJobFailsTheJobsWaitingForIt() async throws {
        let a = try await submit()
        let b = try await submit("1", ["after": [.int(a)]])
        _ = try await update(a, ["status": "canceled"])
        #expect(try await job(b)["status"] == "failed")
        let c = try await submit()
        let d = try await submit("1", ["after": [.int(c)]])
        _ = try await farm.handle(APIRequest(item: "job", action: "delete", filters: ["id": .int(c)]))
        let orphan = try await job(d)
        #expect(orphan["status"] == "failed")
        #expect(orphan["reason"] == .string("job \(c), which it waits for, was deleted"))
    }

    // MARK: Failure policy and blocklists

    @Test func failFastCancelsTheRestInsteadOfLeavingThemQueued() async throws {
        let w1 = try await worker("w1")
        let w2 = try await worker("w2")
        let id = try await submit("1-5", ["max_attempts": 1, "fail_fast": true])
        let t1 = try #require(try await farm.requestTask(clientID: w1, wait: 0))
        let t2 = try #require(try await farm.requestTask(clientID: w2, wait: 0))
        try await finish(t1, on: w1, .failed)
        let failed = try await job(id)
        #expect(failed["status"] == "failed" && failed["tasks_queued"] == 0 && failed["tasks_active"] == 0)
        #expect(failed["tasks_canceled"] == 4)
        #expect(failed["reason"] == "frames 1 failed (--fail-fast)")
        // The running task was stopped: its worker hears so at its next update.
        let reply = try await farm.updateTask(clientID: w2, t2, .running)
        #expect(!reply.accepted && reply.reason?.contains("fail-fast") == true)
    }

    @Test func aClientThatKeepsFailingIsBlocklistedAndTheOthersGoOn() async throws {
        let bad = try await worker("bad")
        let good = try await worker("good")
        let id = try await submit("1-6", ["blocklist_threshold": 2, "max_attempts": 5])
        for _ in 0..<2 {
            try await finish(try #require(try await farm.requestTask(clientID: bad, wait: 0)), on: bad, .failed)
        }
        #expect(try await job(id)["blocklist"] == [.int(bad)])
        #expect(try await farm.requestTask(clientID: bad, wait: 0) == nil, "a blocklisted client gets none of the job's tasks")
        #expect(try await farm.requestTask(clientID: good, wait: 0)?.jobID == id)
        _ = try await update(id, ["blocklist": []])
        #expect(try await job(id)["blocklist"] == [])
        #expect(try await farm.requestTask(clientID: bad, wait: 0)?.jobID == id)
    }

    @Test func whenEveryClientIsBlocklistedTheJobFailsAtOnceSayingSo() async throws {
        let only = try await worker("only")
        let id = try await submit("1-6", ["blocklist_threshold": 2, "max_attempts": 5])
        for _ in 0..<2 {
            try await finish(try #require(try await farm.requestTask(clientID: only, wait: 0)), on: only, .failed)
        }
        let failed = try await job(id)
        #expect(failed["status"] == "failed")
        #expect(failed["reason"]?.stringValue?.hasPrefix("no client can run it: every client that could run it failed 2 of its tasks") == true)
        #expect(failed["tasks_queued"] == 0)
        // Requeued without clearing the blocklist: it fails again at once; cleared, it runs.
        _ = try await farm.handle(
            APIRequest(item: "task", action: "update", filters: ["job": .int(id), "status": ["failed", "canceled"]], values: ["status": "queued"]))
        #expect(try await job(id)["status"] == "failed")
        _ = try await update(id, ["blocklist": []])
        _ = try await farm.handle(
            APIRequest(item: "task", action: "update", filters: ["job": .int(id), "status": ["failed", "canceled"]], values: ["status": "queued"]))
        #expect(try await job(id)["status"] == "active")
        #expect(try await farm.requestTask(clientID: only, wait: 0)?.jobID == id)
    }

    @Test func aJobNoClientHasTheTagsForIsRefusedAtSubmission() async throws {
        _ = try await worker("cpu-node", tags: ["cpu"])
        do {
            try await submit("1", ["tags": ["gpu"]])
            Issue.record("accepted")
        } catch let error as APIError {
            #expect(error.message.hasPrefix("no client can run this job: no client has the tags gpu"))
        }
    }

    @Test func waitingJobsAndBlocklistsSurviveARestart() async throws {
        let bad = try await worker("bad")
        _ = try await worker("good")
        let first = try await submit("1-4", ["blocklist_threshold": 1])
        let second = try await submit("1", ["after": [.int(first)]])
        try await finish(try #require(try await farm.requestTask(clientID: bad, wait: 0)), on: bad, .failed)
        let reopened = try fixture.reopen()
        let read = { (id: Int64) async throws -> JSONValue in
            try await reopened.handle(APIRequest(item: "job", action: "read", filters: ["id": .int(id)])).items[0]
        }
        #expect(try await read(first)["blocklist"] == [.int(bad)])
        #expect(try await read(second)["status"] == "waiting")
        #expect(try await reopened.requestTask(clientID: bad, wait: 0) == nil, "still blocklisted, and the second job still waits")
    }

    // MARK: Time limits and slow tasks

    @Test func aTaskPastItsTimeLimitIsStoppedAsAFailedAttempt() async throws {
        let w = try await worker("w")
        let id = try await submit("1", ["task_timeout": 60, "max_attempts": 2])
        let task = try #require(try await farm.requestTask(clientID: w, wait: 0))
        clock.advance(59)
        #expect(await farm.stopOverdueTasks().isEmpty)
        clock.advance(2)
        #expect(await farm.stopOverdueTasks() == [task.taskID])
        let read = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["id": .int(task.taskID)])).items[0]
        #expect(read["status"] == "queued" && read["failures"] == 1)
        #expect(read["error"]?.stringValue?.contains("--task-timeout 60") == true)
        let reply = try await farm.updateTask(clientID: w, task, .running)
        #expect(!reply.accepted)
        #expect(try await job(id)["status"] == "active")
    }

    @Test func aTaskFarSlowerThanItsJobsMedianIsFlaggedNotKilled() async throws {
        let w = try await worker("w")
        let id = try await submit("1-7")
        for _ in 0..<5 {
            let task = try #require(try await farm.requestTask(clientID: w, wait: 0))
            clock.advance(10)
            try await finish(task, on: w)
        }
        let slow = try #require(try await farm.requestTask(clientID: w, wait: 0))
        clock.advance(49)
        #expect(try await job(id)["slow_tasks"] == [])
        clock.advance(2)
        #expect(try await job(id)["slow_tasks"] == [.int(slow.taskID)])
        let listed = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(id), "slow": true])).items
        #expect(listed.map { $0["id"] } == [.int(slow.taskID)])
        #expect(await farm.stopOverdueTasks().isEmpty)
    }

    // MARK: Runtime changes

    @Test func aNewPriorityTakesEffectAtTheNextDispatch() async throws {
        let w = try await worker("w")
        let low = try await submit("1-2", ["priority": 10])
        let high = try await submit("1-2", ["priority": 20])
        _ = try await update(low, ["priority": 90, "name": "urgent", "max_attempts": 7])
        #expect(try await farm.requestTask(clientID: w, wait: 0)?.jobID == low)
        let changed = try await job(low)
        #expect(changed["name"] == "urgent" && changed["max_attempts"] == 7)
        _ = high
    }

    @Test func disablingABusyClientLetsItsTaskFinishUnlessNow() async throws {
        let w = try await worker("w")
        let v = try await worker("v")
        try await submit("1-4")
        let task = try #require(try await farm.requestTask(clientID: w, wait: 0))
        let gentle = try await farm.handle(
            APIRequest(item: "client", action: "update", filters: ["id": .int(w)], values: ["status": "disabled"]))
        #expect(gentle.items[0]["note"]?.stringValue?.contains("finishes first") == true)
        #expect(try await farm.updateTask(clientID: w, task, .running).accepted)
        let other = try #require(try await farm.requestTask(clientID: v, wait: 0))
        _ = try await farm.handle(APIRequest(item: "client", action: "update", filters: ["id": .int(v)], values: ["status": "disabled"], now: true))
        #expect(try await farm.updateTask(clientID: v, other, .running).accepted == false)
        let requeued = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["id": .int(other.taskID)])).items[0]
        #expect(requeued["status"] == "queued")
    }

    // MARK: Working hours and path maps

    @Test func aClientTakesNoTasksInItsWorkingHours() async throws {
        // The fixture's clock starts at 2027-01-15 08:00 UTC, a Friday: 09:00 in Amsterdam.
        let w = try await worker("ws-03")
        _ = try await farm.handle(
            APIRequest(item: "client", action: "update", filters: ["id": .int(w)], values: ["schedule": "mo-fr 09:00-19:00"]))
        try await submit()
        #expect(try await farm.requestTask(clientID: w, wait: 0) == nil)
        clock.advance(10 * 3600)  // 19:00 in Amsterdam
        #expect(try await farm.requestTask(clientID: w, wait: 0) != nil)
        await #expect(throws: APIError.self) {
            try await farm.handle(APIRequest(item: "client", action: "update", filters: ["id": .int(w)], values: ["schedule": "weekdays 9-5"]))
        }
    }

    @Test func pathsAreRewrittenForTheClientsPlatform() async throws {
        let windows = try await worker("win", platform: "windows-x86_64")
        _ = try await farm.handle(
            APIRequest(item: "pathmap", action: "create", values: ["name": "projects", "linux": "/mnt/projects", "windows": "P:\\"]))
        _ = try await farm.handle(
            APIRequest(
                item: "job", action: "create",
                values: ["file": "/mnt/projects/shot/a.blend", "frames": "1", "output": "/mnt/projects/shot/out/f_####"]))
        let task = try #require(try await farm.requestTask(clientID: windows, wait: 0))
        #expect(task.file == "P:\\shot\\a.blend")
        #expect(task.output == "P:\\shot\\out\\f_####")
        await #expect(throws: APIError.self) {
            try await farm.handle(APIRequest(item: "pathmap", action: "create", values: ["name": "bad", "linux": "relative", "windows": "Q:\\"]))
        }
        let reopened = try fixture.reopen()
        #expect(try await reopened.handle(APIRequest(item: "pathmap", action: "read")).items.first?["windows"] == "P:\\")
    }

    // MARK: Video

    @Test func theVideoTaskWaitsForEveryFrameAndAClientWithFFmpeg() async throws {
        let plain = try await worker("plain")
        let encoder = try await worker("encoder", capabilities: ["ffmpeg"])
        let id = try await farm.handle(
            APIRequest(item: "job", action: "create", values: ["file": "/p/a.blend", "frames": "1-2", "video": ["path": "/p/a.mp4"]])
        ).items[0]["id"]!.intValue!
        let created = try await job(id)
        #expect(created["tasks_total"] == 3 && created["frames_total"] == 2)
        let first = try #require(try await farm.requestTask(clientID: plain, wait: 0))
        let second = try #require(try await farm.requestTask(clientID: encoder, wait: 0))
        #expect(second.role == .render)
        try await finish(first, on: plain)
        #expect(try await farm.requestTask(clientID: plain, wait: 0) == nil, "the video waits while a frame renders, and needs ffmpeg")
        try await finish(second, on: encoder)
        #expect(try await farm.requestTask(clientID: plain, wait: 0) == nil, "plain has no ffmpeg")
        let video = try #require(try await farm.requestTask(clientID: encoder, wait: 0))
        #expect(video.role == .video && video.video?.path == "/p/a.mp4" && video.jobFrames == "1-2")
        try await finish(video, on: encoder)
        #expect(try await job(id)["status"] == "completed")
    }
}
