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
        #expect(
            refused.stderr.hasPrefix("brender: error: missing or wrong credentials: send the admin token or a named token (--token or BRENDER_TOKEN)")
        )
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

    /// Makes a named token with the command line and returns it.
    private func createToken(_ farm: TestFarm, _ name: String, role: String) throws -> String {
        let made = try farm.run(["server", "token", "create", name, "--role", role, "--data", farm.dataDirectory.path])
        #expect(made.status == 0, "\(made.stderr)")
        return made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func api(_ farm: TestFarm, token: String, _ body: JSONValue) async throws -> (Int, JSONValue?) {
        try await status(farm, .POST, "/api", token: token, body: body.serialized())
    }

    @Test func aReadOnlyTokenReadsEverythingAndIsRefusedEveryChange() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let reader = try createToken(farm, "dashboard", role: "read-only")
        let join = try #require(ServerTokens.read(.join, in: ServerTokens.directory(of: farm.dataDirectory)))
        _ = try await status(farm, .POST, "/worker/register", token: join, body: WorkerProtocol.Registration.simulated("node").json.serialized())
        let job = try await farm.submit(["file": "/tmp/scene.blend", "frames": "1-4"])
        for item in ["job", "task", "client", "pathmap"] {
            let (code, body) = try await api(farm, token: reader, ["item": .string(item), "action": "read"])
            #expect(code == 200, "read \(item): \(String(describing: body))")
        }
        #expect(try await status(farm, .GET, "/logs/task/\(job)", token: reader).0 != 401)
        let changes: [JSONValue] = [
            ["item": "job", "action": "create", "values": ["file": "/tmp/b.blend", "frames": "1"]],
            ["item": "job", "action": "update", "filters": ["id": .int(job)], "values": ["status": "paused"]],
            ["item": "job", "action": "delete", "filters": ["id": .int(job)]],
            ["item": "task", "action": "update", "filters": ["job": .int(job)], "values": ["status": "queued"]],
            ["item": "client", "action": "update", "filters": ["name": "node"], "values": ["status": "disabled"]],
            ["item": "client", "action": "delete", "filters": ["name": "node"], "force": true],
            ["item": "pathmap", "action": "create", "values": ["name": "p", "linux": "/mnt/p"]],
        ]
        for change in changes {
            let (code, body) = try await api(farm, token: reader, change)
            #expect(code == 403, "\(change.serialized())")
            #expect(body?["error"]?["code"] == "forbidden")
            #expect(body?["error"]?["message"]?.stringValue?.contains("read-only") == true)
        }
        #expect(try await farm.job(job)?["status"] == "queued", "nothing changed")
        #expect(try await farm.clients()["node"]?["status"] == "enabled")
    }

    @Test func aSubmitTokenChangesItsOwnJobsOnlyAndItsNameIsRecorded() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let alice = try createToken(farm, "alice", role: "submit")
        let bob = try createToken(farm, "bob", role: "submit")
        let join = try #require(ServerTokens.read(.join, in: ServerTokens.directory(of: farm.dataDirectory)))
        // A worker that allows command jobs, so that only the token decides.
        _ = try await status(farm, .POST, "/worker/register", token: join, body: WorkerProtocol.Registration.simulated("node").json.serialized())

        let (created, body) = try await api(
            farm, token: alice, ["item": "job", "action": "create", "values": ["file": "/tmp/a.blend", "frames": "1-4"]])
        #expect(created == 200)
        let aliceJob = try #require(body?["items"]?.arrayValue?.first?["id"]?.intValue)
        #expect(body?["items"]?.arrayValue?.first?["submitted_by"] == "alice")
        let adminJob = try await farm.submit(["file": "/tmp/b.blend", "frames": "1-4"])
        #expect(try await farm.job(adminJob)?["submitted_by"] == "admin")
        let shown = try farm.run(["job", "show", String(aliceJob)])
        #expect(shown.stdout.contains("submitted_by:") && shown.stdout.contains("alice"))

        // Command jobs need the admin token, and the refusal says why.
        let (command, refusal) = try await api(
            farm, token: alice, ["item": "job", "action": "create", "values": ["type": "command", "argv": ["true"], "frames": "1"]])
        #expect(command == 403)
        #expect(refusal?["error"]?["message"]?.stringValue?.contains("only the admin token may submit them") == true)

        // Another's job by id: refused, nothing changed.
        let pause: JSONValue = [
            "item": "job", "action": "update", "filters": ["id": .array([.int(aliceJob), .int(adminJob)])], "values": ["status": "paused"],
        ]
        #expect(try await api(farm, token: bob, pause).0 == 403)
        #expect(try await farm.job(aliceJob)?["status"] == "queued")
        // Every job (--all): only its own, and bob has none.
        let (all, allBody) = try await api(farm, token: bob, ["item": "job", "action": "update", "all": true, "values": ["status": "paused"]])
        #expect(all == 200 && allBody?["items"]?.arrayValue?.isEmpty == true)
        #expect(
            try await api(farm, token: bob, ["item": "task", "action": "update", "filters": ["job": .int(aliceJob)], "values": ["status": "queued"]])
                .0 == 403)
        #expect(try await api(farm, token: bob, ["item": "job", "action": "delete", "filters": ["id": .int(aliceJob)]]).0 == 403)
        // Its own: yes; clients: no.
        let own: JSONValue = ["item": "job", "action": "update", "filters": ["id": .int(aliceJob)], "values": ["status": "paused"]]
        #expect(try await api(farm, token: alice, own).0 == 200)
        #expect(try await farm.job(aliceJob)?["status"] == "paused")
        #expect(try await farm.job(adminJob)?["status"] == "queued")
        #expect(try await api(farm, token: alice, ["item": "client", "action": "update", "all": true, "values": ["status": "disabled"]]).0 == 403)

        // Every change is in the server's log under the token's name; the token is not.
        farm.server?.send(SIGTERM)
        _ = farm.server?.waitForExit(timeout: 30)
        let log = farm.server?.standardError ?? ""
        #expect(log.contains("api change") && log.contains("token=alice") && log.contains("action=update"))
        #expect(!log.contains(alice) && !log.contains(bob))
    }

    @Test func aRevokedNamedTokenIsRefusedAtOnce() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let token = try createToken(farm, "pipeline", role: "submit")
        let read: JSONValue = ["item": "job", "action": "read"]
        #expect(try await api(farm, token: token, read).0 == 200)
        let listed = try farm.run(["server", "token", "list", "--data", farm.dataDirectory.path])
        #expect(listed.stdout.contains("pipeline") && listed.stdout.contains("submit") && !listed.stdout.contains(token))
        let file = try String(contentsOfFile: ServerTokens.namedPath(in: ServerTokens.directory(of: farm.dataDirectory)), encoding: .utf8)
        #expect(!file.contains(token) && file.contains(SHA256.credentialDigest(token)), "only the digest is kept")
        #expect(try farm.run(["server", "token", "create", "pipeline", "--data", farm.dataDirectory.path]).status == 1, "a name is taken once")
        #expect(try farm.run(["server", "token", "revoke", "pipeline", "--data", farm.dataDirectory.path]).status == 0)
        #expect(await eventually { try await api(farm, token: token, read).0 == 401 })
        let mode =
            (try FileManager.default.attributesOfItem(atPath: ServerTokens.namedPath(in: ServerTokens.directory(of: farm.dataDirectory)))[
                .posixPermissions] as? Int ?? 0) & 0o777
        #expect(mode == 0o600)
    }

    @Test func aDeletedClientsWorkerCannotRegisterAgainWithItsCredential() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try farm.startWorker(name: "lent")
        #expect(await eventually { try await farm.clients()["lent"]?["connection"] == "online" })
        worker.send(SIGTERM)
        #expect(worker.waitForExit(timeout: 30) == 0)
        #expect(try farm.run(["client", "delete", "--filter", "name=lent"]).status == 0)
        let again = try farm.startWorker(name: "lent")
        #expect(again.waitForExit(timeout: 30) == 1)
        #expect(again.standardError.contains("credential was revoked when its client"))
        #expect(try await farm.clients().isEmpty)
    }
}
