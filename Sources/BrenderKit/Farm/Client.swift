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
    /// The key of the worker process that holds this record: every worker request must carry it.
    /// Never shown through the API.
    public var key: String = ""
    /// The process id of that worker, for messages to whoever is refused its name.
    public var pid: Int32 = 0

    public init(
        id: Int64, name: String, hostname: String, platform: String, tags: [String], status: Status = .enabled,
        connection: Connection = .online, activity: Activity = .idle, version: String, registeredAt: Double, lastSeen: Double,
        key: String = "", pid: Int32 = 0
    ) {
        self.key = key
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

    /// The `client` item of the API.
    public static let schema = ItemSchema(
        item: "client",
        actions: ["read", "update", "delete"],
        fields: [
            FieldSpec("id", .integer(1...Int64.max), help: "The client's number, given by the server."),
            FieldSpec("name", .name, updatable: true, help: "Unique name; defaults to the node's host name."),
            FieldSpec("hostname", .text(maxLength: 255), help: "The node's host name."),
            FieldSpec("platform", .text(maxLength: 64), help: "Operating system and architecture, e.g. linux-x86_64."),
            FieldSpec("tags", .tags, updatable: true, help: "Labels that jobs can require."),
            FieldSpec("status", .choice(Status.allCases.map(\.rawValue)), updatable: true, help: "enabled or disabled: may the node get work."),
            FieldSpec("connection", .choice(Connection.allCases.map(\.rawValue)), help: "online or offline."),
            FieldSpec("activity", .choice(Activity.allCases.map(\.rawValue)), help: "idle or busy."),
            FieldSpec("version", .text(maxLength: 64), help: "The worker's brender version."),
            FieldSpec("task", .integer(1...Int64.max), help: "The task the client runs, if any."),
            FieldSpec("registered_at", .timestamp, filterable: false, help: "When the node first registered."),
            FieldSpec("last_seen", .timestamp, filterable: false, help: "When the server last heard from the node."),
        ]
    )

    /// A field's value as the API shows it, for filters and output.
    public func value(of field: String) -> JSONValue {
        switch field {
        case "id": .int(id)
        case "name": .string(name)
        case "hostname": .string(hostname)
        case "platform": .string(platform)
        case "tags": .array(tags.map(JSONValue.string))
        case "status": .string(status.rawValue)
        case "connection": .string(connection.rawValue)
        case "activity": .string(activity.rawValue)
        case "version": .string(version)
        case "task": currentTask.map { .int($0.taskID) } ?? .null
        case "registered_at": .string(Timestamp.format(registeredAt))
        case "last_seen": .string(Timestamp.format(lastSeen))
        default: .null
        }
    }

    /// The client as an API item.
    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        for field in Client.schema.fields { object[field.name] = value(of: field.name) }
        return .object(object)
    }
}

extension Client: Equatable {
    /// Equal when every stored field is; the derived current task is not compared.
    public static func == (lhs: Client, rhs: Client) -> Bool {
        lhs.id == rhs.id && lhs.name == rhs.name && lhs.hostname == rhs.hostname && lhs.platform == rhs.platform
            && lhs.tags == rhs.tags && lhs.status == rhs.status && lhs.connection == rhs.connection && lhs.activity == rhs.activity
            && lhs.version == rhs.version && lhs.registeredAt == rhs.registeredAt && lhs.lastSeen == rhs.lastSeen
            && lhs.key == rhs.key && lhs.pid == rhs.pid
    }
}
