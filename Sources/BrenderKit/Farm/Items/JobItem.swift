import FarmCore
import Foundation

/// The `job` item of the API: its fields, their values, and the checks on a new job and on
/// changes to one. The rules of its status are ``JobLifecycle``'s.
extension Job {
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
            FieldSpec("reason", .text(maxLength: 4096), filterable: false, help: "Why it waits, failed or was canceled."),
            FieldSpec(
                "priority", .integer(Settings.priority), updatable: true,
                help:
                    "\(Settings.priority.range.lowerBound) to \(Settings.priority.range.upperBound), higher first; default \(Settings.priority.standard)."
            ),
            FieldSpec("file", .text(maxLength: 4096), help: "The .blend file."),
            FieldSpec("frames", .text(maxLength: 65536), filterable: false, help: "The frame spec."),
            FieldSpec("chunk", .integer(Settings.chunk), filterable: false, help: "Frames per task; default \(Settings.chunk.standard)."),
            FieldSpec("output", .text(maxLength: 4096), filterable: false, help: "Output pattern; # is the frame number."),
            FieldSpec("format", .choice(formats.keys.sorted()), help: "Image format."),
            FieldSpec("scene", .text(maxLength: 256), filterable: false, help: "Scene to render."),
            FieldSpec("settings_from", .text(maxLength: 256), filterable: false, help: "Where frames and format came from."),
            FieldSpec("argv", .text(maxLength: 65536), filterable: false, help: "The command of a command job."),
            FieldSpec("tags", .tags, updatable: true, help: "Tags a client needs to take the job's tasks."),
            FieldSpec("after", .ids, updatable: true, help: "Jobs that must complete before this one starts."),
            FieldSpec(
                "max_attempts", .integer(Settings.maxAttempts), filterable: false, updatable: true,
                help: "Attempts before a task fails for good; default \(Settings.maxAttempts.standard)."),
            FieldSpec("fail_fast", .boolean, filterable: false, help: "Stop the job at the first task that fails for good."),
            FieldSpec(
                "blender_version", .text(maxLength: 32),
                help: "The Blender version its tasks need, e.g. 3.4 (any 3.4.x); empty for any. Only clients that have it take them."),
            FieldSpec(
                "allow_scripts", .boolean, filterable: false,
                help: "Run the Python in the .blend file (drivers, startup scripts): only on a server started with --allow-scripts."),
            FieldSpec(
                "cold", .boolean, filterable: false,
                help: "Start Blender afresh for every task, never in a warm one (for scenes that keep state between frames)."),
            FieldSpec(
                "task_timeout", .integer(Settings.taskTimeout), filterable: false, updatable: true,
                help: "Seconds a task may run before it is stopped as failed; 0 for none."),
            FieldSpec(
                "blocklist_threshold", .integer(Settings.blocklistThreshold), filterable: false, updatable: true,
                help: "Failed tasks after which a client gets no more of the job; default \(Settings.blocklistThreshold.standard)."),
            FieldSpec("blocklist", .ids, filterable: false, updatable: true, help: "Clients that get no more of its tasks; set [] to clear."),
            FieldSpec("video", .text(maxLength: 4096), filterable: false, help: "The video made from its frames: path, fps, codec."),
            FieldSpec("frames_total", .integer(0...Int64.max), filterable: false, help: "Frames in the job."),
            FieldSpec("frames_done", .integer(0...Int64.max), filterable: false, help: "Frames rendered and verified."),
            FieldSpec("failed_frames", .text(maxLength: 65536), filterable: false, help: "Frames of tasks that failed for good."),
            FieldSpec("slow_tasks", .ids, filterable: false, help: "Running tasks far slower than the job's median."),
            FieldSpec(
                "time_left", .integer(0...Int64.max), filterable: false,
                help: "About how many seconds until every frame is rendered, at the pace so far; empty when unknown."),
            FieldSpec("tasks_total", .integer(0...Int64.max), filterable: false, help: "Tasks in the job."),
            FieldSpec("tasks_queued", .integer(0...Int64.max), filterable: false, help: "Tasks waiting."),
            FieldSpec("tasks_active", .integer(0...Int64.max), filterable: false, help: "Tasks running."),
            FieldSpec("tasks_completed", .integer(0...Int64.max), filterable: false, help: "Tasks done."),
            FieldSpec("tasks_failed", .integer(0...Int64.max), filterable: false, help: "Tasks failed for good."),
            FieldSpec("tasks_canceled", .integer(0...Int64.max), filterable: false, help: "Tasks canceled."),
            FieldSpec("submitted_by", .text(maxLength: 64), help: "The name of the token that submitted it."),
            FieldSpec("created_at", .timestamp, filterable: false, help: "When the job was submitted."),
            FieldSpec("started_at", .timestamp, filterable: false, help: "When its first task started."),
            FieldSpec("finished_at", .timestamp, filterable: false, help: "When it completed, failed or was canceled."),
        ],
        searchFields: ["name", "file", "submitted_by", "tags"]
    )
}

/// A job as the API shows it.
struct JobItem {
    let runtime: JobRuntime
    let context: ItemContext

    func value(of field: String) -> JSONValue {
        let job = runtime.job
        return switch field {
        case "id": .int(job.id)
        case "name": .string(job.name)
        case "type": .string(job.kind.rawValue)
        case "status": .string(job.status.rawValue)
        case "reason": job.reason.map(JSONValue.string) ?? .null
        case "priority": .int(Int64(job.priority))
        case "file": .string(job.file)
        case "frames": .string(job.frames)
        case "chunk": .int(Int64(job.chunkSize))
        case "output": .string(job.output)
        case "format": .string(job.format)
        case "scene": job.scene.map(JSONValue.string) ?? .null
        case "settings_from": .string(job.settingsSource)
        case "argv": .array(job.argv.map(JSONValue.string))
        case "tags": .array(job.tags.map(JSONValue.string))
        case "after": .array(job.after.map(JSONValue.int))
        case "max_attempts": .int(Int64(job.maxAttempts))
        case "fail_fast": .bool(job.failFast)
        case "cold": .bool(job.cold)
        case "allow_scripts": .bool(job.allowScripts)
        case "blender_version": job.blenderVersion.map(JSONValue.string) ?? .null
        case "task_timeout": .int(Int64(job.taskTimeout))
        case "blocklist_threshold": .int(Int64(job.blocklistThreshold))
        case "blocklist": .array(runtime.blocklist.blocked(threshold: job.blocklistThreshold).map(JSONValue.int))
        case "video": job.video?.json ?? .null
        case "frames_total": .int(Int64(runtime.framesTotal))
        case "frames_done": .int(Int64(runtime.framesDone))
        case "failed_frames": runtime.count(.failed, role: .render) == 0 ? .null : .string(runtime.failedFrames)
        case "slow_tasks": .array(slowTasks.map(JSONValue.int))
        case "time_left": runtime.secondsLeft.map { .int(Int64($0)) } ?? .null
        case "tasks_total": .int(Int64(runtime.tasks.count))
        case "tasks_queued": .int(Int64(runtime.count(.queued)))
        case "tasks_active": .int(Int64(runtime.count(.active)))
        case "tasks_completed": .int(Int64(runtime.count(.completed)))
        case "tasks_failed": .int(Int64(runtime.count(.failed)))
        case "tasks_canceled": .int(Int64(runtime.count(.canceled)))
        case "submitted_by": .string(job.submittedBy)
        case "created_at": .string(Timestamp.format(job.createdAt))
        case "started_at": job.startedAt.map { .string(Timestamp.format($0)) } ?? .null
        case "finished_at": job.finishedAt.map { .string(Timestamp.format($0)) } ?? .null
        default: .null
        }
    }

    /// Running tasks far slower than the job's completed ones.
    var slowTasks: [Int64] {
        guard runtime.count(.active) > 0, runtime.medianDuration(minimum: ItemContext.slowMinimumCompleted) != nil else { return [] }
        return runtime.tasks.filter { context.isSlow($0, in: runtime) }.map(\.id)
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [:]
        for field in Job.schema.fields { object[field.name] = value(of: field.name) }
        return .object(object)
    }
}

/// The `values` of a `job create` request, checked field by field.
struct JobSubmission {
    var kind: Job.Kind
    var name: String?
    var file: String
    var frames: FrameSpec
    var framesText: String
    var chunkSize: Int
    var priority: Int
    var output: String?
    var format: String
    var scene: String?
    var argv: [String]
    var tags: [String]
    var maxAttempts: Int
    var after: [Int64]
    var failFast: Bool
    var cold: Bool
    var allowScripts: Bool
    var blenderVersion: String?
    var taskTimeout: Double
    var blocklistThreshold: Int
    var video: VideoSpec?
    var settingsSource: String

    static let fields = [
        "type", "name", "file", "frames", "chunk", "priority", "output", "format", "scene", "argv", "tags", "max_attempts", "after",
        "fail_fast", "cold", "allow_scripts", "blender_version", "task_timeout", "blocklist_threshold", "video", "settings_from",
    ]

    init(values: [String: JSONValue]) throws(APIError) {
        for key in values.keys.sorted() where !JobSubmission.fields.contains(key) {
            throw APIError(
                .unknownField, "'\(key)' is not a field of a new job; fields: \(JobSubmission.fields.joined(separator: ", "))", field: "values.\(key)"
            )
        }
        let schema = Job.schema
        func checked(_ key: String) throws(APIError) -> JSONValue? {
            guard let raw = values[key], raw != .null else { return nil }
            return try schema.value(raw, for: schema.field(key)!, path: "values.\(key)")
        }
        kind = try checked("type").flatMap { $0.stringValue.flatMap(Job.Kind.init(rawValue:)) } ?? Job.Settings.kind
        name = try checked("name")?.stringValue
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw APIError(.invalidValue, "a job name must not be blank", field: "values.name")
        }
        chunkSize = try checked("chunk")?.intValue.map(Int.init) ?? Job.Settings.chunk.standard
        priority = try checked("priority")?.intValue.map(Int.init) ?? Job.Settings.priority.standard
        maxAttempts = try checked("max_attempts")?.intValue.map(Int.init) ?? Job.Settings.maxAttempts.standard
        format = try checked("format")?.stringValue ?? Job.Settings.format
        scene = try checked("scene")?.stringValue
        output = try checked("output")?.stringValue
        tags = try checked("tags")?.arrayValue?.compactMap(\.stringValue) ?? []
        after = try checked("after")?.arrayValue?.compactMap(\.intValue) ?? []
        failFast = try checked("fail_fast")?.boolValue ?? false
        cold = try checked("cold")?.boolValue ?? false
        allowScripts = try checked("allow_scripts")?.boolValue ?? false
        blenderVersion = try checked("blender_version")?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if let blenderVersion,
            !blenderVersion.allSatisfy({ $0.isNumber || $0 == "." }) || blenderVersion.hasPrefix(".") || blenderVersion.hasSuffix(".")
        {
            throw APIError(
                .invalidValue, "blender_version is a version such as 3.4 or 3.4.1, not '\(blenderVersion)'", field: "values.blender_version")
        }
        taskTimeout = Double(try checked("task_timeout")?.intValue.map(Int.init) ?? Job.Settings.taskTimeout.standard)
        blocklistThreshold = try checked("blocklist_threshold")?.intValue.map(Int.init) ?? Job.Settings.blocklistThreshold.standard
        settingsSource = try checked("settings_from")?.stringValue ?? "submitted"

        guard let spec = values["frames"]?.stringValue else {
            throw APIError(.missingField, "a job needs 'frames', e.g. \"1-250\"", field: "values.frames")
        }
        do {
            frames = try FrameSpec(parsing: spec)
        } catch {
            throw APIError(.invalidValue, error.message, field: "values.frames")
        }
        framesText = spec

        switch kind {
        case .blender:
            guard let file = values["file"]?.stringValue, !file.isEmpty else {
                throw APIError(.missingField, "a blender job needs 'file', the path of a .blend file", field: "values.file")
            }
            guard PathMapping.isAbsolute(file) else {
                throw APIError(.invalidValue, "'file' must be an absolute path that every worker can read, not '\(file)'", field: "values.file")
            }
            self.file = file
            if values["argv"] != nil {
                throw APIError(.invalidValue, "'argv' belongs to command jobs; a blender job renders 'file'", field: "values.argv")
            }
            argv = []
            if let output, !PathMapping.isAbsolute(output) {
                throw APIError(.invalidValue, "'output' must be an absolute path pattern, not '\(output)'", field: "values.output")
            }
        case .command:
            guard let list = values["argv"]?.arrayValue, !list.isEmpty else {
                throw APIError(.missingField, "a command job needs 'argv', a non-empty array of strings", field: "values.argv")
            }
            var argv: [String] = []
            for element in list {
                guard let text = element.stringValue else {
                    throw APIError(.invalidValue, "'argv' must hold only strings, not \(element.typeName)", field: "values.argv")
                }
                argv.append(text)
            }
            self.argv = argv
            file = ""
        }
        video = try Self.video(values["video"], kind: kind)
    }

    private static func video(_ raw: JSONValue?, kind: Job.Kind) throws(APIError) -> VideoSpec? {
        guard let raw, raw != .null else { return nil }
        guard kind == .blender else {
            throw APIError(.invalidValue, "'video' belongs to blender jobs, which render image frames", field: "values.video")
        }
        guard let path = raw["path"]?.stringValue, PathMapping.isAbsolute(path) else {
            throw APIError(.invalidValue, "'video' needs 'path', the absolute path of the .mp4 to write", field: "values.video.path")
        }
        guard path.lowercased().hasSuffix(".mp4") else {
            throw APIError(
                .invalidValue, "the video is written as H.264 in an MP4 file; its path must end in .mp4, not '\(path)'", field: "values.video.path")
        }
        let setting = VideoSpec.fpsSetting
        let fps = raw["fps"].map { $0.intValue.map(Int.init) ?? -1 } ?? setting.standard
        guard setting.range.contains(fps) else {
            throw APIError(
                .invalidValue, "'fps' must be a whole number from \(setting.range.lowerBound) to \(setting.range.upperBound)",
                field: "values.video.fps")
        }
        let codec = raw["codec"]?.stringValue ?? VideoSpec.standardCodec
        guard VideoSpec.codecs.contains(codec) else {
            throw APIError(
                .invalidValue, "codec '\(codec)' is not supported; codecs: \(VideoSpec.codecs.joined(separator: ", "))", field: "values.video.codec")
        }
        return VideoSpec(path: path, fps: fps, codec: codec)
    }
}
