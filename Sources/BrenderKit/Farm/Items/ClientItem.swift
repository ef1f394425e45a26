import FarmCore

/// The `client` item of the API: its fields and their values.
extension Client {
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
            FieldSpec("task", .integer(1...Int64.max), help: "The task the client runs, if any (with slots: its first busy slot's)."),
            FieldSpec("tasks", .ids, help: "Every task the client runs, in slot order."),
            FieldSpec("slots", .integer(1...Int64(Client.maxSlots)), help: "How many tasks the node runs at once (worker --slots or --gpus)."),
            FieldSpec("slots_busy", .integer(0...Int64(Client.maxSlots)), help: "How many of its slots run a task now."),
            FieldSpec(
                "schedule", .text(maxLength: 256), filterable: false, updatable: true,
                help: "Working hours, e.g. \"mo-fr 09:00-19:00\": no new tasks then; \"\" for none."),
            FieldSpec("time_zone", .text(maxLength: 64), filterable: false, help: "The worker's time zone, for its schedule."),
            FieldSpec("capabilities", .tags, help: "What the node can do besides rendering, e.g. ffmpeg."),
            FieldSpec("blender_versions", .tags, help: "The Blender versions the node has (from its capabilities)."),
            FieldSpec("registered_at", .timestamp, filterable: false, help: "When the node first registered."),
            FieldSpec("last_seen", .timestamp, filterable: false, help: "When the server last heard from the node."),
        ],
        searchFields: ["name", "hostname", "platform", "tags"]
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
        case "tasks": .array(runningTaskIDs.map(JSONValue.int))
        case "slots": .int(Int64(slots))
        case "slots_busy": .int(Int64(running.count))
        case "schedule": schedule.map { .string($0.description) } ?? .null
        case "time_zone": timeZone.isEmpty ? .null : .string(timeZone)
        case "capabilities": .array(capabilities.map(JSONValue.string))
        case "blender_versions": .array(BlenderVersions.offered(in: capabilities).map(JSONValue.string))
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
