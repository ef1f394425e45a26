import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// Real `brender worker` processes registering with a real server.
@Suite struct WorkerProcessTests {
    @Test func workerSignsOffAndExitsZeroOnSIGTERM() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try farm.startWorker(name: "leaver")
        #expect(await eventually { try await farm.clients()["leaver"]?["connection"] == "online" })
        worker.send(SIGTERM)
        #expect(worker.waitForExit(timeout: 15) == 0)
        #expect(try await farm.clients()["leaver"]?["connection"] == "offline")
    }

    @Test func silentWorkerGoesOfflineAfterTheWorkerTimeout() async throws {
        let farm = try TestFarm()
        try farm.startServer(["--worker-timeout", "1"])
        let worker = try farm.startWorker(name: "crasher")
        #expect(await eventually { try await farm.clients()["crasher"]?["connection"] == "online" })
        worker.send(SIGKILL)
        worker.waitForExit(timeout: 10)
        #expect(await eventually(timeout: 30) { try await farm.clients()["crasher"]?["connection"] == "offline" })
    }

    @Test func workerWaitsForAServerThatStartsLater() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let port = farm.port
        farm.server?.send(SIGTERM)
        farm.server?.waitForExit(timeout: 15)
        let worker = try farm.startWorker(name: "patient")
        try await Task.sleep(for: .seconds(1))
        #expect(!worker.hasExited)
        try farm.startServer([], port: port)
        #expect(await eventually { try await farm.clients()["patient"]?["connection"] == "online" })
    }

    @Test func aRunningWorkerWhoseClientIsDeletedIsRefusedAndStops() async throws {
        let farm = try TestFarm()
        try farm.startServer(["--worker-timeout", "2"])
        let worker = try farm.startWorker(name: "phoenix")
        #expect(await eventually { try await farm.clients()["phoenix"] != nil })
        let deleted = try farm.run(["client", "delete", "--filter", "name=phoenix", "--force"])
        #expect(deleted.status == 0)
        // Its next heartbeat finds no record; registering again with its revoked key is refused.
        #expect(worker.waitForExit(timeout: 60) == 1)
        #expect(worker.standardError.contains("credential was revoked"))
        #expect(try await farm.clients()["phoenix"] == nil)
    }
}
