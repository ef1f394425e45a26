import FarmCore

/// The `task` item of the API: its fields and their values. The rules of its status are
/// ``TaskLifecycle``'s.
extension RenderTask {
    public static let schema = ItemSchema(
        item: "task",
        actions: ["read", "update"],
        fields: [
            FieldSpec("id", .integer(1...Int64.max), help: "The task's number."),
            FieldSpec("job", .integer(1...Int64.max), help: "The job it belongs to."),
            FieldSpec("role", .choice(Role.allCases.map(\.rawValue)), help: "render, or video (encodes the job's frames)."),
            FieldSpec("status", .choice(TaskStatus.allCases.map(\.rawValue)), updatable: true, help: "Set queued to requeue."),
            FieldSpec("slow", .boolean, help: "Running far longer than its job's median task."),
            FieldSpec("frames", .text(maxLength: 64), filterable: false, help: "Its frames, e.g. 1-5."),
            FieldSpec("frame_start", .integer(0...Int64(FrameSpec.maxFrame)), filterable: false, help: "First frame."),
            FieldSpec("frame_end", .integer(0...Int64(FrameSpec.maxFrame)), filterable: false, help: "Last frame."),
            FieldSpec("frame_count", .integer(0...Int64.max), filterable: false, help: "Frames in the task."),
            FieldSpec("frames_done", .integer(0...Int64.max), filterable: false, help: "Frames rendered and verified."),
            FieldSpec("client", .integer(0...Int64.max), help: "The client running it or that ran it last."),
            FieldSpec("attempts", .integer(0...Int64.max), filterable: false, help: "Times it was started."),
            FieldSpec("failures", .integer(0...Int64.max), filterable: false, help: "Failed attempts."),
            FieldSpec("started_at", .timestamp, filterable: false, help: "When the current or last attempt started."),
            FieldSpec("finished_at", .timestamp, filterable: false, help: "When it last finished."),
            FieldSpec("error", .text(maxLength: 4096), filterable: false, help: "Why the last attempt failed, or why it was canceled."),
        ],
        searchFields: ["error"]
    )
}

/// A task as the API shows it.
struct TaskItem {
    let task: RenderTask
    let runtime: JobRuntime
    let context: ItemContext

    func value(of field: String) -> JSONValue {
        switch field {
        case "id": .int(task.id)
        case "job": .int(task.jobID)
        case "role": .string(task.role.rawValue)
        case "status": .string(task.status.rawValue)
        case "slow": .bool(context.isSlow(task, in: runtime))
        case "frames": .string(task.chunk.description)
        case "frame_start": .int(Int64(task.frameStart))
        case "frame_end": .int(Int64(task.frameEnd))
        case "frame_count": .int(Int64(task.frameCount))
        case "frames_done": .int(Int64(task.framesDone))
        case "client": task.clientID == 0 ? .null : .int(task.clientID)
        case "attempts": .int(Int64(task.lease))
        case "failures": .int(Int64(task.failures))
        case "started_at": task.startedAt == 0 ? .null : .string(Timestamp.format(task.startedAt))
        case "finished_at": task.finishedAt == 0 ? .null : .string(Timestamp.format(task.finishedAt))
        case "error": task.error.map(JSONValue.string) ?? .null
        default: .null
        }
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [:]
        for field in RenderTask.schema.fields { object[field.name] = value(of: field.name) }
        return .object(object)
    }
}
