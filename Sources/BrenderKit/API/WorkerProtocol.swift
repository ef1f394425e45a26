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

    /// `POST /worker/task`: an idle worker asks for work, waiting up to `wait` seconds for some.
    /// Asking also tells the server the worker runs nothing, so a task it still counts as running
    /// there was lost and goes back to the queue.
    public struct TaskRequest: Codable, Sendable, Equatable {
        public var clientID: Int64
        public var wait: Double

        public init(clientID: Int64, wait: Double) {
            self.clientID = clientID
            self.wait = wait
        }

        enum CodingKeys: String, CodingKey {
            case clientID = "client_id"
            case wait
        }
    }

    /// A task handed to a worker: everything it needs to run it.
    public struct Assignment: Codable, Sendable, Equatable {
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

        public var chunk: FrameChunk { FrameChunk(start: frameStart, end: frameEnd, step: frameStep) }

        enum CodingKeys: String, CodingKey {
            case taskID = "task_id"
            case jobID = "job_id"
            case lease
            case jobName = "job_name"
            case kind = "type"
            case file
            case frameStart = "frame_start"
            case frameEnd = "frame_end"
            case frameStep = "frame_step"
            case output, format, scene, argv
        }
    }

    /// The answer to a task request: a task, or none when the wait ran out.
    public struct TaskReply: Codable, Sendable, Equatable {
        public var task: Assignment?

        public init(task: Assignment?) { self.task = task }
    }

    /// Where a running task stands, as the worker reports it.
    public enum TaskState: String, Codable, Sendable {
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
    public struct TaskUpdate: Codable, Sendable, Equatable {
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

        enum CodingKeys: String, CodingKey {
            case clientID = "client_id"
            case taskID = "task_id"
            case jobID = "job_id"
            case lease, state
            case framesDone = "frames_done"
            case log
            case logOffset = "log_offset"
            case error
            case nextWait = "next_wait"
        }
    }

    /// The answer to a task update.
    public struct TaskUpdateReply: Codable, Sendable, Equatable {
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
    }
}
