import Foundation
import NIOHTTP1

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Talks to a brender server over HTTP: the admin API for commands, and the worker protocol.
///
/// One-shot commands use URLSession (libcurl on Linux: no build cost, and it reaches an HTTPS
/// reverse proxy). A worker, which talks to the server all the time, asks for kept-alive
/// connections: with a plain `http://` server they go over a small NIO connection pool, which
/// costs about a fifth of URLSession's CPU a request (`brender-bench --scenario client`).
public struct BrenderClient: Sendable {
    /// The server's base URL, without a trailing slash.
    public let serverURL: String
    private let session: URLSession
    private let pool: ConnectionPool?
    /// Sent as `Authorization: Bearer TOKEN` with every request, when set.
    private let token: String?

    /// - Parameters:
    ///   - keepAlive: keep connections open between requests (for workers).
    ///   - token: the credential every request carries (the admin token, or a worker's join token).
    public init(server: String, keepAlive: Bool = false, token: String? = nil) throws(ClientError) {
        self.token = token
        var text = server
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ClientError.invalidServerURL(server)
        }
        serverURL = text
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        session = URLSession(configuration: configuration)
        if keepAlive, scheme == "http", let host = url.host {
            pool = ConnectionPool(host: host, port: url.port ?? 80, token: token)
        } else {
            pool = nil
        }
    }

    /// Sends one admin API request.
    public func send(_ request: APIRequest, timeout: Double = 30) async throws(ClientError) -> APIResponse {
        let json = try await post("/api", body: Data(request.json.serializedBytes()), timeout: timeout)
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
        let json = try await post(path, body: Data(body.json.serializedBytes()), timeout: timeout)
        do {
            return try Reply(json: json)
        } catch {
            throw ClientError.invalidResponse(url: serverURL, detail: "unexpected answer to \(path): \(error.message)")
        }
    }

    /// `GET path`, answered with JSON.
    public func get(_ path: String, timeout: Double = 10) async throws(ClientError) -> JSONValue {
        if let pool { return try decodeAnswer(await send(pool, method: .GET, path: path, body: nil, timeout: timeout)) }
        var request = URLRequest(url: URL(string: serverURL + path)!)
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return try await perform(request)
    }

    /// `GET path` answered with plain text, e.g. a task's log; returns the body and response headers.
    public func getText(_ path: String, timeout: Double = 30) async throws(ClientError) -> (body: Data, headers: [String: String]) {
        var request = URLRequest(url: URL(string: serverURL + path)!)
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await fetch(request)
        guard let http = response as? HTTPURLResponse else {
            throw ClientError.invalidResponse(url: serverURL, detail: "not an HTTP answer")
        }
        guard (200..<300).contains(http.statusCode) else {
            let json = try? JSONValue.parse(data)
            throw ClientError.refused(
                status: http.statusCode, code: json?["error"]?["code"]?.stringValue ?? "",
                message: json?["error"]?["message"]?.stringValue ?? "HTTP \(http.statusCode)", field: nil)
        }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        return (data, headers)
    }

    /// Posts raw JSON and returns the answer's JSON, or throws the server's error.
    public func post(_ path: String, body: Data, timeout: Double = 30) async throws(ClientError) -> JSONValue {
        if let pool { return try decodeAnswer(await send(pool, method: .POST, path: path, body: Array(body), timeout: timeout)) }
        var request = URLRequest(url: URL(string: serverURL + path)!)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return try await perform(request)
    }

    private func send(_ pool: ConnectionPool, method: HTTPMethod, path: String, body: [UInt8]?, timeout: Double) async throws(ClientError)
        -> HTTPAnswer
    {
        do {
            return try await pool.send(method: method, path: path, body: body, timeout: timeout)
        } catch {
            let text = "\(error)"
            let reason =
                error is RequestTimedOut
                ? "timed out"
                : text.contains("refused") ? "connection refused" : Task.isCancelled ? "canceled" : text.contains("closed") ? "connection lost" : text
            throw ClientError.unreachable(url: serverURL, reason: reason)
        }
    }

    private func decodeAnswer(_ answer: HTTPAnswer) throws(ClientError) -> JSONValue {
        try decode(status: answer.status, data: Data(answer.body))
    }

    private func perform(_ request: URLRequest) async throws(ClientError) -> JSONValue {
        let (data, response) = try await fetch(request)
        return try decode(status: (response as? HTTPURLResponse)?.statusCode ?? 0, data: data)
    }

    /// Runs a URLSession request; a failure to get any answer says the server is unreachable, and why.
    private func fetch(_ request: URLRequest) async throws(ClientError) -> (Data, URLResponse) {
        do {
            return try await session.data(for: request)
        } catch let error as URLError {
            throw ClientError.unreachable(url: serverURL, reason: Self.reason(error))
        } catch {
            throw ClientError.unreachable(url: serverURL, reason: "\(error)")
        }
    }

    private func decode(status: Int, data: Data) throws(ClientError) -> JSONValue {
        guard let json = try? JSONValue.parse(data) else {
            throw ClientError.invalidResponse(url: serverURL, detail: "HTTP \(status), not JSON")
        }
        if (200..<300).contains(status) { return json }
        guard let error = json["error"]?.objectValue, let message = error["message"]?.stringValue else {
            throw ClientError.invalidResponse(url: serverURL, detail: "HTTP \(status) without an error message")
        }
        throw ClientError.refused(
            status: status, code: error["code"]?.stringValue ?? "", message: message, field: error["field"]?.stringValue)
    }

    static func reason(_ error: URLError) -> String {
        switch error.code {
        case .cannotConnectToHost: "connection refused"
        case .timedOut: "timed out"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        case .networkConnectionLost: "connection lost"
        case .notConnectedToInternet: "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate: "TLS handshake failed"
        default: error.localizedDescription
        }
    }
}
