import FarmCore
import Foundation

/// The messages between `brender worker` and the server (`POST /worker/...`).
///
/// Separate from the admin API because a worker speaks for itself, not about items. Each message
/// converts to and from JSON by hand (``JSONConvertible``): the same code on both ends.
public enum WorkerProtocol {
    /// The largest values the worker protocol accepts; beyond them a message is refused with the
    /// field named, never truncated.
    public enum Limits {
        public static let hostnameBytes = 255
        public static let platformBytes = 64
        public static let versionBytes = 64
        public static let tags = FieldType.maxTags
        public static let tagBytes = FieldType.maxNameLength
        public static let errorBytes = 4096
        public static let framesPerUpdate = 100_000
        public static let logOffset: ClosedRange<Int64> = 0...(1 << 40)
        public static let lease: ClosedRange<Int64> = 1...Int64(Int32.max)
        public static let id: ClosedRange<Int64> = 1...Int64.max
        public static let pid: ClosedRange<Int64> = 0...Int64(Int32.max)
        public static let wait: ClosedRange<Double> = 0...3600
        public static let frame: ClosedRange<Int64> = 0...Int64(FrameSpec.maxFrame)
        public static let slots: ClosedRange<Int64> = 1...Int64(Client.maxSlots)
        public static let slot: ClosedRange<Int64> = 0...Int64(Client.maxSlots - 1)
    }

    /// A worker's key: a random secret it keeps in its state directory and sends with every
    /// request. It tells a restart of the same worker (same key: it re-attaches) from a second
    /// process that uses the same name (another key: refused while the first is online).
    public enum WorkerKey {
        public static let lengths = 16...128

        public static func isValid(_ key: String) -> Bool {
            lengths.contains(key.utf8.count)
                && key.utf8.allSatisfy {
                    ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
                }
        }

        /// A new random key: 32 hexadecimal digits.
        public static func generate() -> String {
            var generator = SystemRandomNumberGenerator()
            return (0..<4).map { _ in String(format: "%08x", UInt32.random(in: 0...UInt32.max, using: &generator)) }.joined()
        }

        static func read(_ fields: JSONFields) throws(APIError) -> String {
            let key = try fields.string("key")
            guard isValid(key) else {
                throw APIError(
                    .invalidValue, "'key' must be \(lengths.lowerBound) to \(lengths.upperBound) letters, digits, '-' or '_'", field: "key")
            }
            return key
        }
    }

    /// `POST /worker/register`: a worker announces itself. Its key finds its record; a known name
    /// with another key is taken over only when that record is offline.
    public struct Registration: JSONConvertible, Equatable {
        public var name: String
        public var hostname: String
        public var platform: String
        /// The worker's tags; nil keeps the tags the record has.
        public var tags: [String]?
        public var version: String
        public var key: String
        /// The worker's process id, shown to whoever is refused its name.
        public var pid: Int32
        /// False when the name is the host's default: then a name in use gets a suffix instead of a refusal.
        public var nameGiven: Bool
        /// The worker's time zone identifier, for its client's working hours.
        public var timeZone: String = ""
        /// What the worker can do besides rendering Blender jobs: `ffmpeg` (video tasks),
        /// `commands` (command jobs, only when started with `--allow-commands`).
        public var capabilities: [String] = []
        /// How many tasks the worker runs at once (`--slots`, or one per GPU with `--gpus`).
        public var slots: Int = 1

        public init(
            name: String, hostname: String, platform: String, tags: [String]?, version: String, key: String, pid: Int32 = 0,
            nameGiven: Bool = true, capabilities: [String] = []
        ) {
            self.capabilities = capabilities
            self.name = name
            self.hostname = hostname
            self.platform = platform
            self.tags = tags
            self.version = version
            self.key = key
            self.pid = pid
            self.nameGiven = nameGiven
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a registration")
            self.init(
                name: try fields.string("name", maxBytes: FieldType.maxNameLength),
                hostname: try fields.string("hostname", maxBytes: Limits.hostnameBytes),
                platform: try fields.string("platform", maxBytes: Limits.platformBytes),
                tags: try fields.optionalStrings("tags", maxCount: Limits.tags, maxBytes: Limits.tagBytes),
                version: try fields.string("version", maxBytes: Limits.versionBytes), key: try WorkerKey.read(fields),
                pid: Int32(try fields.optionalInt("pid", in: Limits.pid) ?? 0),
                nameGiven: try fields.object["name_given"].map { _ throws(APIError) in try fields.bool("name_given") } ?? true)
            timeZone = try fields.optionalString("time_zone", maxBytes: Limits.platformBytes) ?? ""
            capabilities = try fields.optionalStrings("capabilities", maxCount: Limits.tags, maxBytes: Limits.tagBytes) ?? []
            slots = Int(try fields.optionalInt("slots", in: Limits.slots) ?? 1)
        }

        public var json: JSONValue {
            var object: [String: JSONValue] = [
                "name": .string(name), "hostname": .string(hostname), "platform": .string(platform), "version": .string(version),
                "key": .string(key), "pid": .int(Int64(pid)), "name_given": .bool(nameGiven), "time_zone": .string(timeZone),
                "capabilities": .array(capabilities.map(JSONValue.string)), "slots": .int(Int64(slots)),
            ]
            if let tags { object["tags"] = .array(tags.map(JSONValue.string)) }
            return .object(object)
        }
    }

    /// The server's answer to a registration.
    public struct Registered: JSONConvertible, Equatable {
        public var clientID: Int64
        /// The name the client has: the one asked for, or another when that was taken.
        public var name: String
        /// Seconds between heartbeats the server expects.
        public var heartbeatInterval: Double

        public init(clientID: Int64, name: String, heartbeatInterval: Double) {
            self.clientID = clientID
            self.name = name
            self.heartbeatInterval = heartbeatInterval
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a registration answer")
            self.init(
                clientID: try fields.int("client_id"), name: try fields.string("name"), heartbeatInterval: try fields.double("heartbeat_interval"))
        }

        public var json: JSONValue {
            ["client_id": .int(clientID), "name": .string(name), "heartbeat_interval": .double(heartbeatInterval)]
        }
    }

    /// Who sends a worker request: the client id the server gave and the worker's key.
    public struct Sender: Sendable, Equatable {
        public var clientID: Int64
        public var key: String

        public init(clientID: Int64, key: String) {
            self.clientID = clientID
            self.key = key
        }

        init(_ fields: JSONFields) throws(APIError) {
            self.init(clientID: try fields.int("client_id", in: Limits.id), key: try WorkerKey.read(fields))
        }

        var members: [String: JSONValue] { ["client_id": .int(clientID), "key": .string(key)] }
    }

    /// `POST /worker/heartbeat` and `POST /worker/signoff`.
    public struct ClientReference: JSONConvertible, Equatable {
        public var sender: Sender

        public init(sender: Sender) { self.sender = sender }

        public init(json: JSONValue) throws(APIError) {
            self.init(sender: try Sender(JSONFields(json, what: "the request")))
        }

        public var json: JSONValue { .object(sender.members) }
    }

    /// `POST /worker/preview`: a small image of a frame the worker rendered, for the dashboard.
    /// Only the client that ran the task may send one for its frames.
    public struct FramePreview: JSONConvertible, Equatable {
        /// The largest preview accepted, in bytes of image.
        public static let maxBytes = 256 * 1024
        public var sender: Sender
        public var taskID: Int64
        public var frame: Int
        /// A JPEG or PNG file's bytes.
        public var image: Data

        public init(sender: Sender, taskID: Int64, frame: Int, image: Data) {
            self.sender = sender
            self.taskID = taskID
            self.frame = frame
            self.image = image
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a frame preview")
            let encoded = try fields.string("image", maxBytes: Self.maxBytes * 4 / 3 + 4)
            guard let image = Data(base64Encoded: encoded) else {
                throw APIError(.invalidValue, "'image' must be the preview's bytes in base64", field: "image")
            }
            self.init(
                sender: try Sender(fields), taskID: try fields.int("task_id", in: Limits.id), frame: Int(try fields.int("frame", in: Limits.frame)),
                image: image)
        }

        public var json: JSONValue {
            var object = sender.members
            object["task_id"] = .int(taskID)
            object["frame"] = .int(Int64(frame))
            object["image"] = .string(image.base64EncodedString())
            return .object(object)
        }
    }

    /// The server's answer to a heartbeat.
    public struct HeartbeatReply: JSONConvertible, Equatable {
        public var heartbeatInterval: Double

        public init(heartbeatInterval: Double) { self.heartbeatInterval = heartbeatInterval }

        public init(json: JSONValue) throws(APIError) {
            self.init(heartbeatInterval: try JSONFields(json, what: "a heartbeat answer").double("heartbeat_interval"))
        }

        public var json: JSONValue { ["heartbeat_interval": .double(heartbeatInterval)] }
    }

    /// A plain acknowledgement: `{"ok": true}`.
    public struct Acknowledgement: JSONConvertible, Equatable {
        public init() {}
        public init(json: JSONValue) throws(APIError) {}
        public var json: JSONValue { ["ok": true] }
    }

    /// `POST /worker/task`: an idle slot of a worker asks for work, waiting up to `wait` seconds
    /// for some. Asking also tells the server the slot runs nothing, so a task it still counts as
    /// running there was lost and goes back to the queue.
    public struct TaskRequest: JSONConvertible, Equatable {
        public var sender: Sender
        public var wait: Double
        /// The job whose file the slot's warm Blender has loaded: its next task is preferred
        /// over another job of the same priority.
        public var warmJob: Int64?
        /// Which of the worker's slots asks (0 up to its `slots` - 1).
        public var slot: Int

        public init(sender: Sender, wait: Double, warmJob: Int64? = nil, slot: Int = 0) {
            self.sender = sender
            self.wait = wait
            self.warmJob = warmJob
            self.slot = slot
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a task request")
            self.init(
                sender: try Sender(fields), wait: try fields.optionalDouble("wait", in: Limits.wait) ?? 0,
                warmJob: try fields.optionalInt("warm_job", in: Limits.id), slot: Int(try fields.optionalInt("slot", in: Limits.slot) ?? 0))
        }

        public var json: JSONValue {
            var object = sender.members
            object["wait"] = .double(wait)
            if let warmJob { object["warm_job"] = .int(warmJob) }
            if slot != 0 { object["slot"] = .int(Int64(slot)) }
            return .object(object)
        }
    }

    /// A task handed to a worker: everything it needs to run it.
    public struct Assignment: JSONConvertible, Equatable {
        public var taskID: Int64
        public var jobID: Int64
        /// Which hand-out of the task this is; every update must carry it.
        public var lease: Int32
        public var jobName: String
        public var kind: Job.Kind
        public var file: String
        public var frameStart: Int
        public var frameEnd: Int
        public var frameStep: Int
        public var output: String
        public var format: String
        public var scene: String?
        public var argv: [String]
        /// What the task does: render its frames, or encode the job's frames into `video`.
        public var role: RenderTask.Role
        /// The job's whole frame spec, for a video task (which encodes all of its frames).
        public var jobFrames: String
        /// The video to make (video tasks).
        public var video: VideoSpec?
        /// Start Blender afresh for this task, not in a warm one (the job's `cold`).
        public var cold: Bool
        /// The Blender version the job needs (a prefix), or nil for the worker's default Blender.
        public var blenderVersion: String?
        /// Run the Python in the .blend file (Blender's `-y`).
        public var allowScripts: Bool

        public init(job: Job, task: RenderTask) {
            taskID = task.id
            jobID = job.id
            lease = task.lease
            jobName = job.name
            kind = job.kind
            file = job.file
            frameStart = Int(task.frameStart)
            frameEnd = Int(task.frameEnd)
            frameStep = Int(task.frameStep)
            output = job.output
            format = job.format
            scene = job.scene
            argv = job.argv
            role = task.role
            jobFrames = task.role == .video ? job.frames : ""
            video = task.role == .video ? job.video : nil
            cold = job.cold
            blenderVersion = job.blenderVersion
            allowScripts = job.allowScripts
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a task")
            taskID = try fields.int("task_id")
            jobID = try fields.int("job_id")
            lease = Int32(try fields.int("lease", in: Limits.lease))
            jobName = try fields.string("job_name")
            let type = try fields.string("type")
            guard let kind = Job.Kind(rawValue: type) else {
                throw APIError(.invalidValue, "unknown task type '\(type)'", field: "type")
            }
            self.kind = kind
            file = try fields.string("file")
            frameStart = Int(try fields.int("frame_start"))
            frameEnd = Int(try fields.int("frame_end"))
            frameStep = Int(try fields.int("frame_step"))
            output = try fields.string("output")
            format = try fields.string("format")
            scene = try fields.optionalString("scene")
            argv = try fields.optionalStrings("argv") ?? []
            let role = try fields.optionalString("role") ?? "render"
            guard let known = RenderTask.Role(rawValue: role) else {
                throw APIError(.invalidValue, "unknown task role '\(role)'", field: "role")
            }
            self.role = known
            jobFrames = try fields.optionalString("job_frames") ?? ""
            video = fields.object["video"].flatMap(VideoSpec.init(json:))
            cold = fields.object["cold"]?.boolValue ?? false
            blenderVersion = try fields.optionalString("blender_version")
            allowScripts = fields.object["allow_scripts"]?.boolValue ?? false
            if known == .video && video == nil {
                throw APIError(.missingField, "a video task needs 'video' with its path", field: "video")
            }
        }

        public var json: JSONValue {
            var object: [String: JSONValue] = [
                "task_id": .int(taskID), "job_id": .int(jobID), "lease": .int(Int64(lease)), "job_name": .string(jobName),
                "type": .string(kind.rawValue), "file": .string(file), "frame_start": .int(Int64(frameStart)),
                "frame_end": .int(Int64(frameEnd)), "frame_step": .int(Int64(frameStep)), "output": .string(output),
                "format": .string(format), "argv": .array(argv.map(JSONValue.string)),
            ]
            if let scene { object["scene"] = .string(scene) }
            // Only a video task needs these (render is the default): the common answer stays small.
            if role == .video {
                object["role"] = .string(role.rawValue)
                object["job_frames"] = .string(jobFrames)
            }
            if let video { object["video"] = video.json }
            if cold { object["cold"] = true }
            if let blenderVersion { object["blender_version"] = .string(blenderVersion) }
            if allowScripts { object["allow_scripts"] = true }
            return .object(object)
        }

        public var chunk: FrameChunk { FrameChunk(start: frameStart, end: frameEnd, step: frameStep) }
    }

    /// The answer to a task request: a task, or none when the wait ran out.
    public struct TaskReply: JSONConvertible, Equatable {
        public var task: Assignment?

        public init(task: Assignment?) { self.task = task }

        public init(json: JSONValue) throws(APIError) {
            self.init(task: try JSONFields(json, what: "a task answer").optional("task", as: Assignment.self))
        }

        public var json: JSONValue { ["task": task?.json ?? .null] }
    }

    /// Where a running task stands, as the worker reports it.
    public enum TaskState: String, Sendable {
        /// Still running: progress and log.
        case running
        /// Every frame rendered and verified.
        case completed
        /// The attempt failed; `error` says why.
        case failed
        /// The worker gives the task back unfinished (it is stopping, or was told to stop).
        case released
    }

    /// `POST /worker/task/update`: progress, log and outcome of a task. Idempotent: frames are the
    /// full list verified in this attempt, and the log chunk carries the offset it starts at, so a
    /// worker may resend after a lost answer. The server decides offsets from what it has stored:
    /// an overlap is trimmed, a gap is refused, and its answer says how much it holds.
    public struct TaskUpdate: JSONConvertible, Equatable {
        public var sender: Sender
        public var taskID: Int64
        public var jobID: Int64
        public var lease: Int32
        public var state: TaskState
        /// Frames rendered and verified so far in this attempt.
        public var framesDone: [Int]
        /// New log text.
        public var log: String
        /// Bytes of this attempt's log that come before `log`.
        public var logOffset: Int
        public var error: String?
        /// With a final state: wait up to this many seconds for the next task and return it.
        public var nextWait: Double?
        /// With `nextWait`: the job whose file the worker's warm Blender has loaded (see
        /// ``TaskRequest/warmJob``).
        public var warmJob: Int64?

        public init(
            sender: Sender, taskID: Int64, jobID: Int64, lease: Int32, state: TaskState, framesDone: [Int], log: String, logOffset: Int,
            error: String? = nil, nextWait: Double? = nil
        ) {
            self.sender = sender
            self.taskID = taskID
            self.jobID = jobID
            self.lease = lease
            self.state = state
            self.framesDone = framesDone
            self.log = log
            self.logOffset = logOffset
            self.error = error
            self.nextWait = nextWait
        }

        public var clientID: Int64 { sender.clientID }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a task update")
            let stateText = try fields.string("state")
            guard let state = TaskState(rawValue: stateText) else {
                throw APIError(.invalidValue, "'state' must be running, completed, failed or released, not '\(stateText)'", field: "state")
            }
            self.init(
                sender: try Sender(fields), taskID: try fields.int("task_id", in: Limits.id), jobID: try fields.int("job_id", in: Limits.id),
                lease: Int32(try fields.int("lease", in: Limits.lease)), state: state,
                framesDone: fields.object["frames_done"] == nil
                    ? [] : try fields.ints("frames_done", in: Limits.frame, maxCount: Limits.framesPerUpdate),
                log: try fields.optionalString("log") ?? "", logOffset: Int(try fields.optionalInt("log_offset", in: Limits.logOffset) ?? 0),
                error: try fields.optionalString("error", maxBytes: Limits.errorBytes),
                nextWait: try fields.optionalDouble("next_wait", in: Limits.wait))
            warmJob = try fields.optionalInt("warm_job", in: Limits.id)
        }

        public var json: JSONValue {
            var object = sender.members
            object["task_id"] = .int(taskID)
            object["job_id"] = .int(jobID)
            object["lease"] = .int(Int64(lease))
            object["state"] = .string(state.rawValue)
            object["frames_done"] = .array(framesDone.map { .int(Int64($0)) })
            object["log"] = .string(log)
            object["log_offset"] = .int(Int64(logOffset))
            if let error { object["error"] = .string(error) }
            if let nextWait { object["next_wait"] = .double(nextWait) }
            if let warmJob { object["warm_job"] = .int(warmJob) }
            return .object(object)
        }
    }

    /// The answer to a task update.
    public struct TaskUpdateReply: JSONConvertible, Equatable {
        /// False when the task is no longer this worker's (canceled, or given to another); the
        /// update then changed nothing.
        public var accepted: Bool
        /// Stop the task now.
        public var stop: Bool
        /// Why the task is no longer this worker's, for its log.
        public var reason: String?
        /// Bytes of this attempt's log the server has stored. Below what the worker sent: the
        /// rest did not fit (a gap before it), so it sends again from here; a final state counts
        /// only once the whole log is stored.
        public var logOffset: Int?
        /// The next task, when the update asked for one.
        public var next: Assignment?

        public init(accepted: Bool, stop: Bool, reason: String? = nil, logOffset: Int? = nil, next: Assignment? = nil) {
            self.accepted = accepted
            self.stop = stop
            self.reason = reason
            self.logOffset = logOffset
            self.next = next
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a task update answer")
            self.init(
                accepted: try fields.bool("accepted"), stop: try fields.bool("stop"), reason: try fields.optionalString("reason"),
                logOffset: try fields.optionalInt("log_offset").map { Int($0) }, next: try fields.optional("next", as: Assignment.self))
        }

        public var json: JSONValue {
            var object: [String: JSONValue] = ["accepted": .bool(accepted), "stop": .bool(stop), "next": next?.json ?? .null]
            if let reason { object["reason"] = .string(reason) }
            if let logOffset { object["log_offset"] = .int(Int64(logOffset)) }
            return .object(object)
        }
    }
}
