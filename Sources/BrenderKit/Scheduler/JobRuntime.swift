/// A job's working state in the server's memory: its record, its tasks in id order, counters
/// kept up to date on every change, and a cursor below which no task is queued.
///
/// Owned by the ``Farm`` actor; never shared.
final class JobRuntime {
    var job: Job
    var tasks: [RenderTask]
    /// Tasks per status, indexed like `TaskStatus.allCases`.
    private(set) var counts: [Int]
    private(set) var framesTotal: Int
    private(set) var framesDone: Int
    /// No task before this index is queued.
    private var cursor = 0

    init(job: Job, tasks: [RenderTask]) {
        self.job = job
        self.tasks = tasks
        counts = Array(repeating: 0, count: TaskStatus.allCases.count)
        framesTotal = 0
        framesDone = 0
        for task in tasks {
            counts[task.status.index] += 1
            framesTotal += task.chunk.count
            framesDone += Int(task.framesDone)
        }
    }

    var firstTaskID: Int64 { tasks.first?.id ?? 0 }

    func count(_ status: TaskStatus) -> Int { counts[status.index] }

    var queuedCount: Int { count(.queued) }

    /// The index of the task with `id`, if it belongs to this job.
    func index(of taskID: Int64) -> Int? {
        guard let first = tasks.first?.id else { return nil }
        let index = Int(taskID - first)
        return index >= 0 && index < tasks.count && tasks[index].id == taskID ? index : nil
    }

    /// Replaces the task at `index`, keeping the counters and cursor right.
    func replace(at index: Int, with task: RenderTask) {
        let old = tasks[index]
        counts[old.status.index] -= 1
        counts[task.status.index] += 1
        framesDone += Int(task.framesDone) - Int(old.framesDone)
        tasks[index] = task
        if task.status == .queued && index < cursor { cursor = index }
    }

    /// The first queued task `clientID` may take: one it has not failed before, or any queued task
    /// when `mayRetryOwnFailures` (no other client could take it).
    func nextQueued(for clientID: Int64, mayRetryOwnFailures: (RenderTask) -> Bool) -> Int? {
        guard queuedCount > 0 else { return nil }
        while cursor < tasks.count && tasks[cursor].status != .queued { cursor += 1 }
        var index = cursor
        while index < tasks.count {
            let task = tasks[index]
            if task.status == .queued && (!task.failedOn.contains(clientID) || mayRetryOwnFailures(task)) {
                return index
            }
            index += 1
        }
        return nil
    }

    var dispatchKey: DispatchOrder.Key {
        DispatchOrder.Key(priority: job.priority, createdAt: job.createdAt, jobID: job.id)
    }

    /// Whether the job belongs in the dispatch order.
    var isDispatchable: Bool { job.status.isDispatchable && queuedCount > 0 }

    func value(of field: String) -> JSONValue {
        switch field {
        case "id": .int(job.id)
        case "name": .string(job.name)
        case "type": .string(job.kind.rawValue)
        case "status": .string(job.status.rawValue)
        case "priority": .int(Int64(job.priority))
        case "file": .string(job.file)
        case "frames": .string(job.frames)
        case "chunk": .int(Int64(job.chunkSize))
        case "output": .string(job.output)
        case "format": .string(job.format)
        case "scene": job.scene.map(JSONValue.string) ?? .null
        case "argv": .array(job.argv.map(JSONValue.string))
        case "tags": .array(job.tags.map(JSONValue.string))
        case "max_attempts": .int(Int64(job.maxAttempts))
        case "frames_total": .int(Int64(framesTotal))
        case "frames_done": .int(Int64(framesDone))
        case "tasks_total": .int(Int64(tasks.count))
        case "tasks_queued": .int(Int64(count(.queued)))
        case "tasks_active": .int(Int64(count(.active)))
        case "tasks_completed": .int(Int64(count(.completed)))
        case "tasks_failed": .int(Int64(count(.failed)))
        case "tasks_canceled": .int(Int64(count(.canceled)))
        case "created_at": .string(Timestamp.format(job.createdAt))
        case "started_at": job.startedAt.map { .string(Timestamp.format($0)) } ?? .null
        case "finished_at": job.finishedAt.map { .string(Timestamp.format($0)) } ?? .null
        default: .null
        }
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [:]
        for field in Job.schema.fields { object[field.name] = value(of: field.name) }
        return .object(object)
    }
}

extension TaskStatus {
    var index: Int {
        switch self {
        case .queued: 0
        case .active: 1
        case .completed: 2
        case .failed: 3
        case .canceled: 4
        }
    }
}
