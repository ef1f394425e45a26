/// A job's status, and the only transitions allowed between statuses.
///
/// ```
/// queued    -> active, paused, canceled, completed, failed
/// active    -> paused, canceled, completed, failed, queued
/// paused    -> queued, active, canceled
/// completed -> queued, active            (requeue --all)
/// failed    -> queued, active, canceled  (requeue)
/// canceled  -> queued, active            (requeue)
/// ```
/// `queued` means no task of the job has started (again) yet; `active` that some have.
public enum JobStatus: String, Sendable, CaseIterable {
    case queued, active, paused, completed, failed, canceled

    /// The statuses this one may change to.
    public var allowedNext: Set<JobStatus> {
        switch self {
        case .queued: [.active, .paused, .canceled, .completed, .failed]
        case .active: [.paused, .canceled, .completed, .failed, .queued]
        case .paused: [.queued, .active, .canceled]
        case .completed: [.queued, .active]
        case .failed: [.queued, .active, .canceled]
        case .canceled: [.queued, .active]
        }
    }

    public func canChange(to next: JobStatus) -> Bool {
        next == self || allowedNext.contains(next)
    }

    /// Whether the job's queued tasks may be given to workers.
    public var isDispatchable: Bool { self == .queued || self == .active }

    /// Whether the job has work in progress (it may not be deleted).
    public var isRunning: Bool { self == .active }

    /// Whether the job is over.
    public var isFinished: Bool { self == .completed || self == .failed || self == .canceled }
}

/// A task's status, and the only transitions allowed between statuses.
///
/// ```
/// queued    -> active, canceled
/// active    -> completed, failed, queued, canceled
/// completed -> queued        (requeue --all)
/// failed    -> queued        (requeue)
/// canceled  -> queued        (requeue)
/// ```
public enum TaskStatus: String, Sendable, CaseIterable {
    case queued, active, completed, failed, canceled

    public var allowedNext: Set<TaskStatus> {
        switch self {
        case .queued: [.active, .canceled]
        case .active: [.completed, .failed, .queued, .canceled]
        case .completed, .failed, .canceled: [.queued]
        }
    }

    public func canChange(to next: TaskStatus) -> Bool {
        allowedNext.contains(next)
    }
}
