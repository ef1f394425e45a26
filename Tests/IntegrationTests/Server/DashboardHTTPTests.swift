import BrenderKit
import BrenderTesting
import Foundation
import NIOHTTP1
import Testing

/// The dashboard's HTTP side on a real server: its files, what a visitor without a token gets,
/// what a read-only token may not do, the cross-site lock, and frame previews.
@Suite struct DashboardHTTPTests {
    private func get(_ farm: TestFarm, _ path: String, token: String? = nil, headers: [(String, String)] = []) async throws -> (
        status: Int, headers: HTTPHeaders, body: [UInt8]
    ) {
        try await HTTP1Connection.with(port: farm.port, token: token) { try await $0.send(method: .GET, path: path, body: nil, headers: headers) }
    }

    private func post(_ farm: TestFarm, _ request: APIRequest, token: String?, headers: [(String, String)] = []) async throws -> (
        status: Int, body: JSONValue
    ) {
        let answer = try await HTTP1Connection.with(port: farm.port, token: token) {
            try await $0.send(method: .POST, path: "/api", body: request.json.serializedBytes(), headers: headers)
        }
        return (answer.status, try JSONValue.parse(Data(answer.body)))
    }

    @Test func thePageAndItsFilesAreServedWithTheirTypesACacheRuleAndAStrictPolicy() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let page = try await get(farm, "/")
        #expect(page.status == 200)
        #expect(page.headers["content-type"].first == "text/html; charset=utf-8")
        #expect(page.headers["cache-control"].first == "no-cache")
        let policy = try #require(page.headers["content-security-policy"].first)
        for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
            #expect(policy.contains(directive), "\(policy)")
        }
        #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
        #expect(page.headers["x-content-type-options"].first == "nosniff")
        #expect(page.headers["x-frame-options"].first == "DENY")
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(!html.contains("<script>") && !html.contains("style="), "inline script or style would need a looser policy")

        let links = html.matches(of: /(?:src|href)="(\/assets\/[a-z.]+\?v=[0-9a-f]+)"/).map { String($0.output.1) }
        #expect(Set(links.map { $0.split(separator: "?")[0] }) == ["/assets/dashboard.js", "/assets/dashboard.css", "/assets/icon.svg"])
        let types = ["js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml"]
        for link in Set(links) {
            let asset = try await get(farm, link)
            #expect(asset.status == 200, "\(link)")
            #expect(asset.headers["content-type"].first == types[String(link.split(separator: "?")[0].split(separator: ".").last!)], "\(link)")
            #expect(asset.headers["cache-control"].first == "public, max-age=31536000, immutable", "\(link): its URL names its version")
            let etag = try #require(asset.headers["etag"].first)
            #expect(try await get(farm, link, headers: [("If-None-Match", etag)]).status == 304)
            // Without the version in the URL, the browser must check again.
            #expect(try await get(farm, String(link.split(separator: "?")[0])).headers["cache-control"].first == "no-cache")
        }
        #expect(try await get(farm, "/assets/nothing.js").status == 404)
    }

    @Test func withoutATokenTheresOnlyTheSignInPage() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        _ = try await farm.submit(["file": "/tmp/secret-project.blend", "frames": "1-3"])
        let page = String(decoding: try await get(farm, "/").body, as: UTF8.self)
        #expect(page.contains("id=\"sign-in-form\""))
        #expect(!page.contains("secret-project"))
        for path in ["/session", "/events", "/jobs/1/frames", "/jobs/1/frames/1/preview", "/logs/task/1", "/metrics"] {
            #expect(try await get(farm, path).status == 401, "\(path)")
        }
        #expect(try await post(farm, APIRequest(item: "job", action: "read"), token: nil).status == 401)
    }

    @Test func theSessionSaysWhoTheTokenIs() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let made = try farm.run(["server", "token", "create", "wall-screen", "--role", "read-only", "--data", farm.dataDirectory.path])
        let reader = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let admin = try JSONValue.parse(Data(try await get(farm, "/session", token: farm.adminToken).body))
        #expect(admin == ["name": "admin", "role": "admin"])
        let session = try await get(farm, "/session", token: reader)
        #expect(try JSONValue.parse(Data(session.body)) == ["name": "wall-screen", "role": "read-only"])
        #expect(session.headers["cache-control"].first == "no-store")
    }

    @Test func aReadOnlyTokenIsRefusedEveryDashboardActionAndNothingChanges() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try await SimulatedWorkerSession.register("node-1", on: farm)
        let job = try await farm.submit(["file": "/tmp/shot.blend", "frames": "1-4"])
        _ = try await worker.takeTask()
        let made = try farm.run(["server", "token", "create", "viewer", "--role", "read-only", "--data", farm.dataDirectory.path])
        let reader = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let before = try await post(farm, APIRequest(item: "job", action: "read"), token: farm.adminToken).body
        let clientsBefore = try await post(farm, APIRequest(item: "client", action: "read"), token: farm.adminToken).body
        let ids: JSONValue = [.int(job)]
        let actions: [APIRequest] = [
            APIRequest(item: "job", action: "update", filters: ["id": ids], values: ["status": "paused"]),
            APIRequest(item: "job", action: "update", filters: ["id": ids], values: ["status": "queued"]),
            APIRequest(item: "job", action: "update", filters: ["id": ids], values: ["status": "canceled"]),
            APIRequest(item: "job", action: "update", filters: ["id": ids], values: ["priority": 90]),
            APIRequest(item: "task", action: "update", filters: ["job": ids, "status": ["failed", "canceled"]], values: ["status": "queued"]),
            APIRequest(item: "job", action: "delete", filters: ["id": ids]),
            APIRequest(item: "client", action: "update", filters: ["id": [.int(worker.sender.clientID)]], values: ["status": "disabled"]),
            APIRequest(item: "client", action: "update", values: ["status": "disabled"], all: true),
        ]
        for action in actions {
            let answer = try await post(farm, action, token: reader)
            #expect(answer.status == 403, "\(action.json.serialized())")
            #expect(answer.body["error"]?["field"] == "action")
        }
        #expect(try await post(farm, APIRequest(item: "job", action: "read"), token: farm.adminToken).body == before)
        #expect(try await post(farm, APIRequest(item: "client", action: "read"), token: farm.adminToken).body == clientsBefore)
    }

    @Test func aChangeFromAnotherSitesPageIsRefusedEvenWithTheToken() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let job = try await farm.submit(["file": "/tmp/shot.blend", "frames": "1-4"])
        let pause = APIRequest(item: "job", action: "update", filters: ["id": .int(job)], values: ["status": "paused"])
        let forged = try await post(farm, pause, token: farm.adminToken, headers: [("Origin", "https://evil.example")])
        #expect(forged.status == 403)
        #expect(forged.body["error"]?["field"] == "origin")
        for site in ["cross-site", "same-site"] {
            let fetched = try await post(farm, pause, token: farm.adminToken, headers: [("Sec-Fetch-Site", site), ("Origin", "http://127.0.0.1")])
            #expect(fetched.status == 403, "\(site)")
        }
        #expect(try await farm.job(job)?["status"] == "queued")
        // The dashboard's own page, served straight or through a proxy that rewrote Host.
        let own = try await post(farm, pause, token: farm.adminToken, headers: [("Origin", "http://127.0.0.1")])
        #expect(own.status == 200)
        let proxied = try await post(
            farm, pause, token: farm.adminToken, headers: [("Origin", "https://farm.example"), ("X-Forwarded-Host", "farm.example")])
        #expect(proxied.status == 200)
        let modern = try await post(
            farm, pause, token: farm.adminToken, headers: [("Origin", "https://farm.example"), ("Sec-Fetch-Site", "same-origin")])
        #expect(modern.status == 200, "the browser's own word that the page is the server's")
        // Reads pass: what they answer another site's page cannot read.
        #expect(try await get(farm, "/session", token: farm.adminToken, headers: [("Origin", "https://evil.example")]).status == 200)
    }

    @Test func aWorkersPreviewIsServedToTokensOnlyAndNamedInTheContactSheet() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try await SimulatedWorkerSession.register("node-1", on: farm)
        let job = try await farm.submit(["file": "/tmp/shot.blend", "frames": "1-4", "chunk": 2])
        let task = try #require(try await worker.takeTask())
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 40))
        _ = try await worker.client.post(
            "/worker/preview", WorkerProtocol.FramePreview(sender: worker.sender, taskID: task.taskID, frame: 2, image: png),
            as: WorkerProtocol.Acknowledgement.self)

        let sheet = try JSONValue.parse(Data(try await get(farm, "/jobs/\(job)/frames", token: farm.adminToken).body))
        #expect(sheet["frames"] == [1, 2, 3, 4])
        let version = try #require(sheet["previews"]?["2"]?.intValue)
        #expect(try await get(farm, "/jobs/\(job)/frames/2/preview").status == 401)
        let image = try await get(farm, "/jobs/\(job)/frames/2/preview?v=\(version)", token: farm.adminToken)
        #expect(image.status == 200)
        #expect(image.headers["content-type"].first == "image/png")
        #expect(image.headers["cache-control"].first == "private, max-age=31536000, immutable")
        #expect(Data(image.body) == png)
        #expect(try await get(farm, "/jobs/\(job)/frames/1/preview", token: farm.adminToken).status == 404)
        #expect(try await get(farm, "/jobs/999/frames", token: farm.adminToken).status == 404)

        // Only the client that has the task may send its previews.
        let stranger = try await SimulatedWorkerSession.register("node-2", on: farm)
        await #expect(throws: ClientError.self) {
            _ = try await stranger.client.post(
                "/worker/preview", WorkerProtocol.FramePreview(sender: stranger.sender, taskID: task.taskID, frame: 1, image: png),
                as: WorkerProtocol.Acknowledgement.self)
        }
    }
}
