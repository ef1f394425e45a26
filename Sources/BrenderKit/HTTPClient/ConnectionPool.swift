import Foundation
import NIOHTTP1
import NIOSSL
import Synchronization

/// The answer to one HTTP request.
struct HTTPAnswer: Sendable {
    let status: Int
    let headers: [String: String]
    let body: [UInt8]
}

/// Keep-alive HTTP/1.1 connections to one server, each serving one request at a time, opened as
/// needed and reused while healthy. A worker holds a few at once: its long poll for work, its
/// heartbeats and its task reports.
final class ConnectionPool: Sendable {
    let host: String
    let port: Int
    let token: String?
    let tls: NIOSSLContext?
    private let idle = Mutex<[PooledConnection]>([])
    /// Idle connections kept open; more are closed after use.
    private let maxIdle = 4

    init(host: String, port: Int, token: String? = nil, tls: NIOSSLContext? = nil) {
        self.host = host
        self.port = port
        self.token = token
        self.tls = tls
    }

    /// Runs `body` on a connection of its own, closed afterwards: for an answer that does not
    /// end (an event stream), which would hold a pooled connection for good.
    func withDedicatedConnection<T: Sendable>(_ body: (inout HTTP1Connection) async throws -> T) async throws -> T {
        try await HTTP1Connection.with(host: host, port: port, token: token, tls: tls, body)
    }

    deinit {
        for connection in idle.withLock({ $0 }) { connection.close() }
    }

    /// Sends a request on an idle connection or a new one. A reused connection may have been
    /// closed by the server while idle (a restart, say); then the request goes once more on a new
    /// connection. Every request of the worker protocol may be repeated safely.
    func send(method: HTTPMethod, path: String, body: [UInt8]?, timeout: Double) async throws -> HTTPAnswer {
        let reused = idle.withLock { connections -> PooledConnection? in
            while let candidate = connections.popLast() {
                if candidate.isUsable { return candidate }
            }
            return nil
        }
        if let reused {
            do {
                return try await send(on: reused, method: method, path: path, body: body, timeout: timeout)
            } catch {
                if Task.isCancelled || error is RequestTimedOut { throw error }
            }
        }
        return try await send(
            on: PooledConnection(host: host, port: port, token: token, tls: tls), method: method, path: path, body: body, timeout: timeout)
    }

    private func send(on connection: PooledConnection, method: HTTPMethod, path: String, body: [UInt8]?, timeout: Double) async throws
        -> HTTPAnswer
    {
        do {
            let answer = try await connection.send(method: method, path: path, body: body, timeout: timeout)
            let kept = idle.withLock { connections -> Bool in
                guard connections.count < maxIdle, connection.isUsable else { return false }
                connections.append(connection)
                return true
            }
            if !kept { connection.close() }
            return answer
        } catch {
            connection.close()
            throw error
        }
    }
}

/// A request got no answer within its time-out.
struct RequestTimedOut: Error, CustomStringConvertible {
    var description: String { "timed out" }
}

/// One connection's task: it connects, then serves the exchange handed to it, one at a time.
private final class PooledConnection: Sendable {
    struct Exchange: Sendable {
        let method: HTTPMethod
        let path: String
        let body: [UInt8]?
        let continuation: CheckedContinuation<HTTPAnswer, any Error>
    }

    private struct State {
        var pending: Exchange?
        var dead = false
        var timedOut = false
    }

    /// The state, in a box the connection's task can share.
    private final class SharedState: Sendable {
        let mutex = Mutex(State())
        func withLock<T>(_ body: (inout State) -> T) -> T { mutex.withLock { body(&$0) } }
    }

    private let state = SharedState()
    private let signals: AsyncStream<Void>.Continuation
    private let task: Task<Void, Never>

    init(host: String, port: Int, token: String?, tls: NIOSSLContext?) {
        let (stream, signals) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.signals = signals
        let state = self.state
        task = Task {
            var failure: (any Error)?
            do {
                try await HTTP1Connection.with(host: host, port: port, token: token, tls: tls) { connection in
                    for await _ in stream {
                        guard let exchange = state.withLock({ $0.pending }) else { continue }
                        let answer = try await connection.send(method: exchange.method, path: exchange.path, body: exchange.body)
                        var headers: [String: String] = [:]
                        for (name, value) in answer.headers { headers[name.lowercased()] = value }
                        let taken = state.withLock { state -> Exchange? in
                            defer { state.pending = nil }
                            return state.pending
                        }
                        taken?.continuation.resume(returning: HTTPAnswer(status: answer.status, headers: headers, body: answer.body))
                        if answer.headers["connection"].contains(where: { $0.lowercased() == "close" }) { break }
                    }
                }
            } catch {
                failure = error
            }
            // The connection is gone: whatever was asked of it fails, and it is never used again.
            let leftover = state.withLock { state -> Exchange? in
                state.dead = true
                defer { state.pending = nil }
                return state.pending
            }
            let timedOut = state.withLock { $0.timedOut }
            leftover?.continuation.resume(
                throwing: timedOut ? RequestTimedOut() : failure ?? HTTP1Connection.Failure(description: "the server closed the connection"))
        }
    }

    var isUsable: Bool { state.withLock { !$0.dead && $0.pending == nil } }

    /// Sends one request; on time-out or cancellation of the caller, the connection is closed.
    func send(method: HTTPMethod, path: String, body: [UInt8]?, timeout: Double) async throws -> HTTPAnswer {
        let timer = Task { [weak self] in
            try await Task.sleep(for: .seconds(timeout))
            self?.state.withLock { $0.timedOut = true }
            self?.close()
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let accepted = state.withLock { state -> Bool in
                    guard !state.dead, state.pending == nil else { return false }
                    state.pending = Exchange(method: method, path: path, body: body, continuation: continuation)
                    return true
                }
                if accepted {
                    signals.yield()
                } else {
                    continuation.resume(throwing: HTTP1Connection.Failure(description: "the connection is closed"))
                }
            }
        } onCancel: {
            close()
        }
    }

    /// Closes the connection; a request in progress fails.
    func close() {
        signals.finish()
        task.cancel()
    }
}
