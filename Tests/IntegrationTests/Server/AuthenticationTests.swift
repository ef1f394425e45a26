import BrenderKit
import BrenderTesting
import Foundation
import NIOHTTP1
import Testing

/// Credentials on a real server: the admin token for the API and logs, the join token for
/// registering workers, rotation, and what a person sees when one is missing or wrong.
@Suite struct AuthenticationTests {
    private func status(_ farm: TestFarm, _ method: HTTPMethod, _ path: String, token: String?, body: String? = nil) async throws -> (Int, JSONValue?)
    {
        try await HTTP1Connection.with(port: farm.port, token: token) { connection in
            let answer = try await connection.send(method: method, path: path, body: body.map { Array($0.utf8) })
            return (answer.status, try? JSONValue.parse(Data(answer.body)))
        }
    }

    @Test func theAPIAndLogsNeedTheAdminTokenAndRegisteringNeedsTheJoinToken() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let admin = try #require(farm.adminToken)
        let join = try #require(ServerTokens.read(.join, in: ServerTokens.directory(of: farm.dataDirectory)))
        let read = #"{"item":"job","action":"read"}"#
        for token in [nil, "wrong", join] {
            let (code, body) = try await status(farm, .POST, "/api", token: token, body: read)
            #expect(code == 401, "token \(token ?? "none")")
            #expect(body?["error"]?["code"] == "unauthorized" && body?["error"]?["field"] == "authorization")
            #expect(try await status(farm, .GET, "/logs/task/1", token: token).0 == 401)
        }
        #expect(try await status(farm, .POST, "/api", token: admin, body: read).0 == 200)
        #expect(try await status(farm, .GET, "/logs/task/1", token: admin).0 == 404)
        let registration = WorkerProtocol.Registration.simulated("joining-worker").json.serialized()
        #expect(try await status(farm, .POST, "/worker/register", token: nil, body: registration).0 == 401)
        #expect(try await status(farm, .POST, "/worker/register", token: "wrong", body: registration).0 == 401)
        let joined = try await status(farm, .POST, "/worker/register", token: join, body: registration)
        #expect(joined.0 == 200, "\(String(describing: joined.1))")
        #expect(try await status(farm, .GET, "/health", token: nil).0 == 200, "/health stays open")
    }

    @Test func tokensAreMadeOnFirstStartReadableByTheOwnerOnly() throws {
        let farm = try TestFarm()
        try farm.startServer()
        let directory = ServerTokens.directory(of: farm.dataDirectory)
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? 0) & 0o777
        }
        #expect(try mode(directory.path) == 0o700)
        for kind in ServerTokens.Kind.allCases {
            #expect(try mode(directory.appendingPathComponent("\(kind.rawValue).token").path) == 0o600)
            #expect(ServerTokens.read(kind, in: directory)?.count == 64)
        }
        // A restart keeps them.
        let before = farm.adminToken
        farm.server?.send(SIGTERM)
        _ = farm.server?.waitForExit(timeout: 30)
        try farm.restartServer()
        #expect(farm.adminToken == before)
    }

    @Test func aRotatedTokenTakesEffectAtOnce() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let old = try #require(farm.adminToken)
        let rotated = try farm.run(["server", "token", "rotate", "admin", "--data", farm.dataDirectory.path])
        #expect(rotated.status == 0)
        let new = rotated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(new.count == 64 && new != old)
        let read = #"{"item":"job","action":"read"}"#
        #expect(await eventually { try await status(farm, .POST, "/api", token: old, body: read).0 == 401 })
        #expect(try await status(farm, .POST, "/api", token: new, body: read).0 == 200)
        let shown = try farm.run(["server", "token", "show", "admin", "--data", farm.dataDirectory.path])
        #expect(shown.stdout == new + "\n")
    }

    @Test func theCommandLineFindsTheTokenOrSaysWhatToDo() throws {
        let farm = try TestFarm()
        try farm.startServer()
        let refused = try farm.run(["job", "list"], token: "")
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("brender: error: missing or wrong credentials: send the admin token (--token or BRENDER_TOKEN)"))
        #expect(try farm.run(["job", "list", "--token", "nope"], token: "").status == 1)
        #expect(try farm.run(["job", "list", "--token", farm.adminToken!], token: "").status == 0)
        // On the server machine, the data directory's token file is enough.
        let local = try ChildProcess.run(
            farm.binary, ["job", "list"], environment: ["BRENDER_SERVER": farm.serverURL, "BRENDER_DATA": farm.dataDirectory.path],
            logDirectory: farm.directory, name: "cli-local", timeout: 60)
        #expect(local.status == 0, "\(local.stderr)")
    }

    @Test func aWorkerWithAWrongJoinTokenStopsAndSaysWhy() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try farm.startWorker(name: "stranger", ["--join-token", "not-the-token"])
        #expect(worker.waitForExit(timeout: 30) == 1)
        #expect(worker.standardError.contains("the server refused this worker's join token"))
        #expect(try await farm.clients().isEmpty)
    }
}
