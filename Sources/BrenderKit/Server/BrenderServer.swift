import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import UnixSignals

/// `brender server`: the farm behind an HTTP JSON API.
public struct BrenderServer: Sendable {
    public let options: ServerOptions
    public let logger: Logger

    public init(options: ServerOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting requests, finishes those in flight,
    /// checkpoints the database and returns.
    ///
    /// - Parameter onListening: called with the bound port once the server accepts connections.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let dataDirectory = try DataDirectory(path: options.dataDirectory)
        let farm = try Farm(
            databasePath: dataDirectory.databasePath, options: options.farm, synchronous: options.synchronous, logger: logger)
        let startedAt = Timestamp.now
        let tokens = try ServerTokens(dataDirectory: dataDirectory.url)

        let router = Router(context: BrenderRequestContext.self)
        router.middlewares.add(LogRequestsMiddleware(.debug))
        router.middlewares.add(MetricsMiddleware(metrics: farm.metrics))
        router.middlewares.add(CrossSiteGuard())
        Routes(farm: farm, maxBodySize: options.maxBodySize, startedAt: startedAt, gate: AuthGate(tokens: tokens)).register(on: router)
        DashboardRoutes().register(on: router)

        let host = options.host
        let logger = self.logger
        let notifier = SystemdNotifier()
        let app = Application(
            router: router,
            server: try Self.httpServer(tls: options.tls),
            configuration: .init(address: .hostname(host, port: options.port), serverName: "brender/\(BrenderVersion.current)"),
            services: [
                FarmMaintenanceService(farm: farm, interval: .milliseconds(Int64(min(1000, options.farm.workerTimeout * 250))))
            ],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("brender server listening", metadata: ["address": "\(host):\(port)", "data": "\(dataDirectory.url.path)"])
                notifier.ready(status: "serving on \(host):\(port)")
                onListening(port)
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    logger.info("shutting down", metadata: ["signal": "\(signal)"])
                    notifier.stopping(status: "stopping: finishing the requests in flight")
                    await farm.beginShutdown()  // end long polls so in-flight requests finish now
                    await group.triggerGracefulShutdown()
                    break
                }
            }
            try await group.run()
            tasks.cancelAll()
        }
        await farm.close()
        withExtendedLifetime(dataDirectory) {}
        logger.info("brender server stopped")
    }

    /// HTTP/1.1, over TLS when a certificate and key are given.
    static func httpServer(tls: (certificateChain: String, privateKey: String)?) throws -> HTTPServerBuilder {
        guard let tls else { return .http1() }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChain)
        } catch {
            throw TLSSetupError(message: "cannot read the certificate chain \(tls.certificateChain) (\(error)); give a PEM file with --tls-cert")
        }
        guard !chain.isEmpty else { throw TLSSetupError(message: "\(tls.certificateChain) holds no PEM certificate; give one with --tls-cert") }
        do {
            key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)
        } catch {
            throw TLSSetupError(message: "cannot read the private key \(tls.privateKey) (\(error)); give a PEM key file with --tls-key")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        return try .tls(.http1(), tlsConfiguration: configuration)
    }

    /// The certificate or key for HTTPS cannot be used.
    public struct TLSSetupError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
