import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection over SwiftNIO, used for one request at a time.
///
/// Cheap per request (measured: about a fifth of URLSession's CPU), for processes that talk to
/// the server all the time: workers, and the benchmark's simulated workers.
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
    /// - Parameter token: sent as `Authorization: Bearer TOKEN` with every request.
    public static func with<T: Sendable>(
        host: String = "127.0.0.1", port: Int, token: String? = nil, _ body: (inout HTTP1Connection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = HTTP1Connection(inbound: inbound.makeAsyncIterator(), outbound: outbound, host: host)
            connection.authorization = token.map { "Bearer \($0)" }
            return try await body(&connection)
        }
    }

    /// Sends one request and reads the whole answer.
    public mutating func send(method: HTTPMethod, path: String, body: [UInt8]?) async throws -> (status: Int, headers: HTTPHeaders, body: [UInt8]) {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        if let authorization { head.headers.add(name: "Authorization", value: authorization) }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.count))
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
        } else {
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
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
