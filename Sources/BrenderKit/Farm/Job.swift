/// A render job: what to render and how it is split into tasks.
public struct Job: Sendable, Equatable {
    /// What the job's tasks run.
    public enum Kind: String, Sendable, CaseIterable {
        /// Blender renders the chunk's frames of a .blend file.
        case blender
        /// An arbitrary argv with `{start}`, `{end}` and `{frame}` placeholders.
        case command
    }

    public var id: Int64
    public var name: String
    public var kind: Kind
    public var status: JobStatus
    /// 0...100, higher first.
    public var priority: Int
    /// The .blend file (blender jobs).
    public var file: String
    /// The frame spec as submitted.
    public var frames: String
    public var chunkSize: Int
    /// Output path pattern with `#` for the frame number (blender jobs).
    public var output: String
    /// Blender's `-F` image format.
    public var format: String
    public var scene: String?
    /// The command (command jobs).
    public var argv: [String]
    /// Tags a client must all have to take this job's tasks.
    public var tags: [String]
    /// Failed attempts after which a task fails for good.
    public var maxAttempts: Int
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?

    /// The image formats a job may render, with the file extension Blender gives each.
    public static let formats: [String: String] = [
        "PNG": "png", "JPEG": "jpg", "OPEN_EXR": "exr", "OPEN_EXR_MULTILAYER": "exr", "TIFF": "tif", "BMP": "bmp",
        "TARGA": "tga", "TARGA_RAW": "tga", "HDR": "hdr", "WEBP": "webp", "JPEG2000": "jp2", "DPX": "dpx", "CINEON": "cin",
        "IRIS": "rgb",
    ]

    /// The `job` item of the API.
    public static let schema = ItemSchema(
        item: "job",
        actions: ["create", "read", "update", "delete"],
        fields: [
            FieldSpec("id", .integer(1...Int64.max), help: "The job's number."),
            FieldSpec("name", .text(maxLength: 128), updatable: true, help: "A name for people."),
            FieldSpec("type", .choice(Kind.allCases.map(\.rawValue)), help: "blender or command."),
            FieldSpec(
                "status", .choice(JobStatus.allCases.map(\.rawValue)), updatable: true,
                help: "Set paused to pause, queued to resume, canceled to cancel."),
            FieldSpec("priority", .integer(0...100), updatable: true, help: "0 to 100, higher first; default 50."),
            FieldSpec("file", .text(maxLength: 4096), help: "The .blend file."),
            FieldSpec("frames", .text(maxLength: 65536), filterable: false, help: "The frame spec."),
            FieldSpec("chunk", .integer(1...100_000), filterable: false, help: "Frames per task."),
            FieldSpec("output", .text(maxLength: 4096), filterable: false, help: "Output pattern; # is the frame number."),
            FieldSpec("format", .choice(formats.keys.sorted()), help: "Image format."),
            FieldSpec("scene", .text(maxLength: 256), filterable: false, help: "Scene to render."),
            FieldSpec("argv", .text(maxLength: 65536), filterable: false, help: "The command of a command job."),
            FieldSpec("tags", .tags, help: "Tags a client needs to take the job's tasks."),
            FieldSpec("max_attempts", .integer(1...100), filterable: false, help: "Attempts before a task fails for good; default 3."),
            FieldSpec("frames_total", .integer(0...Int64.max), filterable: false, help: "Frames in the job."),
            FieldSpec("frames_done", .integer(0...Int64.max), filterable: false, help: "Frames rendered and verified."),
            FieldSpec("tasks_total", .integer(0...Int64.max), filterable: false, help: "Tasks in the job."),
            FieldSpec("tasks_queued", .integer(0...Int64.max), filterable: false, help: "Tasks waiting."),
            FieldSpec("tasks_active", .integer(0...Int64.max), filterable: false, help: "Tasks running."),
            FieldSpec("tasks_completed", .integer(0...Int64.max), filterable: false, help: "Tasks done."),
            FieldSpec("tasks_failed", .integer(0...Int64.max), filterable: false, help: "Tasks failed for good."),
            FieldSpec("tasks_canceled", .integer(0...Int64.max), filterable: false, help: "Tasks canceled."),
            FieldSpec("created_at", .timestamp, filterable: false, help: "When the job was submitted."),
            FieldSpec("started_at", .timestamp, filterable: false, help: "When its first task started."),
            FieldSpec("finished_at", .timestamp, filterable: false, help: "When it completed, failed or was canceled."),
        ]
    )
}

/// One chunk of a job's frames, given to one worker at a time.
///
/// Kept small (a million are held in memory): frame numbers as Int32, times as 0 for "not yet".
public struct RenderTask: Sendable, Equatable {
    public var id: Int64
    public var jobID: Int64
    public var frameStart: Int32
    public var frameEnd: Int32
    public var frameStep: Int32
    public var status: TaskStatus
    /// The client running it (active) or that ran it last; 0 for none.
    public var clientID: Int64
    /// How many times it was handed out; a worker's updates must carry the current lease.
    public var lease: Int32
    /// Failed attempts so far.
    public var failures: Int32
    /// Frames rendered and verified in the current or last attempt.
    public var framesDone: Int32
    public var startedAt: Double
    public var finishedAt: Double
    /// Why the last attempt failed.
    public var error: String?
    /// Clients on which an attempt failed; the task goes to others first.
    public var failedOn: [Int64]

    public init(id: Int64, jobID: Int64, chunk: FrameChunk) {
        self.id = id
        self.jobID = jobID
        frameStart = Int32(chunk.start)
        frameEnd = Int32(chunk.end)
        frameStep = Int32(chunk.step)
        status = .queued
        clientID = 0
        lease = 0
        failures = 0
        framesDone = 0
        startedAt = 0
        finishedAt = 0
        error = nil
        failedOn = []
    }

    public var chunk: FrameChunk { FrameChunk(start: Int(frameStart), end: Int(frameEnd), step: Int(frameStep)) }

    /// The `task` item of the API.
    public static let schema = ItemSchema(
        item: "task",
        actions: ["read", "update"],
        fields: [
            FieldSpec("id", .integer(1...Int64.max), help: "The task's number."),
            FieldSpec("job", .integer(1...Int64.max), help: "The job it belongs to."),
            FieldSpec("status", .choice(TaskStatus.allCases.map(\.rawValue)), updatable: true, help: "Set queued to requeue."),
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
            FieldSpec("error", .text(maxLength: 4096), filterable: false, help: "Why the last attempt failed."),
        ]
    )

    public func value(of field: String) -> JSONValue {
        switch field {
        case "id": .int(id)
        case "job": .int(jobID)
        case "status": .string(status.rawValue)
        case "frames": .string(chunk.description)
        case "frame_start": .int(Int64(frameStart))
        case "frame_end": .int(Int64(frameEnd))
        case "frame_count": .int(Int64(chunk.count))
        case "frames_done": .int(Int64(framesDone))
        case "client": clientID == 0 ? .null : .int(clientID)
        case "attempts": .int(Int64(lease))
        case "failures": .int(Int64(failures))
        case "started_at": startedAt == 0 ? .null : .string(Timestamp.format(startedAt))
        case "finished_at": finishedAt == 0 ? .null : .string(Timestamp.format(finishedAt))
        case "error": error.map(JSONValue.string) ?? .null
        default: .null
        }
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        for field in RenderTask.schema.fields { object[field.name] = value(of: field.name) }
        return .object(object)
    }
}
