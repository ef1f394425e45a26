import FarmCore
import Synchronization

/// A change of the farm as readers of the event stream (`GET /events`) see it: a job's or a
/// task's new state, a client's, a deletion, or a task's log having grown.
///
/// Kept as plain values and turned into JSON only when sent, so publishing costs a copy, not an
/// encoding, on the dispatch path.
public struct FarmEvent: Sendable {
    /// What changed.
    public enum Body: Sendable {
        case job(JobSummary)
        case jobDeleted(Int64)
        case task(RenderTask)
        case client(ClientSummary)
        case clientDeleted(Int64)
        /// A task's log has `bytes` bytes stored (read them from `/logs/task/ID?offset=`).
        case log(taskID: Int64, jobID: Int64, bytes: Int)
        /// A frame's preview image was stored (read it from `/jobs/JOB/frames/FRAME/preview`).
        case preview(jobID: Int64, frame: Int)
    }

    /// Increasing over the server's life and across restarts (see ``EventHub``).
    public let id: Int64
    public let body: Body

    /// The event's name in the stream.
    public var type: String {
        switch body {
        case .job: "job"
        case .jobDeleted: "job_deleted"
        case .task: "task"
        case .client: "client"
        case .clientDeleted: "client_deleted"
        case .log: "log"
        case .preview: "preview"
        }
    }

    /// The job the event concerns; nil for a client's.
    public var jobID: Int64? {
        switch body {
        case .job(let job): job.id
        case .jobDeleted(let id): id
        case .task(let task): task.jobID
        case .log(_, let jobID, _): jobID
        case .preview(let jobID, _): jobID
        case .client, .clientDeleted: nil
        }
    }

    public var json: JSONValue {
        switch body {
        case .job(let job): job.json
        case .jobDeleted(let id): ["job": .int(id)]
        case .task(let task):
            [
                "task": .int(task.id), "job": .int(task.jobID), "status": .string(task.status.rawValue), "role": .string(task.role.rawValue),
                "frames": .string(task.chunk.description), "frames_done": .int(Int64(task.framesDone)), "client": .int(task.clientID),
                "attempts": .int(Int64(task.lease)), "failures": .int(Int64(task.failures)),
                "error": task.error.map(JSONValue.string) ?? .null,
            ]
        case .client(let client): client.json
        case .clientDeleted(let id): ["client": .int(id)]
        case .log(let taskID, let jobID, let bytes): ["task": .int(taskID), "job": .int(jobID), "bytes": .int(Int64(bytes))]
        case .preview(let jobID, let frame): ["job": .int(jobID), "frame": .int(Int64(frame))]
        }
    }
}

/// A job's state in an event: what a watcher or a dashboard row shows.
public struct JobSummary: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var status: JobStatus
    public var priority: Int
    public var framesDone: Int
    public var framesTotal: Int
    public var tasksQueued: Int
    public var tasksActive: Int
    public var tasksCompleted: Int
    public var tasksFailed: Int
    public var reason: String?
    public var submittedBy: String
    /// About how many seconds are left (``JobRuntime/secondsLeft``).
    public var secondsLeft: Int?
    /// When its first task started (seconds since 1970), if one has.
    public var startedAt: Double?

    init(_ runtime: JobRuntime) {
        let job = runtime.job
        id = job.id
        name = job.name
        status = job.status
        priority = job.priority
        framesDone = runtime.framesDone
        framesTotal = runtime.framesTotal
        tasksQueued = runtime.count(.queued)
        tasksActive = runtime.count(.active)
        tasksCompleted = runtime.count(.completed)
        tasksFailed = runtime.count(.failed)
        reason = job.reason
        submittedBy = job.submittedBy
        secondsLeft = runtime.secondsLeft
        startedAt = job.startedAt
    }

    var json: JSONValue {
        [
            "job": .int(id), "name": .string(name), "status": .string(status.rawValue), "priority": .int(Int64(priority)),
            "frames_done": .int(Int64(framesDone)), "frames_total": .int(Int64(framesTotal)), "tasks_queued": .int(Int64(tasksQueued)),
            "tasks_active": .int(Int64(tasksActive)), "tasks_completed": .int(Int64(tasksCompleted)),
            "tasks_failed": .int(Int64(tasksFailed)), "reason": reason.map(JSONValue.string) ?? .null, "submitted_by": .string(submittedBy),
            "time_left": secondsLeft.map { .int(Int64($0)) } ?? .null,
            "started_at": startedAt.map { .string(Timestamp.format($0)) } ?? .null,
        ]
    }
}

/// A client's state in an event (never its key).
public struct ClientSummary: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var status: Client.Status
    public var connection: Client.Connection
    public var activity: Client.Activity
    /// The tasks it runs, in slot order.
    public var taskIDs: [Int64]
    public var slots: Int

    init(_ client: Client) {
        id = client.id
        name = client.name
        status = client.status
        connection = client.connection
        activity = client.activity
        taskIDs = client.runningTaskIDs
        slots = client.slots
    }

    var json: JSONValue {
        [
            "client": .int(id), "name": .string(name), "status": .string(status.rawValue), "connection": .string(connection.rawValue),
            "activity": .string(activity.rawValue), "task": taskIDs.first.map(JSONValue.int) ?? .null,
            "tasks": .array(taskIDs.map(JSONValue.int)), "slots": .int(Int64(slots)), "slots_busy": .int(Int64(taskIDs.count)),
        ]
    }
}

/// The farm's recent events and the readers following them.
///
/// Events are numbered from the server's start time in microseconds, so ids keep increasing
/// across restarts, and the last ``capacity`` are kept: a reader that reconnects with the last id
/// it saw gets every event after it, in order, then the live ones. One whose id is older than
/// what is kept (or from before a restart) gets a `reset` first: it should read the state again.
/// A reader that falls more than ``capacity`` events behind is dropped, and resumes the same way.
///
/// Events are kept only while someone reads, and for ``retention`` seconds after the last reader
/// left (long enough to reconnect): with nobody following, publishing costs a counter, not a
/// copy of every change. A reader that comes back later gets a `reset`, never a silent gap.
public final class EventHub: Sendable {
    /// Events kept for readers that reconnect.
    public let capacity: Int
    /// Seconds events are still kept after the last reader left.
    public let retention: Double

    /// What a reader receives.
    public enum Delivery: Sendable {
        case event(FarmEvent)
        /// Events after the reader's last id were lost (too old, or the server restarted):
        /// re-read the state, then follow on.
        case reset(oldest: Int64?)
    }

    /// Which events a reader wants.
    public struct Filter: Sendable {
        /// Only events of these jobs (and no client events); nil for all.
        public var jobs: Set<Int64>?

        public init(jobs: Set<Int64>? = nil) {
            self.jobs = jobs
        }

        func admits(_ event: FarmEvent) -> Bool {
            guard let jobs else { return true }
            return event.jobID.map(jobs.contains) ?? false
        }
    }

    private struct Reader {
        let filter: Filter
        let continuation: AsyncStream<Delivery>.Continuation
    }

    private struct State {
        var ring: [FarmEvent] = []
        /// Index in `ring` of the oldest event once the ring is full.
        var head = 0
        var nextID: Int64
        var readers: [Int: Reader] = [:]
        var nextReader = 0
        var closed = false
        /// When the last reader left.
        var lastReaderLeftAt = -Double.greatestFiniteMagnitude
        /// The last id of events published while none were kept (0: none so far).
        var unkeptThrough: Int64 = 0

        func isKeeping(now: Double, retention: Double) -> Bool {
            !readers.isEmpty || now - lastReaderLeftAt < retention
        }

        func oldestID(capacity: Int) -> Int64? {
            ring.isEmpty ? nil : ring[ring.count < capacity ? 0 : head].id
        }

        /// The kept events after `id`, oldest first.
        func events(after id: Int64, capacity: Int) -> [FarmEvent] {
            let ordered = ring.count < capacity ? ring : Array(ring[head...] + ring[..<head])
            // Ids are consecutive within one server's life: the first wanted one is at a known place.
            guard let first = ordered.first, id >= first.id - 1 else { return ordered }
            let start = Int(id - first.id + 1)
            return start >= ordered.count ? [] : Array(ordered[start...])
        }
    }

    private let state: Mutex<State>

    /// - Parameters:
    ///   - firstID: the first event's id (default: now in microseconds).
    ///   - retention: seconds to keep events after the last reader left (`.infinity`: always).
    public init(capacity: Int = 65_536, retention: Double = 300, firstID: Int64 = Int64(Timestamp.now * 1_000_000)) {
        self.capacity = capacity
        self.retention = retention
        state = Mutex(State(nextID: firstID))
    }

    /// Records the events `make` describes and hands them to the readers that want them; when no
    /// one reads (nor did lately), `make` is not called.
    public func publish(_ make: () -> [FarmEvent.Body]) {
        let now = Timestamp.now
        let behind = state.withLock { state -> [Reader] in
            guard state.isKeeping(now: now, retention: retention) else {
                if !state.ring.isEmpty {
                    state.ring.removeAll()
                    state.head = 0
                }
                // The ids go on increasing; a reader that resumes from before here gets a reset.
                state.unkeptThrough = state.nextID
                state.nextID += 1
                return []
            }
            let bodies = make()
            var dropped: [Int] = []
            for body in bodies {
                let event = FarmEvent(id: state.nextID, body: body)
                state.nextID += 1
                if state.ring.count < capacity {
                    state.ring.append(event)
                } else {
                    state.ring[state.head] = event
                    state.head = (state.head + 1) % capacity
                }
                for (key, reader) in state.readers where reader.filter.admits(event) {
                    if case .dropped = reader.continuation.yield(.event(event)) { dropped.append(key) }
                }
            }
            if !dropped.isEmpty && dropped.count == state.readers.count { state.lastReaderLeftAt = now }
            return dropped.compactMap { state.readers.removeValue(forKey: $0) }
        }
        // Too far behind to be served without a gap: its stream ends (outside the lock, which
        // ending takes again); it resumes from its last id.
        for reader in behind { reader.continuation.finish() }
    }

    public func publish(_ bodies: [FarmEvent.Body]) {
        guard !bodies.isEmpty else { return }
        publish { bodies }
    }

    public func publish(_ body: FarmEvent.Body) {
        publish { [body] }
    }

    /// The id the next event will have.
    public var nextID: Int64 { state.withLock { $0.nextID } }

    /// Follows the events after `lastID` (nil: only new ones) that `filter` admits. The kept
    /// events and the live ones arrive in one ordered stream, with no gap and no repeat.
    public func subscribe(after lastID: Int64?, filter: Filter = Filter()) -> AsyncStream<Delivery> {
        let (stream, continuation) = AsyncStream<Delivery>.makeStream(bufferingPolicy: .bufferingOldest(capacity + 16))
        let key = state.withLock { state -> Int? in
            if state.closed {
                continuation.finish()
                return nil
            }
            if let lastID, lastID != state.nextID - 1 {
                let oldest = state.oldestID(capacity: capacity)
                // Older than what is kept (or than a time nothing was kept), or newer than any
                // event of this server's life.
                if lastID >= state.nextID || lastID < state.unkeptThrough || (oldest.map { lastID < $0 - 1 } ?? true) {
                    continuation.yield(.reset(oldest: oldest))
                }
                if lastID < state.nextID {
                    for event in state.events(after: lastID, capacity: capacity) where filter.admits(event) {
                        continuation.yield(.event(event))
                    }
                }
            }
            let key = state.nextReader
            state.nextReader += 1
            state.readers[key] = Reader(filter: filter, continuation: continuation)
            return key
        }
        if let key {
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { state in
                    if state.readers.removeValue(forKey: key) != nil && state.readers.isEmpty { state.lastReaderLeftAt = Timestamp.now }
                }
            }
        }
        return stream
    }

    /// Ends every reader's stream and refuses new ones: the server is stopping (a reader
    /// reconnects to the next server with its last id).
    public func close() {
        let readers = state.withLock { state -> [Reader] in
            state.closed = true
            defer { state.readers.removeAll() }
            return Array(state.readers.values)
        }
        for reader in readers { reader.continuation.finish() }
    }

    /// Readers following now.
    public var readerCount: Int { state.withLock { $0.readers.count } }
}
