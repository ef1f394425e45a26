/// How `brender server` runs.
public struct ServerOptions: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    public var farm: Farm.Options
    public var synchronous: SQLiteDatabase.SynchronousMode
    /// Largest accepted request body, in bytes.
    public var maxBodySize: Int
    /// Serve HTTPS with this certificate chain and private key (PEM files); nil for plain HTTP.
    public var tls: (certificateChain: String, privateKey: String)?

    public init(
        host: String = "0.0.0.0", port: Int = 9999, dataDirectory: String = "brender-data", farm: Farm.Options = .init(),
        synchronous: SQLiteDatabase.SynchronousMode = .normal, maxBodySize: Int = 1 << 20
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.farm = farm
        self.synchronous = synchronous
        self.maxBodySize = maxBodySize
    }
}
