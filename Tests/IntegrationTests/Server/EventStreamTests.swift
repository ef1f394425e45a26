import BrenderKit
import BrenderTesting
import Foundation
import NIOHTTP1
import Synchronization
import Testing

/// The event stream of a real server: who may read it, resuming after a reconnect, and
/// `brender job watch` following a job to its end.
@Suite struct EventStreamTests {
    /// Events read from a stream, shared with the test.
    final class Collected: Sendable {
        private let events = Mutex<[ServerSentEvent]>([])
        func add(_ event: ServerSentEvent) { events.withLock { $0.append(event) } }
        var all: [ServerSentEvent] { events.withLock { $0 } }
    }

    @Test func theStreamNeedsATokenAndAReadOnlyTokenMayFollowIt() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let made = try farm.run(["server", "token", "create", "wall", "--role", "read-only", "--data", farm.dataDirectory.path])
        let answer = try await HTTP1Connection.with(port: farm.port, token: "wrong") { connection in
            try await connection.send(method: .GET, path: "/events", body: nil)
        }
        #expect(answer.status == 401)
        let reader = try BrenderClient(server: farm.serverURL, token: made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let collected = Collected()
        try await reader.followEvents(opened: { _ = try await farm.submit(["file": "/tmp/a.blend", "frames": "1-2"]) }) { event in
            collected.add(event)
            return event.event != "job"
        }
        let job = try #require(collected.all.last)
        #expect(job.event == "job" && job.id != nil)
        #expect(try JSONValue.parse(Data(job.data.utf8))["status"] == "queued")
        let refused = try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
            try await connection.send(method: .GET, path: "/events?job=abc", body: nil)
        }
        #expect(refused.status == 400)
    }

    @Test func aReaderThatReconnectsGetsEveryEventItMissedOnceInOrder() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let client = try farm.client()
        let first = Collected()
        var firstJob: Int64 = 0
        try await client.followEvents(opened: { firstJob = try await farm.submit(["file": "/tmp/a.blend", "frames": "1"]) }) { event in
            first.add(event)
            return event.event != "job"
        }
        let lastSeen = try #require(first.all.last?.id)
        // Changes while nobody reads: three new jobs, one paused, one deleted.
        var missed: [Int64] = []
        for index in 0..<3 { missed.append(try await farm.submit(["file": .string("/tmp/\(index).blend"), "frames": "1-3"])) }
        _ = try await farm.api(APIRequest(item: "job", action: "update", filters: ["id": .int(missed[0])], values: ["status": "paused"]))
        _ = try await farm.api(APIRequest(item: "job", action: "delete", filters: ["id": .int(firstJob)], force: true))

        let resumed = Collected()
        try await client.followEvents(after: lastSeen) { event in
            resumed.add(event)
            return event.event != "job_deleted"
        }
        let events = resumed.all
        let ids = events.compactMap { $0.id.flatMap(Int64.init) }
        #expect(ids.count == events.count && ids == ids.sorted() && Set(ids).count == ids.count, "in order, each once")
        #expect(ids.first.map { $0 > Int64(lastSeen)! } == true, "nothing seen before")
        #expect(!events.contains { $0.event == "reset" })
        let jobs = events.filter { $0.event == "job" }.compactMap { try? JSONValue.parse(Data($0.data.utf8)) }
        #expect(jobs.compactMap { $0["job"]?.intValue } == missed + [missed[0]])
        #expect(jobs.last?["status"] == "paused")
        #expect(events.last?.event == "job_deleted")
    }

    @Test func jobWatchFollowsAJobToItsEndAndExitsWithItsOutcome() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try await SimulatedWorkerSession.register("sim", on: farm)
        let job = try await farm.submit(["file": "/tmp/watched.blend", "frames": "1-3"])
        let watcher = try ChildProcess(
            farm.binary, ["job", "watch", String(job)],
            environment: ["BRENDER_SERVER": farm.serverURL, "BRENDER_TOKEN": farm.adminToken!, "BRENDER_DATA": "/nonexistent"],
            logDirectory: farm.directory, name: "watch")
        #expect(await eventually { watcher.standardOutput.contains("0/3 frames") })
        for _ in 0..<3 { #expect(try await worker.completeNextTask() != nil) }
        #expect(watcher.waitForExit(timeout: 60) == 0)
        let lines = watcher.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("job \(job): 1/3 frames") })
        #expect(lines.contains { $0.hasPrefix("job \(job): 3/3 frames (100%), completed") })
        #expect(lines.last?.hasPrefix("job \(job) completed: 3 frames") == true)
        #expect(!watcher.standardOutput.contains("\u{1B}["), "no colours off a terminal")
    }

    @Test func jobWatchOfACanceledJobExitsOneAndCtrlCLeavesTheJobAlone() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        _ = try await SimulatedWorkerSession.register("sim", on: farm)
        let environment = ["BRENDER_SERVER": farm.serverURL, "BRENDER_TOKEN": farm.adminToken!, "BRENDER_DATA": "/nonexistent"]
        let canceled = try await farm.submit(["file": "/tmp/c.blend", "frames": "1-3"])
        let watcher = try ChildProcess(
            farm.binary, ["job", "watch", String(canceled)], environment: environment, logDirectory: farm.directory, name: "watch-canceled")
        #expect(await eventually { watcher.standardOutput.contains("0/3 frames") })
        #expect(try farm.run(["job", "cancel", String(canceled)]).status == 0)
        #expect(watcher.waitForExit(timeout: 60) == 1)
        #expect(watcher.standardError.contains("job \(canceled) was canceled"))

        let running = try await farm.submit(["file": "/tmp/r.blend", "frames": "1-3"])
        let interrupted = try ChildProcess(
            farm.binary, ["job", "watch", String(running)], environment: environment, logDirectory: farm.directory, name: "watch-int")
        #expect(await eventually { interrupted.standardOutput.contains("0/3 frames") })
        interrupted.send(SIGINT)
        #expect(interrupted.waitForExit(timeout: 30) == 130)
        #expect(interrupted.standardError.contains("stopped watching job \(running); it goes on"))
        #expect(try await farm.job(running)?["status"] == "queued")
    }

    @Test func taskLogFollowPrintsEachLineAsItArrivesAndStopsWhenTheTaskEnds() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try await SimulatedWorkerSession.register("sim", on: farm)
        _ = try await farm.submit(["file": "/tmp/logged.blend", "frames": "1"])
        let task = try #require(try await worker.takeTask())
        var offset = 0
        func report(_ line: String, _ state: WorkerProtocol.TaskState) async throws {
            try await worker.report(task, state, frames: state == .completed ? [1] : [], log: line, logOffset: offset)
            offset += line.utf8.count
        }
        try await report("line one\n", .running)
        let follower = try ChildProcess(
            farm.binary, ["task", "log", "--follow", String(task.taskID)],
            environment: ["BRENDER_SERVER": farm.serverURL, "BRENDER_TOKEN": farm.adminToken!, "BRENDER_DATA": "/nonexistent"],
            logDirectory: farm.directory, name: "log-follow")
        #expect(await eventually { follower.standardOutput.contains("line one") })
        try await report("line two\n", .running)
        #expect(await eventually { follower.standardOutput.contains("line two") })
        try await report("last line\n", .completed)
        #expect(follower.waitForExit(timeout: 60) == 0)
        let printed = follower.standardOutput
        #expect(printed.hasSuffix("line one\nline two\nlast line\n"), "\(printed)")
    }
}
