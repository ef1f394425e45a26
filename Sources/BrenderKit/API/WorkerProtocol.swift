/// The messages between `brender worker` and the server (`POST /worker/...`).
///
/// Separate from the admin API because a worker speaks for itself, not about items.
public enum WorkerProtocol {
    /// `POST /worker/register`: a worker announces itself. A known name re-attaches to its record.
    public struct Registration: Codable, Sendable, Equatable {
        public var name: String
        public var hostname: String
        public var platform: String
        /// The worker's tags; nil keeps the tags the record has.
        public var tags: [String]?
        public var version: String

        public init(name: String, hostname: String, platform: String, tags: [String]?, version: String) {
            self.name = name
            self.hostname = hostname
            self.platform = platform
            self.tags = tags
            self.version = version
        }
    }

    /// The server's answer to a registration.
    public struct Registered: Codable, Sendable, Equatable {
        public var clientID: Int64
        public var name: String
        /// Seconds between heartbeats the server expects.
        public var heartbeatInterval: Double

        public init(clientID: Int64, name: String, heartbeatInterval: Double) {
            self.clientID = clientID
            self.name = name
            self.heartbeatInterval = heartbeatInterval
        }

        enum CodingKeys: String, CodingKey {
            case clientID = "client_id"
            case name
            case heartbeatInterval = "heartbeat_interval"
        }
    }

    /// `POST /worker/heartbeat` and `POST /worker/signoff`.
    public struct ClientReference: Codable, Sendable, Equatable {
        public var clientID: Int64

        public init(clientID: Int64) { self.clientID = clientID }

        enum CodingKeys: String, CodingKey { case clientID = "client_id" }
    }

    /// The server's answer to a heartbeat.
    public struct HeartbeatReply: Codable, Sendable, Equatable {
        public var heartbeatInterval: Double

        public init(heartbeatInterval: Double) { self.heartbeatInterval = heartbeatInterval }

        enum CodingKeys: String, CodingKey { case heartbeatInterval = "heartbeat_interval" }
    }
}
