import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Talks to a brender server over HTTP or HTTPS: the admin API for commands, the worker
/// protocol, task logs and the event stream.
///
/// Every request goes over a small pool of kept-alive SwiftNIO connections (``ConnectionPool``),
/// with TLS from swift-nio-ssl for `https://` servers. The command line used URLSession before;
/// linking it (FoundationNetworking, libcurl and some 40 shared libraries) cost most of a
/// command's start-up, and a request cost five times the CPU (`brender-bench --scenario client`).
public struct BrenderClient: Sendable {
    /// The server's base URL, without a trailing slash.
    public let serverURL: String
    /// The URL's path, when the server is behind a proxy under one ("" otherwise): every request
    /// path is under it.
    private let basePath: String
    private let pool: ConnectionPool

    /// - Parameters:
    ///   - token: the credential every request carries (the admin token, a named token, or a
    ///     worker's join token).
    ///   - trust: for `https://`: the certificate authorities to trust (PEM), instead of the system's.
    public init(server: String, token: String? = nil, trust certificateAuthorities: String? = nil) throws(ClientError) {
        var text = server
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), let host = url.host, !host.isEmpty,
            url.query == nil
        else {
            throw ClientError.invalidServerURL(server)
        }
        serverURL = text
        basePath = url.path
        var tls: NIOSSLContext?
        if scheme == "https" {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let certificateAuthorities {
                guard FileManager.default.isReadableFile(atPath: certificateAuthorities) else {
                    throw ClientError.invalidTrust(path: certificateAuthorities, detail: "cannot read the file")
                }
                configuration.trustRoots = .file(certificateAuthorities)
            }
            do {
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                throw ClientError.invalidTrust(path: certificateAuthorities ?? "the system's certificates", detail: "\(error)")
            }
        }
        pool = ConnectionPool(host: host, port: url.port ?? (scheme == "https" ? 443 : 80), token: token, tls: tls)
    }

    private init(serverURL: String, basePath: String, pool: ConnectionPool) {
        self.serverURL = serverURL
        self.basePath = basePath
        self.pool = pool
    }

    /// A client of the same server, with the same trust, whose requests carry `token` instead
    /// (connections of its own; the TLS setup, with its certificates, is shared).
    public func carrying(_ token: String?) -> BrenderClient {
        BrenderClient(serverURL: serverURL, basePath: basePath, pool: ConnectionPool(host: pool.host, port: pool.port, token: token, tls: pool.tls))
    }

    /// Sends one admin API request.
    public func send(_ request: APIRequest, timeout: Double = 30) async throws(ClientError) -> APIResponse {
        let json = try await post("/api", body: request.json.serializedBytes(), timeout: timeout)
        do {
            return try APIResponse(json: json)
        } catch {
            throw ClientError.invalidResponse(url: serverURL, detail: "no items in the answer")
        }
    }

    /// Posts a worker-protocol message and decodes the answer.
    public func post<Body: JSONConvertible, Reply: JSONConvertible>(
        _ path: String, _ body: Body, as reply: Reply.Type, timeout: Double = 30
    ) async throws(ClientError) -> Reply {
        let json = try await post(path, body: body.json.serializedBytes(), timeout: timeout)
        do {
            return try Reply(json: json)
        } catch {
            throw ClientError.invalidResponse(url: serverURL, detail: "unexpected answer to \(path): \(error.message)")
        }
    }

    /// `GET path`, answered with JSON.
    public func get(_ path: String, timeout: Double = 10) async throws(ClientError) -> JSONValue {
        try decode(await exchange(.GET, path, body: nil, timeout: timeout))
    }

    /// `GET path` answered with plain text, e.g. a task's log; returns the body and the response
    /// headers (names in lower case).
    public func getText(_ path: String, timeout: Double = 30) async throws(ClientError) -> (body: Data, headers: [String: String]) {
        let answer = try await exchange(.GET, path, body: nil, timeout: timeout)
        guard (200..<300).contains(answer.status) else { _ = try decode(answer); throw refusal(answer) }
        return (Data(answer.body), answer.headers)
    }

    /// Posts raw JSON and returns the answer's JSON, or throws the server's error.
    public func post(_ path: String, body: [UInt8], timeout: Double = 30) async throws(ClientError) -> JSONValue {
        try decode(await exchange(.POST, path, body: body, timeout: timeout))
    }

    /// Follows the server's event stream (`GET /events`) from after `lastEventID`, handing each
    /// event to `handle` as it arrives, until the server ends the stream or `handle` returns false.
    /// - Parameter opened: called once the server has started the stream (events from then on
    ///   reach `handle`).
    public func followEvents(
        jobs: [Int64] = [], after lastEventID: String? = nil, opened: () async throws -> Void = {},
        _ handle: (ServerSentEvent) async throws -> Bool
    ) async throws {
        let path = basePath + "/events" + (jobs.isEmpty ? "" : "?job=" + jobs.map(String.init).joined(separator: ","))
        var parser = ServerSentEventParser()
        do {
            try await pool.withDedicatedConnection { connection in
                var status = 0
                var started = false
                try await connection.stream(
                    path, headers: lastEventID.map { [("Last-Event-ID", $0)] } ?? [], head: { code, _ in status = code },
                    chunk: { buffer in
                        guard status == 200 else { throw EventStreamRefused(status: status, body: Array(buffer.readableBytesView)) }
                        do {
                            if !started {
                                // The first bytes: the server has subscribed this reader.
                                started = true
                                try await opened()
                            }
                            for event in parser.feed(buffer.readableBytesView) where try await !handle(event) { throw EventStreamDone() }
                        } catch let error as EventStreamDone {
                            throw error
                        } catch {
                            throw CallerError(error: error)
                        }
                    })
                // A refusal with no body at all reaches here without a chunk.
                if status != 200 { throw EventStreamRefused(status: status, body: []) }
            }
        } catch is EventStreamDone {
            return
        } catch let error as CallerError {
            // The caller's own error passes through as it is; it is no failure of the connection.
            throw error.error
        } catch let refused as EventStreamRefused {
            throw refusal(HTTPAnswer(status: refused.status, headers: [:], body: refused.body))
        } catch let error as ClientError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ClientError.unreachable(url: serverURL, reason: Self.reason(error))
        }
    }

    private struct EventStreamDone: Error {}
    private struct CallerError: Error {
        let error: any Error
    }
    private struct EventStreamRefused: Error {
        let status: Int
        let body: [UInt8]
    }

    private func exchange(_ method: HTTPMethod, _ path: String, body: [UInt8]?, timeout: Double) async throws(ClientError) -> HTTPAnswer {
        do {
            return try await pool.send(method: method, path: basePath + path, body: body, timeout: timeout)
        } catch {
            throw ClientError.unreachable(url: serverURL, reason: Task.isCancelled ? "canceled" : Self.reason(error))
        }
    }

    /// A connection failure in a few words a person can act on.
    static func reason(_ error: any Error) -> String {
        if error is RequestTimedOut { return "timed out" }
        if let error = error as? NIOSSLError {
            return switch error {
            case .handshakeFailed:
                "TLS handshake failed: the server's certificate is not trusted here (\(error)); if the server has a certificate of its own authority, give that authority's certificate with --ca FILE"
            default: "TLS failed: \(error)"
            }
        }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "TLS failed: the server's certificate is not for this host name (\(error)); use the name the certificate was made for in --server"
        }
        let text = "\(error)"
        if text.contains("refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        if text.contains("closed") || text.contains("reset") { return "connection lost" }
        if text.contains("timed out") || text.contains("connectTimeout") { return "timed out" }
        if text.contains("resolve") || text.contains("Name or service not known") || text.contains("dns") { return "host not found" }
        return text
    }

    private func decode(_ answer: HTTPAnswer) throws(ClientError) -> JSONValue {
        guard let json = try? JSONValue.parse(Data(answer.body)) else {
            throw ClientError.invalidResponse(url: serverURL, detail: "HTTP \(answer.status), not JSON")
        }
        if (200..<300).contains(answer.status) { return json }
        throw refusal(answer, json: json)
    }

    private func refusal(_ answer: HTTPAnswer, json: JSONValue? = nil) -> ClientError {
        let json = json ?? (try? JSONValue.parse(Data(answer.body)))
        guard let error = json?["error"]?.objectValue, let message = error["message"]?.stringValue else {
            return ClientError.invalidResponse(url: serverURL, detail: "HTTP \(answer.status) without an error message")
        }
        return ClientError.refused(
            status: answer.status, code: error["code"]?.stringValue ?? "", message: message, field: error["field"]?.stringValue)
    }
}
