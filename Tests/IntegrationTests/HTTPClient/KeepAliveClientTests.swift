import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// The worker's kept-alive connections against a real server.
@Suite struct KeepAliveClientTests {
    private func register(_ client: BrenderClient, _ name: String) async throws -> Int64 {
        try await client.post(
            "/worker/register", WorkerProtocol.Registration.simulated(name),
            as: WorkerProtocol.Registered.self
        ).clientID
    }

    @Test func concurrentRequestsEachGetTheirOwnAnswer() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let client = try farm.client()
        let names = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<20 {
                group.addTask {
                    let id = try await register(client, "k\(index)")
                    let items = try await client.send(APIRequest(item: "client", action: "read", filters: ["id": .int(id)])).items
                    return items[0]["name"]!.stringValue!
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(names) == Set((0..<20).map { "k\($0)" }))
    }

    @Test func aRestartedServerIsReachedAgainWithoutAFailedRequest() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let client = try farm.client()
        let id = try await register(client, "survivor")
        farm.server?.send(SIGKILL)
        farm.server?.waitForExit(timeout: 10)
        try farm.restartServer()
        // The idle connection died with the old server; the request goes again on a new one.
        let reply = try await client.post(
            "/worker/heartbeat", WorkerProtocol.ClientReference(sender: .simulated(id, name: "survivor")), as: WorkerProtocol.HeartbeatReply.self)
        #expect(reply.heartbeatInterval > 0)
    }

    @Test func anUnreachableServerIsReportedByName() async throws {
        let client = try BrenderClient(server: "http://127.0.0.1:1")
        await #expect(throws: ClientError.unreachable(url: "http://127.0.0.1:1", reason: "connection refused")) {
            _ = try await client.get("/health")
        }
    }

    @Test func aRequestThatOutlivesItsTimeoutFails() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let client = try farm.client()
        let id = try await register(client, "patient")
        let started = Date()
        // A long poll of 30 s with a 0.5 s time-out on the client: waiting for the server's answer,
        // or retrying, would take 30 s; the bound below leaves a slow, shared machine plenty of room.
        await #expect(throws: ClientError.unreachable(url: farm.serverURL, reason: "timed out")) {
            _ = try await client.post(
                "/worker/task", WorkerProtocol.TaskRequest(sender: .simulated(id, name: "patient"), wait: 30), as: WorkerProtocol.TaskReply.self,
                timeout: 0.5)
        }
        #expect(Date().timeIntervalSince(started) < 15, "a time-out is not retried, nor waits for the answer")
    }
}
