import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One keep-alive HTTP/1.1 connection over SwiftNIO, used for one request at a time.
///
/// Cheap per request (measured: about a fifth of URLSession's CPU); ``BrenderClient`` keeps a
/// pool of them, and the benchmark's simulated workers use them directly.
public struct HTTP1Connection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private let host: String
    /// Sent as the `Authorization` header of every request (`Bearer TOKEN`), when set.
    public var authorization: String?

    /// A failure of the connection itself (not an HTTP error status).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Opens a connection to `host`:`port` and runs `body` with it; closes it afterwards.
    /// - Parameters:
    ///   - token: sent as `Authorization: Bearer TOKEN` with every request.
    ///   - tls: speak TLS with this context (an `https://` server); the certificate must be for
    ///     `host` (a name, or an IP address in the certificate's addresses).
    public static func with<T: Sendable>(
        host: String = "127.0.0.1", port: Int, token: String? = nil, tls: NIOSSLContext? = nil,
        _ body: (inout HTTP1Connection) async throws -> T
    ) async throws -> T {
        // A name goes in the handshake (SNI) and is checked against the certificate; an address
        // may not be sent, and is checked against the certificate's addresses.
        let address = try? SocketAddress(ipAddress: host, port: port)
        let serverName = address == nil ? host : nil
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
            }
        }
        // An address is connected to as it is; only a name goes through the resolver (and its
        // happy-eyeballs race between IPv6 and IPv4), which a command's start-up need not pay.
        let channel =
            if let address {
                try await bootstrap.connect(to: address, channelInitializer: initializer)
            } else {
                try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = HTTP1Connection(inbound: inbound.makeAsyncIterator(), outbound: outbound, host: host)
            connection.authorization = token.map { "Bearer \($0)" }
            return try await body(&connection)
        }
    }

    /// Sends one request and reads the whole answer.
    /// - Parameter headers: more header fields to send (names and values).
    public mutating func send(method: HTTPMethod, path: String, body: [UInt8]?, headers extra: [(String, String)] = []) async throws -> (
        status: Int, headers: HTTPHeaders, body: [UInt8]
    ) {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        if let authorization { head.headers.add(name: "Authorization", value: authorization) }
        for (name, value) in extra { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
            try await write([.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
        } else {
            try await write([.head(head), .end(nil)])
        }
        var status = 0
        var headers = HTTPHeaders()
        var answer: [UInt8] = []
        while let part = try await inbound.next() {
            switch part {
            case .head(let response):
                status = Int(response.status.code)
                headers = response.headers
            case .body(var buffer): answer += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end: return (status, headers, answer)
            }
        }
        throw Failure(description: "the server closed the connection")
    }

    /// Sends a GET and hands the answer's body to `chunk` piece by piece as it arrives, for an
    /// answer that does not end by itself (an event stream). Returns when the server ends it.
    /// - Parameter head: called with the status and headers before any of the body.
    public mutating func stream(
        _ path: String, headers extra: [(String, String)] = [], head: (Int, HTTPHeaders) throws -> Void,
        chunk: (ByteBuffer) async throws -> Void
    ) async throws {
        var request = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        request.headers.add(name: "Host", value: host)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        try await write([.head(request), .end(nil)])
        while let part = try await inbound.next() {
            switch part {
            case .head(let response): try head(Int(response.status.code), response.headers)
            case .body(let buffer): try await chunk(buffer)
            case .end: return
            }
        }
    }

    /// Writes a request. A write fails once the channel is closed; when it was closed by an error
    /// (a TLS handshake that failed: the server's certificate is not trusted), that error is
    /// what the read side holds, and it is the one thrown, whichever side saw the close first.
    private mutating func write(_ parts: [HTTPClientRequestPart]) async throws {
        do {
            try await outbound.write(contentsOf: parts)
        } catch {
            _ = try await inbound.next()
            throw error
        }
    }

    /// Posts JSON bytes; returns the status and body.
    public mutating func post(_ path: String, _ body: [UInt8]) async throws -> (Int, [UInt8]) {
        let answer = try await send(method: .POST, path: path, body: body)
        return (answer.status, answer.body)
    }

    /// Posts a protocol message and decodes the answer; a non-2xx status is a failure.
    public mutating func post<Body: JSONConvertible, Reply: JSONConvertible>(_ path: String, _ body: Body, as reply: Reply.Type) async throws -> Reply
    {
        let (status, bytes) = try await post(path, body.json.serializedBytes())
        guard (200..<300).contains(status) else {
            throw Failure(description: "\(path) answered \(status): \(String(decoding: bytes, as: UTF8.self))")
        }
        return try Reply(json: JSONValue.parse(Data(bytes)))
    }
}
