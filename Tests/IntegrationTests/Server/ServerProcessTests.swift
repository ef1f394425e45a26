import BrenderKit
import BrenderTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real `brender server` process: its HTTP surface, durability and shutdown.
@Suite struct ServerProcessTests {
    private func post(_ farm: TestFarm, path: String = "/api", method: String = "POST", body: Data) async throws -> (Int, JSONValue) {
        var request = URLRequest(url: URL(string: farm.serverURL + path)!)
        request.httpMethod = method
        request.httpBody = body
        if let token = farm.adminToken { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, try JSONValue.parse(data))
    }

    @Test func badRequestsGetA4xxWithAJSONErrorAndTheServerStaysUp() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let (notJSON, notJSONBody) = try await post(farm, body: Data("hello".utf8))
        #expect(notJSON == 400)
        #expect(notJSONBody["error"]?["code"] == "invalid_json")

        let (unknownField, unknownBody) = try await post(farm, body: Data(#"{"item":"client","action":"read","filters":{"colour":"red"}}"#.utf8))
        #expect(unknownField == 400)
        #expect(unknownBody["error"]?["field"] == "filters.colour")

        let (tooLarge, tooLargeBody) = try await post(farm, body: Data(repeating: UInt8(ascii: " "), count: 2 << 20))
        #expect(tooLarge == 413)
        #expect(tooLargeBody["error"]?["code"] == "payload_too_large")

        let (wrongMethod, _) = try await post(farm, method: "PUT", body: Data())
        #expect(wrongMethod == 405)

        let (badRegistration, badRegistrationBody) = try await post(farm, path: "/worker/register", body: Data(#"{"name":"x"}"#.utf8))
        #expect(badRegistration == 400)
        #expect(badRegistrationBody["error"]?["code"] == "missing_field")

        let health = try await BrenderClient(server: farm.serverURL).get("/health")
        #expect(health["ok"] == true)
        #expect(health["version"] == .string(BrenderVersion.current))
        #expect(farm.server?.hasExited == false)
    }

    @Test func acknowledgedChangesSurviveAKillDashNineAndWorkersReconnect() async throws {
        let farm = try TestFarm()
        try farm.startServer(["--worker-timeout", "30"])
        try farm.startWorker(name: "survivor", ["--tags", "gpu"])
        #expect(await eventually { try await farm.clients()["survivor"]?["connection"] == "online" })

        let update = try farm.run(["client", "update", "--filter", "name=survivor", "--set", "status=disabled", "--set", "tags=gpu,cuda"])
        #expect(update.status == 0)
        #expect(update.stdout == "1 client changed (1 matched)\n")

        farm.server?.send(SIGKILL)
        #expect(farm.server?.waitForExit(timeout: 10) == 128 + SIGKILL)
        try farm.restartServer()

        let survivor = try await farm.clients()["survivor"]
        #expect(survivor?["status"] == "disabled")
        #expect(survivor?["tags"] == ["cuda", "gpu"])
        // The worker keeps heart-beating through the restart; its record stays or comes back online.
        #expect(await eventually { try await farm.clients()["survivor"]?["connection"] == "online" })
    }

    @Test func sigtermStopsTheServerCleanlyWithExitZero() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "w")
        #expect(await eventually { try await farm.clients()["w"] != nil })
        farm.server?.send(SIGTERM)
        #expect(farm.server?.waitForExit(timeout: 15) == 0)
        #expect(farm.server?.standardError.contains("brender server stopped") == true)
        // The WAL was checkpointed into the database file on the way out.
        let wal = farm.dataDirectory.appendingPathComponent("brender.sqlite-wal").path
        let walSize = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
        #expect(walSize == 0)
    }

    @Test func aSecondServerOnTheSameDataDirectoryIsRefused() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let second = try farm.run(["server", "--listen", "127.0.0.1:0", "--data", farm.dataDirectory.path], timeout: 30)
        #expect(second.status == 1)
        #expect(second.stderr.contains("is in use by another brender server"))
    }

    @Test func aDatabaseFromANewerBrenderIsRefusedWithAClearMessage() async throws {
        let farm = try TestFarm()
        try FileManager.default.createDirectory(at: farm.dataDirectory, withIntermediateDirectories: true)
        do {
            let store = try FarmStore(path: farm.dataDirectory.appendingPathComponent("brender.sqlite").path)
            try store.database.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
            store.close()
        }
        let result = try farm.run(["server", "--listen", "127.0.0.1:0", "--data", farm.dataDirectory.path], timeout: 30)
        #expect(result.status == 1)
        #expect(result.stderr.contains("was written by a newer brender (schema version 999"))
    }
}
