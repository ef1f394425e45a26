/// The messages between `brender worker` and the server (`POST /worker/...`).
///
/// Separate from the admin API because a worker speaks for itself, not about items. Each message
/// converts to and from JSON by hand (``JSONConvertible``): the same code on both ends.
public enum WorkerProtocol {
    /// `POST /worker/register`: a worker announces itself. A known name re-attaches to its record.
    public struct Registration: JSONConvertible, Equatable {
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

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a registration")
            self.init(
                name: try fields.string("name"), hostname: try fields.string("hostname"), platform: try fields.string("platform"),
                tags: try fields.optionalStrings("tags"), version: try fields.string("version"))
        }

        public var json: JSONValue {
            var object: [String: JSONValue] = [
                "name": .string(name), "hostname": .string(hostname), "platform": .string(platform), "version": .string(version),
            ]
            if let tags { object["tags"] = .array(tags.map(JSONValue.string)) }
            return .object(object)
        }
    }

    /// The server's answer to a registration.
    public struct Registered: JSONConvertible, Equatable {
        public var clientID: Int64
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

    /// `POST /worker/heartbeat` and `POST /worker/signoff`.
    public struct ClientReference: JSONConvertible, Equatable {
        public var clientID: Int64

        public init(clientID: Int64) { self.clientID = clientID }

        public init(json: JSONValue) throws(APIError) {
            self.init(clientID: try JSONFields(json, what: "the request").int("client_id"))
        }

        public var json: JSONValue { ["client_id": .int(clientID)] }
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

    /// `POST /worker/task`: an idle worker asks for work, waiting up to `wait` seconds for some.
    /// Asking also tells the server the worker runs nothing, so a task it still counts as running
    /// there was lost and goes back to the queue.
    public struct TaskRequest: JSONConvertible, Equatable {
        public var clientID: Int64
        public var wait: Double

        public init(clientID: Int64, wait: Double) {
            self.clientID = clientID
            self.wait = wait
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a task request")
            self.init(clientID: try fields.int("client_id"), wait: try fields.optionalDouble("wait") ?? 0)
        }

        public var json: JSONValue { ["client_id": .int(clientID), "wait": .double(wait)] }
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
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a task")
            taskID = try fields.int("task_id")
            jobID = try fields.int("job_id")
            lease = Int32(truncatingIfNeeded: try fields.int("lease"))
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
        }

        public var json: JSONValue {
            var object: [String: JSONValue] = [
                "task_id": .int(taskID), "job_id": .int(jobID), "lease": .int(Int64(lease)), "job_name": .string(jobName),
                "type": .string(kind.rawValue), "file": .string(file), "frame_start": .int(Int64(frameStart)),
                "frame_end": .int(Int64(frameEnd)), "frame_step": .int(Int64(frameStep)), "output": .string(output),
                "format": .string(format), "argv": .array(argv.map(JSONValue.string)),
            ]
            if let scene { object["scene"] = .string(scene) }
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
    /// worker may resend after a lost answer.
    public struct TaskUpdate: JSONConvertible, Equatable {
        public var clientID: Int64
        public var taskID: Int64
        public var jobID: Int64
        public var lease: Int32
        public var state: TaskState
        /// Frames rendered and verified so far in this attempt.
        public var framesDone: [Int]
        /// New log text.
        public var log: String
        /// Bytes of log this attempt sent before `log`.
        public var logOffset: Int
        public var error: String?
        /// With a final state: wait up to this many seconds for the next task and return it.
        public var nextWait: Double?

        public init(
            clientID: Int64, taskID: Int64, jobID: Int64, lease: Int32, state: TaskState, framesDone: [Int], log: String, logOffset: Int,
            error: String? = nil, nextWait: Double? = nil
        ) {
            self.clientID = clientID
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

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a task update")
            let stateText = try fields.string("state")
            guard let state = TaskState(rawValue: stateText) else {
                throw APIError(.invalidValue, "'state' must be running, completed, failed or released, not '\(stateText)'", field: "state")
            }
            let logOffset = try fields.optionalInt("log_offset") ?? 0
            guard logOffset >= 0 else { throw APIError(.invalidValue, "'log_offset' must not be negative", field: "log_offset") }
            self.init(
                clientID: try fields.int("client_id"), taskID: try fields.int("task_id"), jobID: try fields.int("job_id"),
                lease: Int32(truncatingIfNeeded: try fields.int("lease")), state: state,
                framesDone: fields.object["frames_done"] == nil ? [] : try fields.ints("frames_done"),
                log: try fields.optionalString("log") ?? "", logOffset: Int(logOffset), error: try fields.optionalString("error"),
                nextWait: try fields.optionalDouble("next_wait"))
        }

        public var json: JSONValue {
            var object: [String: JSONValue] = [
                "client_id": .int(clientID), "task_id": .int(taskID), "job_id": .int(jobID), "lease": .int(Int64(lease)),
                "state": .string(state.rawValue), "frames_done": .array(framesDone.map { .int(Int64($0)) }), "log": .string(log),
                "log_offset": .int(Int64(logOffset)),
            ]
            if let error { object["error"] = .string(error) }
            if let nextWait { object["next_wait"] = .double(nextWait) }
            return .object(object)
        }
    }

    /// The answer to a task update.
    public struct TaskUpdateReply: JSONConvertible, Equatable {
        /// False when the task is no longer this worker's (canceled, or given to another).
        public var accepted: Bool
        /// Stop the task now.
        public var stop: Bool
        /// The next task, when the update asked for one.
        public var next: Assignment?

        public init(accepted: Bool, stop: Bool, next: Assignment? = nil) {
            self.accepted = accepted
            self.stop = stop
            self.next = next
        }

        public init(json: JSONValue) throws(APIError) {
            let fields = try JSONFields(json, what: "a task update answer")
            self.init(accepted: try fields.bool("accepted"), stop: try fields.bool("stop"), next: try fields.optional("next", as: Assignment.self))
        }

        public var json: JSONValue { ["accepted": .bool(accepted), "stop": .bool(stop), "next": next?.json ?? .null] }
    }
}
