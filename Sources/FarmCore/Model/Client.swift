/// A render node as the server knows it (the server calls a node a *client*).
public struct Client: Sendable {
    /// The admin's intent: may this node be given work?
    public enum Status: String, Sendable, CaseIterable { case enabled, disabled }
    /// Whether the node's worker is heard from.
    public enum Connection: String, Sendable, CaseIterable { case online, offline }
    /// Whether the node is running a task: derived from its tasks, never stored on its own.
    public enum Activity: String, Sendable, CaseIterable { case idle, busy }
    /// A task the client runs in one of its slots.
    public struct RunningTask: Sendable, Equatable {
        public var jobID: Int64
        public var taskID: Int64

        public init(jobID: Int64, taskID: Int64) {
            self.jobID = jobID
            self.taskID = taskID
        }
    }
    /// The most tasks one client may run at once (`brender worker --slots`).
    public static let maxSlots = 64

    public var id: Int64
    public var name: String
    public var hostname: String
    public var platform: String
    public var tags: [String]
    public var status: Status
    public var connection: Connection
    /// Busy while it runs a task in any of its slots.
    public var activity: Activity { running.isEmpty ? .idle : .busy }
    /// The brender version the worker runs.
    public var version: String
    /// Seconds since 1970.
    public var registeredAt: Double
    /// Seconds since 1970 of the last heartbeat or request from the worker.
    public var lastSeen: Double
    /// How many tasks the node runs at once: one per slot (`worker --slots N`, or one per GPU).
    public var slots: Int = 1
    /// The tasks the client runs, by slot (0 up to `slots - 1`); derived from the tasks, not
    /// stored with the client.
    public var running: [Int: RunningTask] = [:]
    /// The task in its first busy slot: the only one a single-slot client has.
    public var currentTask: RunningTask? { running.min { $0.key < $1.key }?.value }
    /// The running tasks' ids, in slot order.
    public var runningTaskIDs: [Int64] { running.sorted { $0.key < $1.key }.map(\.value.taskID) }
    /// Whether `slot` is one of the client's and runs nothing.
    public func isFree(slot: Int) -> Bool { slot >= 0 && slot < slots && running[slot] == nil }
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
    public init(
        id: Int64, name: String, hostname: String, platform: String, tags: [String], status: Status = .enabled,
        connection: Connection = .online, version: String, registeredAt: Double, lastSeen: Double,
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
        self.version = version
        self.registeredAt = registeredAt
        self.lastSeen = lastSeen
    }

}

extension Client: Equatable {
    /// Equal when every stored field is; the derived running tasks are not compared.
    public static func == (lhs: Client, rhs: Client) -> Bool {
        lhs.id == rhs.id && lhs.name == rhs.name && lhs.hostname == rhs.hostname && lhs.platform == rhs.platform
            && lhs.tags == rhs.tags && lhs.status == rhs.status && lhs.connection == rhs.connection && lhs.slots == rhs.slots
            && lhs.version == rhs.version && lhs.registeredAt == rhs.registeredAt && lhs.lastSeen == rhs.lastSeen
            && lhs.keyDigest == rhs.keyDigest && lhs.pid == rhs.pid && lhs.schedule == rhs.schedule && lhs.timeZone == rhs.timeZone
            && lhs.capabilities == rhs.capabilities
    }
}
