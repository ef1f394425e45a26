/// A render node as the server knows it (the server calls a node a *client*).
public struct Client: Sendable {
    /// The admin's intent: may this node be given work?
    public enum Status: String, Sendable, CaseIterable { case enabled, disabled }
    /// Whether the node's worker is heard from.
    public enum Connection: String, Sendable, CaseIterable { case online, offline }
    /// Whether the node is running a task: derived from its task, never stored on its own.
    public enum Activity: String, Sendable, CaseIterable { case idle, busy }

    public var id: Int64
    public var name: String
    public var hostname: String
    public var platform: String
    public var tags: [String]
    public var status: Status
    public var connection: Connection
    public var activity: Activity
    /// The brender version the worker runs.
    public var version: String
    /// Seconds since 1970.
    public var registeredAt: Double
    /// Seconds since 1970 of the last heartbeat or request from the worker.
    public var lastSeen: Double
    /// The task the client runs, as (job, task); derived from the tasks, not stored with the client.
    public var currentTask: (jobID: Int64, taskID: Int64)?
    /// The digest (``keyDigest(_:)``) of the key of the worker process that holds this record:
    /// every worker request must carry the key. The key itself is never stored; neither is shown
    /// through the API.
    public var keyDigest: String = ""
    /// The process id of that worker, for messages to whoever is refused its name.
    public var pid: Int32 = 0
    /// Hours in which the node belongs to its user and takes no new tasks.
    public var schedule: WorkingHours?
    /// The worker's time zone (an identifier such as Europe/Amsterdam), for its schedule.
    public var timeZone: String = ""
    /// What the node can do besides rendering, e.g. `ffmpeg` (video tasks).
    public var capabilities: [String] = []
    /// The job whose file the worker's warm Blender has loaded, as it last said (memory only).
    public var warmJob: Int64?

    /// What is stored of a worker key.
    public static func keyDigest(_ key: String) -> String {
        SHA256.credentialDigest(key)
    }

    public init(
        id: Int64, name: String, hostname: String, platform: String, tags: [String], status: Status = .enabled,
        connection: Connection = .online, activity: Activity = .idle, version: String, registeredAt: Double, lastSeen: Double,
        keyDigest: String = "", pid: Int32 = 0
    ) {
        self.keyDigest = keyDigest
        self.pid = pid
        self.id = id
        self.name = name
        self.hostname = hostname
        self.platform = platform
        self.tags = tags
        self.status = status
        self.connection = connection
        self.activity = activity
        self.version = version
        self.registeredAt = registeredAt
        self.lastSeen = lastSeen
    }

}

extension Client: Equatable {
    /// Equal when every stored field is; the derived current task is not compared.
    public static func == (lhs: Client, rhs: Client) -> Bool {
        lhs.id == rhs.id && lhs.name == rhs.name && lhs.hostname == rhs.hostname && lhs.platform == rhs.platform
            && lhs.tags == rhs.tags && lhs.status == rhs.status && lhs.connection == rhs.connection && lhs.activity == rhs.activity
            && lhs.version == rhs.version && lhs.registeredAt == rhs.registeredAt && lhs.lastSeen == rhs.lastSeen
            && lhs.keyDigest == rhs.keyDigest && lhs.pid == rhs.pid && lhs.schedule == rhs.schedule && lhs.timeZone == rhs.timeZone
            && lhs.capabilities == rhs.capabilities
    }
}
