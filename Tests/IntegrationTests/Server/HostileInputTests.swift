import BrenderKit
import BrenderTesting
import Foundation
import NIOHTTP1
import Testing

/// Random and malformed requests against a real server: every one gets an answer below 500, and
/// the server keeps running.
@Suite struct HostileInputTests {
    static let keys = [
        "item", "action", "filters", "values", "all", "force", "limit", "offset", "id", "name", "status", "frames", "file", "type", "argv",
        "chunk", "client_id", "task_id", "job_id", "lease", "state", "frames_done", "log", "log_offset", "tags", "priority", "next_wait",
        "job", "client",
    ]
    static let words = [
        "client", "job", "task", "read", "create", "update", "delete", "queued", "paused", "canceled", "completed", "1-5", "9-1",
        "1-100000x0", "running", "failed", "/abs/x.blend", "",
    ]

    private func value(_ random: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch random.next() % (depth < 4 ? 9 : 6) {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2: return .int([Int64.max, Int64.min, -1, 0, 1, 3, 7, Int64(random.next() % 100_000)][Int(random.next() % 8)])
        case 3: return .double([1e300, -0.5, 2.5, 1e-300][Int(random.next() % 4)])
        case 4: return .string(String(repeating: "x", count: Int(random.next() % 40)))
        case 5: return .string(Self.words[Int(random.next() % UInt64(Self.words.count))])
        case 6, 7: return .array((0..<random.next() % 4).map { _ in value(&random, depth: depth + 1) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<random.next() % 7 { object[Self.keys[Int(random.next() % UInt64(Self.keys.count))]] = value(&random, depth: depth + 1) }
            return .object(object)
        }
    }

    @Test func randomRequestsNeverGetA5xxNorStopTheServer() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        var random = SeededGenerator(seed: 20261129)
        let paths = ["/api", "/worker/register", "/worker/heartbeat", "/worker/task", "/worker/task/update", "/worker/signoff"]
        let fixed: [[UInt8]] = [
            [], Array("{".utf8), [0xFF, 0xFE], Array(String(repeating: "[", count: 5000).utf8),
            Array(#"{"item":"job","action":"create","values":{"frames":"1-3","type":"command","argv":["true"]}}"#.utf8),
            Array(#"{"item":"client","action":"read","limit":2147483647,"offset":2147483647}"#.utf8),
            Array(#"{"client_id":9223372036854775807,"task_id":-1,"job_id":0,"lease":99999999999,"state":"running","frames_done":[1,2]}"#.utf8),
        ]
        var statuses: [Int: Int] = [:]
        try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
            for index in 0..<600 {
                let path = paths[Int(random.next() % UInt64(paths.count))]
                var body = index % 5 == 0 ? fixed[index / 5 % fixed.count] : value(&random).serializedBytes()
                if path == "/worker/task" {
                    body = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\"wait\"", with: "\"w\"").utf8)
                }
                let method: HTTPMethod = index % 7 == 0 ? .GET : .POST
                let answer = try await connection.send(method: method, path: path, body: method == .GET ? nil : body)
                statuses[answer.status, default: 0] += 1
                #expect(answer.status < 500, "\(path) answered \(answer.status) to \(String(decoding: body.prefix(200), as: UTF8.self))")
            }
        }
        #expect(farm.server?.hasExited == false)
        let health = try await BrenderClient(server: farm.serverURL).get("/health")
        #expect(health["ok"] == true)
        #expect(statuses[400, default: 0] > 100, "the requests were mostly refused as bad input: \(statuses)")
    }
}
