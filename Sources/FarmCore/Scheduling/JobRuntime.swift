/// A job's working state in the server's memory: its record, its tasks in id order, counters
/// kept up to date on every change, its blocklist, and a cursor below which no task is queued.
///
/// Owned by the ``Farm`` actor; never shared. Statuses in it change only through the lifecycles
/// (``TaskLifecycle``, ``JobLifecycle``), applied by the farm.
public final class JobRuntime {
    public var job: Job
    public private(set) var tasks: [RenderTask]
    /// Tasks per role and status: `counts[role.index][status.index]`.
    private var counts: [[Int]]
    public private(set) var framesTotal: Int
    public private(set) var framesDone: Int
    /// Failed tasks per client; a client at the job's threshold gets none of its tasks.
    public var blocklist: Blocklist
    /// Bumped whenever a completed render task comes or goes: the median below is then stale.
    private var durationsVersion = 0
    /// The median duration of completed render tasks and how many there were, as of a version.
    private var medianCache: (version: Int, count: Int, median: Double)?
    /// No task before this index is queued.
    private var cursor = 0
    /// Seconds and frames of the completed render tasks: the job's pace, for its time left.
    private var completedSeconds = 0.0
    private var completedFrames = 0

    public init(job: Job, tasks: [RenderTask], blocklist: Blocklist = Blocklist()) {
        self.job = job
        self.tasks = tasks
        self.blocklist = blocklist
        counts = Array(repeating: Array(repeating: 0, count: TaskStatus.allCases.count), count: RenderTask.Role.allCases.count)
        framesTotal = 0
        framesDone = 0
        for task in tasks {
            counts[task.role.index][task.status.index] += 1
            framesTotal += task.frameCount
            framesDone += Int(task.framesDone)
            countPace(of: task, sign: 1)
        }
    }

    private func countPace(of task: RenderTask, sign: Int) {
        guard let seconds = Self.duration(of: task) else { return }
        completedSeconds += Double(sign) * seconds
        completedFrames += sign * task.frameCount
    }

    /// About how many seconds until every frame is rendered: the frames left at the pace of the
    /// completed tasks (seconds per frame), spread over the render tasks running now. Nil when
    /// there is no pace yet, or nothing runs (it waits for clients); 0 when every frame is done.
    public var secondsLeft: Int? {
        let left = framesTotal - framesDone
        guard left > 0 else { return 0 }
        let running = count(.active, role: .render)
        guard completedFrames > 0, running > 0 else { return nil }
        let perFrame = max(0, completedSeconds) / Double(completedFrames)
        return Int((Double(left) * perFrame / Double(running)).rounded(.up))
    }

    public var firstTaskID: Int64 { tasks.first?.id ?? 0 }

    public func count(_ status: TaskStatus) -> Int { counts[0][status.index] + counts[1][status.index] }

    public func count(_ status: TaskStatus, role: RenderTask.Role) -> Int { counts[role.index][status.index] }

    public var queuedCount: Int { count(.queued) }

    /// The index of the task with `id`, if it belongs to this job.
    public func index(of taskID: Int64) -> Int? {
        guard let first = tasks.first?.id else { return nil }
        let index = Int(taskID - first)
        return index >= 0 && index < tasks.count && tasks[index].id == taskID ? index : nil
    }

    /// Replaces the task at `index`, keeping the counters and cursor right. Only the farm's
    /// lifecycle code calls it.
    public func replace(at index: Int, with task: RenderTask) {
        let old = tasks[index]
        counts[old.role.index][old.status.index] -= 1
        counts[task.role.index][task.status.index] += 1
        framesDone += Int(task.framesDone) - Int(old.framesDone)
        if Self.duration(of: old) != nil || Self.duration(of: task) != nil {
            durationsVersion &+= 1
            countPace(of: old, sign: -1)
            countPace(of: task, sign: 1)
        }
        tasks[index] = task
        if task.status == .queued && index < cursor { cursor = index }
    }

    private static func duration(of task: RenderTask) -> Double? {
        task.status == .completed && task.role == .render && task.finishedAt >= task.startedAt && task.startedAt > 0
            ? task.finishedAt - task.startedAt : nil
    }

    /// The first queued task `client` may take (see ``DispatchPolicy``): one it has not failed
    /// before, or any queued task when `mayRetryOwnFailures` (no other client could take it).
    /// A video task waits until every render task completed, and needs a client with ffmpeg.
    public func nextQueued(for client: Client, mayRetryOwnFailures: (RenderTask) -> Bool) -> Int? {
        guard queuedCount > 0 else { return nil }
        while cursor < tasks.count && tasks[cursor].status != .queued { cursor += 1 }
        var index = cursor
        while index < tasks.count {
            let task = tasks[index]
            if task.status == .queued && (task.role == .render || (rendersCompleted && DispatchPolicy.canEncodeVideo(client)))
                && (!task.failedOn.contains(client.id) || mayRetryOwnFailures(task))
            {
                return index
            }
            index += 1
        }
        return nil
    }

    /// Whether every render task completed (a video task may start).
    public var rendersCompleted: Bool {
        counts[RenderTask.Role.render.index][TaskStatus.completed.index] == tasks.count - counts[RenderTask.Role.video.index].reduce(0, +)
    }

    public var dispatchKey: DispatchOrder.Key {
        DispatchOrder.Key(priority: job.priority, createdAt: job.createdAt, jobID: job.id)
    }

    /// Whether the job belongs in the dispatch order.
    public var isDispatchable: Bool { job.status.isDispatchable && queuedCount > 0 }

    /// What the job's rules need to know about its tasks.
    public var tally: TaskTally {
        var tally = TaskTally()
        tally.queued = count(.queued)
        tally.active = count(.active)
        tally.completed = count(.completed)
        tally.failed = count(.failed)
        tally.canceled = count(.canceled)
        tally.openRender = count(.queued, role: .render) + count(.active, role: .render)
        tally.videoQueued = count(.queued, role: .video) > 0
        tally.videoFailed = count(.failed, role: .video) > 0
        // Named only in messages about the job's end: not worth a scan of every task otherwise.
        if tally.failed > 0 && (tally.open == 0 || job.failFast || (tally.videoQueued && tally.openRender == 0)) {
            tally.failedFrames = failedFrames
        }
        return tally
    }

    /// The frames of the failed render tasks, as a frame spec.
    public var failedFrames: String {
        var ranges: [String] = []
        for task in tasks where task.status == .failed && task.role == .render {
            ranges.append(task.chunk.description)
        }
        return ranges.joined(separator: ",")
    }

    /// The median duration of completed render tasks, once there are at least `minimum`.
    ///
    /// Worked out when asked (a read that shows slow tasks) and kept until a task completes or
    /// is requeued: completing a task must not cost the dispatch path anything.
    public func medianDuration(minimum: Int) -> Double? {
        if medianCache?.version != durationsVersion {
            var durations = tasks.compactMap(Self.duration(of:))
            durations.sort()
            let middle = durations.count / 2
            let median =
                durations.isEmpty ? 0 : durations.count % 2 == 1 ? durations[middle] : (durations[middle - 1] + durations[middle]) / 2
            medianCache = (durationsVersion, durations.count, median)
        }
        guard let cache = medianCache, cache.count >= minimum, cache.count > 0 else { return nil }
        return cache.median
    }
}

extension TaskStatus {
    /// The status's place in `allCases`, for counts kept in arrays.
    public var index: Int {
        switch self {
        case .queued: 0
        case .active: 1
        case .completed: 2
        case .failed: 3
        case .canceled: 4
        }
    }
}

extension RenderTask.Role {
    public var index: Int { self == .render ? 0 : 1 }
}
