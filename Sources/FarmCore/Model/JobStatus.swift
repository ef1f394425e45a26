/// A job's status. Which changes are allowed, and why a job changes, is ``JobLifecycle``'s
/// business; this type only names the states.
///
/// - `waiting`: it depends on jobs that have not completed yet (`--after`).
/// - `queued`: no task has started (again) yet; `active`: some have.
/// - `paused`: no new task starts; running ones finish.
/// - `completed`, `failed`, `canceled`: over.
public enum JobStatus: String, Sendable, CaseIterable {
    case waiting, queued, active, paused, completed, failed, canceled

    /// Whether the job's queued tasks may be given to workers.
    public var isDispatchable: Bool { self == .queued || self == .active }

    /// Whether the job is over.
    public var isFinished: Bool { self == .completed || self == .failed || self == .canceled }
}

/// A task's status. Its changes are ``TaskLifecycle``'s business.
public enum TaskStatus: String, Sendable, CaseIterable {
    case queued, active, completed, failed, canceled

    /// Whether the task is over (it runs again only when requeued).
    public var isFinished: Bool { self == .completed || self == .failed || self == .canceled }
}
