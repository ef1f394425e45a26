import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// One client record per worker process, and no task process left behind by a killed worker.
@Suite struct WorkerIdentityTests {
    @Test func aSecondWorkerWithAnOnlineWorkersNameExitsNamingTheOther() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let first = try farm.startWorker(name: "dup")
        #expect(await eventually { try await farm.clients()["dup"]?["connection"] == "online" })
        // Another machine (its own state directory) with the same name.
        let second = try farm.startWorker(name: "dup", ["--state-dir", farm.directory.appendingPathComponent("elsewhere").path])
        #expect(second.waitForExit(timeout: 30) == 1)
        #expect(
            second.standardError.contains("brender: error: the server refused this worker: the name 'dup' belongs to another worker that is online"))
        #expect(second.standardError.contains("pid \(first.pid)"))
        #expect(!first.hasExited)
        #expect(try await farm.clients().count == 1)
    }

    @Test func aSecondWorkerOnTheSameStateDirectoryIsRefusedAtOnce() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let first = try farm.startWorker(name: "twin")
        #expect(await eventually { try await farm.clients()["twin"]?["connection"] == "online" })
        let second = try farm.startWorker(name: "twin")
        #expect(second.waitForExit(timeout: 30) == 1)
        #expect(second.standardError.contains("another brender worker (pid \(first.pid)) runs with the state directory"))
    }

    @Test func aRestartedWorkerReattachesToItsRecord() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try farm.startWorker(name: "phoenix")
        #expect(await eventually { try await farm.clients()["phoenix"]?["connection"] == "online" })
        let id = try await farm.clients()["phoenix"]?["id"]
        worker.send(SIGKILL)
        worker.waitForExit(timeout: 10)
        // Back at once, while the server still counts the killed one as online.
        let again = try farm.startWorker(name: "phoenix")
        #expect(await eventually { try await farm.clients()["phoenix"]?["last_seen"] != nil })
        try await Task.sleep(for: .seconds(1))
        #expect(!again.hasExited, "\(again.standardError)")
        #expect(try await farm.clients().count == 1)
        #expect(try await farm.clients()["phoenix"]?["id"] == id)
    }

    @Test func aWorkerStopsTheTaskProcessesAKilledEarlierRunLeftBehind() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try farm.startWorker(name: "messy")
        let marker = "leftover-\(UUID().uuidString.prefix(8))"
        _ = try await farm.submit(["type": "command", "frames": "1", "argv": ["sh", "-c", .string("sleep 1000; echo \(marker)")]])
        #expect(await eventually { Processes.matching(marker).count == 1 })
        worker.send(SIGKILL)
        worker.waitForExit(timeout: 10)
        let leftover = Processes.matching(marker)
        #expect(leftover.count == 1, "a command task is not guarded; the next run stops it")
        let again = try farm.startWorker(name: "messy")
        // That process, not any with the marker: the new run may be handed the requeued task and
        // start it again.
        #expect(await eventually(timeout: 20) { Set(Processes.matching(marker)).isDisjoint(with: leftover) }, "the leftover was not stopped")
        #expect(await eventually { again.standardError.contains("stopped 1 task process group(s) that an earlier run of this worker left running") })
        Processes.kill(matching: marker)
    }
}
