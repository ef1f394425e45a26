import BrenderKit
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection to the server, for simulated workers: cheap enough that a
/// thousand of them in this process measure the server, not the client.
struct LoopbackConnection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Opens a connection to 127.0.0.1:`port` and runs `body` with it; closes it afterwards.
    static func with<T: Sendable>(port: Int, _ body: (inout LoopbackConnection) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = LoopbackConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }

    /// Posts JSON and decodes the answer; a non-2xx status is a failure.
    mutating func post<Body: JSONConvertible, Reply: JSONConvertible>(_ path: String, _ body: Body, as reply: Reply.Type) async throws -> Reply {
        let (status, bytes) = try await post(path, body.json.serializedBytes())
        guard (200..<300).contains(status) else {
            throw Failure(description: "\(path) answered \(status): \(String(decoding: bytes, as: UTF8.self))")
        }
        return try Reply(json: JSONValue.parse(Data(bytes)))
    }

    mutating func post(_ path: String, _ body: [UInt8]) async throws -> (Int, [UInt8]) {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.count))
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
        var status = 0
        var answer: [UInt8] = []
        while let part = try await inbound.next() {
            switch part {
            case .head(let response): status = Int(response.status.code)
            case .body(var buffer): answer += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end: return (status, answer)
            }
        }
        throw Failure(description: "the server closed the connection")
    }
}
