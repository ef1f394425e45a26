/// Whether the jobs a job waits for (`--after`) let it run.
public enum DependencyState: Sendable, Equatable {
    /// Every one completed.
    case met
    /// These have not finished yet.
    case pending([Int64])
    /// One failed, was canceled or deleted: the job cannot run. The text says which and why.
    case broken(String)

    public var isBroken: Bool {
        if case .broken = self { return true }
        return false
    }
}

/// A job's tasks counted by status, and what the job's rules need to know about them.
public struct TaskTally: Sendable, Equatable {
    public var queued = 0
    public var active = 0
    public var completed = 0
    public var failed = 0
    public var canceled = 0
    /// Render tasks still to run (queued or active).
    public var openRender = 0
    /// A video task is queued, waiting for the render tasks.
    public var videoQueued = false
    /// The video task failed for good.
    public var videoFailed = false
    /// The frames of failed render tasks, as a frame spec (e.g. "12,40-42"), for messages.
    public var failedFrames = ""

    /// What failed, for messages: "frames 12,40-42", "the video", or both.
    public var failures: String {
        let frames = failedFrames.isEmpty ? nil : "frames \(failedFrames)"
        let video = videoFailed ? "the video" : nil
        return [frames, video].compactMap { $0 }.joined(separator: " and ")
    }

    public init() {}

    public var open: Int { queued + active }
}

/// What can happen to a job.
public enum JobEvent: Sendable, Equatable {
    case pause
    case resume(DependencyState)
    case cancel(reason: String?)
    /// One of its tasks started.
    case taskStarted
    /// Its tasks changed: it may have completed, failed, or need tasks canceled.
    case tasksChanged(TaskTally)
    /// Some of its tasks were requeued.
    case requeued(DependencyState)
    /// A job it waits for finished (or came back).
    case dependenciesChanged(DependencyState)
    /// No client could ever run it (all blocklisted, or none has its tags).
    case noCapableClient(String)
}

/// Tasks of a job that must be canceled because of the job's new state.
public struct TaskCancellation: Sendable, Equatable {
    /// Only tasks of this role (nil: all).
    public var role: RenderTask.Role?
    public var reason: String
}

/// A job's new state after an event, and what the farm must do about it.
public struct JobTransition: Sendable, Equatable {
    public var job: Job
    /// Open tasks to cancel (a finished job has no queued or active task).
    public var cancel: TaskCancellation?
    /// The job finished or left a finished state: jobs that wait for it must look again.
    public var finishedChanged: Bool
}

/// The one place a job's status changes. Pure: a job, an event, what it knows of the tasks,
/// and the time in; the new job and what to do out, or a refusal.
///
/// ```
/// waiting   -> queued, paused, canceled, failed (a job it waits for failed)
/// queued    -> waiting (given new dependencies), active, paused, canceled, completed, failed
/// active    -> paused, canceled, completed, failed
/// paused    -> waiting, queued, active (resume), canceled, completed, failed
/// completed -> waiting, queued, active (requeue)
/// failed    -> waiting, queued, active (requeue)
/// canceled  -> waiting, queued, active (requeue)
/// ```
/// A job that finishes has no open task left: the change that finishes it cancels them.
public enum JobLifecycle {
    /// The allowed changes, as drawn above.
    public static let allowed: [JobStatus: Set<JobStatus>] = [
        .waiting: [.queued, .paused, .canceled, .failed],
        .queued: [.waiting, .active, .paused, .canceled, .completed, .failed],
        .active: [.paused, .canceled, .completed, .failed],
        .paused: [.waiting, .queued, .active, .canceled, .completed, .failed],
        .completed: [.waiting, .queued, .active],
        .failed: [.waiting, .queued, .active],
        .canceled: [.waiting, .queued, .active],
    ]

    /// Whether `event` leaves a job of this status exactly as it is, decided from three of its
    /// fields without copying the job: the common case on the dispatch path (a task of a running
    /// job starts or completes). Exact: when it says so, ``apply(_:to:at:)`` returns the job
    /// unchanged with nothing to cancel.
    public static func leavesUnchanged(_ event: JobEvent, status: JobStatus, started: Bool, failFast: Bool) -> Bool {
        switch event {
        case .taskStarted:
            return status != .queued && started
        case .tasksChanged(let tally):
            if status.isFinished { return true }
            let failsFast = tally.failed > 0 && failFast
            let videoStranded = tally.videoQueued && tally.openRender == 0 && tally.failed + tally.canceled > 0
            return !failsFast && !videoStranded && tally.open > 0
        default:
            return false
        }
    }

    public static func apply(_ event: JobEvent, to job: Job, at time: Double) throws(FarmError) -> JobTransition {
        var next = job
        var cancel: TaskCancellation?
        func refuse(_ what: String, advice: String = "") -> FarmError {
            .conflict("job \(job.id) is \(job.status.rawValue); it cannot \(what)\(advice)", field: "values.status")
        }
        func finish(_ status: JobStatus, reason: String?) {
            next.status = status
            next.finishedAt = time
            next.reason = reason
        }
        /// Where a job goes when it may run again.
        func runnable(_ dependencies: DependencyState) {
            switch dependencies {
            case .met:
                next.status = job.startedAt == nil ? .queued : .active
                next.reason = nil
            case .pending(let ids):
                next.status = .waiting
                next.reason = "waits for job\(ids.count == 1 ? "" : "s") \(ids.map(String.init).joined(separator: ", "))"
            case .broken(let why):
                finish(.failed, reason: why)
                cancel = TaskCancellation(role: nil, reason: "not started: \(why)")
            }
        }

        switch event {
        case .pause:
            if job.status.isFinished { throw refuse("be paused") }
            next.status = .paused
        case .resume(let dependencies):
            if job.status.isFinished { throw refuse("be resumed", advice: "; requeue its tasks to run it again") }
            if job.status == .paused {
                next.finishedAt = nil
                runnable(dependencies)
            }
        case .cancel(let reason):
            if job.status == .canceled { break }
            if job.status.isFinished { throw refuse("be canceled") }
            finish(.canceled, reason: reason)
            cancel = TaskCancellation(role: nil, reason: reason ?? "its job was canceled")
        case .taskStarted:
            if job.status == .queued { next.status = .active }
            if next.startedAt == nil { next.startedAt = time }
        case .tasksChanged(let tally):
            guard !job.status.isFinished else { break }
            if tally.failed > 0 && job.failFast {
                let why = "\(tally.failures) failed (--fail-fast)"
                finish(.failed, reason: why)
                if tally.open > 0 { cancel = TaskCancellation(role: nil, reason: "canceled: \(why)") }
            } else if tally.videoQueued && tally.openRender == 0 && tally.failed + tally.canceled > 0 {
                cancel = TaskCancellation(role: .video, reason: "no video: frames \(tally.failedFrames) were not rendered")
            } else if tally.open == 0 {
                if tally.failed + tally.canceled > 0 {
                    finish(.failed, reason: tally.failed > 0 ? "\(tally.failures) failed" : "some tasks were canceled")
                } else {
                    finish(.completed, reason: nil)
                }
            }
        case .requeued(let dependencies):
            if job.status.isFinished {
                next.finishedAt = nil
                runnable(dependencies)
            }
        case .dependenciesChanged(let dependencies):
            // A job that has not started yet may be given new dependencies and wait again.
            if job.status == .waiting || (job.status == .queued && job.startedAt == nil) { runnable(dependencies) }
        case .noCapableClient(let why):
            guard job.status != .waiting, !job.status.isFinished else { break }
            finish(.failed, reason: why)
            cancel = TaskCancellation(role: nil, reason: "not run: \(why)")
        }
        if next.status != job.status && !(allowed[job.status]?.contains(next.status) ?? false) {
            throw refuse("become \(next.status.rawValue)")
        }
        return JobTransition(job: next, cancel: cancel, finishedChanged: next.status.isFinished != job.status.isFinished)
    }
}
