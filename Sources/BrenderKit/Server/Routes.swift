import FarmCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request's context: Hummingbird's, and the address it came from (failed credentials are
/// counted per address).
struct BrenderRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The server's HTTP surface: the admin API, the worker protocol, task logs, the event stream,
/// frame previews and the health check (the dashboard's files are ``DashboardRoutes``').
///
/// `/api`, the logs and the event stream need the admin token or a named token (its role limits what `/api` may
/// change, see ``AccessPolicy``); registering a worker needs the join token (or the admin
/// token); the rest of the worker protocol is authenticated by each worker's own key, which
/// only a registered worker has. `/health` is open.
struct Routes: Sendable {
    let farm: Farm
    let maxBodySize: Int
    let startedAt: Double
    let gate: AuthGate

    /// Who sent the request, by its token; nil when the token is missing or wrong.
    private func principal(_ request: Request, _ context: BrenderRequestContext) async -> Principal? {
        await gate.principal(request.headers[.authorization], from: context.remoteAddress?.ipAddress ?? "unknown")
    }

    /// The 401 answer to a request without a right token.
    private static func unauthorized(needing what: String) -> Response {
        var response = Routes.json(
            APIError(
                .unauthorized,
                "missing or wrong credentials: send \(what) as 'Authorization: Bearer TOKEN'; 'brender server token show' prints the tokens on the server machine",
                field: "authorization"
            ).json, status: .unauthorized)
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    static let tokenNeeded = "the admin token or a named token (--token or BRENDER_TOKEN)"

    func register(on router: Router<BrenderRequestContext>) {
        router.post("/api") { request, context in
            guard let principal = await principal(request, context) else { return Routes.unauthorized(needing: Routes.tokenNeeded) }
            return await respond { () async throws(APIError) -> JSONValue in
                let body = try await collect(request)
                let apiRequest = try APIRequest(body: body)
                return try await farm.handle(apiRequest, by: principal).json
            }
        }
        for method: HTTPRequest.Method in [.get, .put, .delete, .patch] {
            router.on("/api", method: method) { _, _ in
                var response = Routes.json(
                    APIError(.methodNotAllowed, "use POST for /api, with a JSON body {\"item\", \"action\", \"filters\", \"values\"}").json,
                    status: .methodNotAllowed)
                response.headers[.allow] = "POST"
                return response
            }
        }
        router.get("/health") { _, _ in
            let storage = await farm.storageStatus()
            return Routes.json(
                [
                    "ok": true, "version": .string(BrenderVersion.current),
                    "uptime_seconds": .double(((Timestamp.now - startedAt) * 1000).rounded() / 1000),
                    "storage": [
                        "directory": .string(storage.directory), "free_bytes": storage.freeBytes.map { .int(Int64($0)) } ?? .null,
                        "low": .bool(storage.low),
                    ],
                ], status: .ok)
        }
        router.post("/worker/register") { request, context in
            guard await gate.admitsWorker(request.headers[.authorization], from: context.remoteAddress?.ipAddress ?? "unknown") else {
                return Routes.unauthorized(needing: "the worker join token (--join-token or --join-token-file)")
            }
            return await respond { () async throws(APIError) -> JSONValue in
                let registration = try await decode(WorkerProtocol.Registration.self, from: request)
                return try await farm.register(registration).json
            }
        }
        router.post("/worker/heartbeat") { request, _ in
            await respond { () async throws(APIError) -> JSONValue in
                let reference = try await decode(WorkerProtocol.ClientReference.self, from: request)
                return try await farm.heartbeat(reference.sender).json
            }
        }
        router.post("/worker/task") { request, _ in
            await respond { () async throws(APIError) -> JSONValue in
                let taskRequest = try await decode(WorkerProtocol.TaskRequest.self, from: request)
                let task = try await farm.requestTask(
                    taskRequest.sender, wait: taskRequest.wait, warmJob: taskRequest.warmJob, slot: taskRequest.slot)
                return WorkerProtocol.TaskReply(task: task).json
            }
        }
        router.post("/worker/task/update") { request, _ in
            await respond { () async throws(APIError) -> JSONValue in
                let update = try await decode(WorkerProtocol.TaskUpdate.self, from: request)
                return try await farm.updateTask(update).json
            }
        }
        // A task's log as plain text from byte `offset`; headers give the next offset and the task's status.
        router.get("/logs/task/:id") { request, context in
            guard await principal(request, context) != nil else { return Routes.unauthorized(needing: Routes.tokenNeeded) }
            guard let id = context.parameters.get("id").flatMap(Int64.init) else {
                return Routes.json(APIError(.invalidValue, "the task id must be a number", field: "id").json, status: .badRequest)
            }
            let offsetText = request.uri.queryParameters.get("offset") ?? "0"
            guard let offset = Int(offsetText), offset >= 0 else {
                return Routes.json(
                    APIError(.invalidValue, "offset must be a whole number of bytes, 0 or more, not '\(offsetText.prefix(64))'", field: "offset")
                        .json,
                    status: .badRequest)
            }
            guard let (data, status) = await farm.taskLog(taskID: id, offset: offset) else {
                return Routes.json(APIError(.notFound, "there is no task \(id)", field: "id").json, status: .notFound)
            }
            var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
            headers[HTTPField.Name("X-Brender-Next-Offset")!] = String(offset + data.count)
            headers[HTTPField.Name("X-Brender-Task-Status")!] = status.rawValue
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/events") { request, context in
            guard await principal(request, context) != nil else { return Routes.unauthorized(needing: Routes.tokenNeeded) }
            let query: EventStream.Query
            do throws(APIError) {
                query = try EventStream.Query(
                    jobParameters: request.uri.queryParameters.getAll("job").map { String($0) },
                    since: request.uri.queryParameters.get("since"), lastEventID: request.headers[HTTPField.Name("Last-Event-ID")!])
            } catch {
                return Routes.json(error.json, status: .init(code: error.httpStatus))
            }
            return EventStream(hub: farm.events).response(query)
        }
        // Who the token is: the dashboard shows the name and offers only what the role may do.
        router.get("/session") { request, context in
            guard let principal = await principal(request, context) else { return Routes.unauthorized(needing: Routes.tokenNeeded) }
            var response = Routes.json(["name": .string(principal.name), "role": .string(principal.role.rawValue)], status: .ok)
            response.headers[.cacheControl] = "no-store"
            return response
        }
        router.post("/worker/preview") { request, _ in
            await respond { () async throws(APIError) -> JSONValue in
                try await farm.storePreview(decode(WorkerProtocol.FramePreview.self, from: request))
                return WorkerProtocol.Acknowledgement().json
            }
        }
        // A job's contact sheet: its frames, which are rendered, which have a preview.
        router.get("/jobs/:id/frames") { request, context in
            guard await principal(request, context) != nil else { return Routes.unauthorized(needing: Routes.tokenNeeded) }
            guard let id = context.parameters.get("id").flatMap(Int64.init) else {
                return Routes.json(APIError(.invalidValue, "the job id must be a number", field: "id").json, status: .badRequest)
            }
            guard let sheet = await farm.contactSheet(jobID: id) else {
                return Routes.json(APIError(.notFound, "there is no job \(id)", field: "id").json, status: .notFound)
            }
            var response = Routes.json(sheet, status: .ok)
            response.headers[.cacheControl] = "no-store"
            return response
        }
        // A frame's preview image; `?v=` (the time it was stored, from the sheet) makes the URL
        // change when the frame is rendered again, so the image can be cached for good.
        router.get("/jobs/:id/frames/:frame/preview") { request, context in
            guard await principal(request, context) != nil else { return Routes.unauthorized(needing: Routes.tokenNeeded) }
            guard let id = context.parameters.get("id").flatMap(Int64.init), let frame = context.parameters.get("frame").flatMap(Int.init) else {
                return Routes.json(APIError(.invalidValue, "the job id and frame must be numbers", field: "frame").json, status: .badRequest)
            }
            guard let preview = await farm.preview(jobID: id, frame: frame) else {
                return Routes.json(APIError(.notFound, "job \(id) has no preview of frame \(frame)", field: "frame").json, status: .notFound)
            }
            var headers: HTTPFields = [.contentType: preview.kind.contentType]
            headers[.cacheControl] = request.uri.queryParameters.get("v") != nil ? "private, max-age=31536000, immutable" : "private, no-cache"
            headers[.eTag] = "\"\(id)-\(frame)-\(Int64(preview.modified * 1000))\""
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            if request.headers[.ifNoneMatch] == headers[.eTag] { return Response(status: .notModified, headers: headers) }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: preview.data)))
        }
        // The Prometheus text format; any token (a read-only one suits a scraper).
        router.get("/metrics") { request, context in
            guard await principal(request, context) != nil else { return Routes.unauthorized(needing: Routes.tokenNeeded) }
            let text = farm.metrics.exposition(farm: await farm.gauges())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/worker/signoff") { request, _ in
            await respond { () async throws(APIError) -> JSONValue in
                let reference = try await decode(WorkerProtocol.ClientReference.self, from: request)
                try await farm.signOff(reference.sender)
                return WorkerProtocol.Acknowledgement().json
            }
        }
    }

    /// Runs a handler and turns its result or its ``APIError`` into a JSON response.
    private func respond(_ body: () async throws(APIError) -> JSONValue) async -> Response {
        do {
            return Routes.json(try await body(), status: .ok)
        } catch {
            return Routes.json(error.json, status: .init(code: error.httpStatus))
        }
    }

    private func collect(_ request: Request) async throws(APIError) -> Data {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: maxBodySize)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.payloadTooLarge, "the request body is larger than the limit of \(maxBodySize) bytes")
        } catch {
            throw APIError(.invalidRequest, "the request body could not be read (\(error))")
        }
    }

    private func decode<T: JSONConvertible>(_ type: T.Type, from request: Request) async throws(APIError) -> T {
        let body = try await collect(request)
        let json: JSONValue
        do {
            json = try JSONValue.parse(body)
        } catch {
            throw APIError(.invalidJSON, "the request body is not valid JSON (\(error))")
        }
        return try T(json: json)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        var bytes = value.serializedBytes()
        bytes.append(UInt8(ascii: "\n"))
        let buffer = ByteBuffer(bytes: bytes)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}
