/// What can happen to a task.
public enum TaskEvent: Sendable, Equatable {
    /// A client takes it in one of its slots: a new attempt under a new lease.
    case start(clientID: Int64, slot: Int = 0)
    /// The client of a resumable released attempt reports it still runs: the same lease goes on.
    case reclaim
    /// Frames verified so far in the running attempt.
    case progress(framesDone: Int32)
    /// The attempt rendered and verified every frame.
    case complete(framesDone: Int32)
    /// The attempt failed; the task is tried again unless it has used its `maxAttempts`.
    case fail(error: String, maxAttempts: Int)
    /// The attempt ended without a verdict (its worker stopped, went silent, or lost the task):
    /// back in the queue, no failure counted. A `resumable` attempt (its worker only went
    /// silent) may be taken back by that worker while no one else has it.
    case release(reason: String, resumable: Bool = false)
    /// The task will not run (its job was canceled, failed fast, or cannot use it).
    case cancel(reason: String?)
    /// An admin asks for the task to run again, from a clean slate.
    case requeue
}

/// A task's new state after an event, and what the farm must do about it.
public struct TaskTransition: Sendable, Equatable {
    public var task: RenderTask
    /// The client that ran the attempt and runs nothing now.
    public var freedClient: Int64?
    /// The client an attempt failed on (counts toward the job's blocklist).
    public var failedOnClient: Int64?
    /// The task is queued now: idle workers may get it.
    public var nowQueued: Bool { task.status == .queued }
    /// An attempt began: its log starts empty.
    public var attemptBegan: Bool
}

/// The one place a task's status changes. Pure: it takes a task and an event and returns the
/// new task with what to do about it, or refuses.
///
/// ```
/// queued    -start->    active      (a new lease)
/// queued    -reclaim->  active      (resumable only: same lease, its worker never stopped)
/// active    -progress-> active
/// active    -complete-> completed
/// active    -fail->     queued, or failed once maxAttempts attempts failed
/// active    -release->  queued      (no failure counted; resumable when its worker only went silent)
/// queued, active       -cancel->  canceled
/// any but queued       -requeue-> queued (failures and blocklist of the task cleared)
/// ```
public enum TaskLifecycle {
    public static func apply(_ event: TaskEvent, to task: RenderTask, at time: Double) throws(FarmError) -> TaskTransition {
        var next = task
        var freed: Int64?
        var failedOn: Int64?
        var began = false
        func refuse(_ what: String) -> FarmError {
            .conflict("task \(task.id) is \(task.status.rawValue); it cannot \(what)", field: "status")
        }
        switch event {
        case .start(let clientID, let slot):
            guard task.status == .queued else { throw refuse("start") }
            next.status = .active
            next.clientID = clientID
            next.slot = Int16(clamping: slot)
            next.lease += 1
            next.framesDone = 0
            next.startedAt = time
            next.finishedAt = 0
            began = true
        case .reclaim:
            guard task.isResumable else { throw refuse("be taken back") }
            next.status = .active
        case .progress(let frames):
            guard task.status == .active else { throw refuse("make progress") }
            next.framesDone = frames
        case .complete(let frames):
            guard task.status == .active else { throw refuse("complete") }
            next.status = .completed
            next.framesDone = frames
            next.finishedAt = time
            next.error = nil
            freed = task.clientID
        case .fail(let error, let maxAttempts):
            guard task.status == .active else { throw refuse("fail") }
            next.failures += 1
            next.error = error
            next.framesDone = 0
            next.finishedAt = time
            if !next.failedOn.contains(task.clientID) { next.failedOn.append(task.clientID) }
            next.status = Int(next.failures) >= maxAttempts ? .failed : .queued
            freed = task.clientID
            failedOn = task.clientID
        case .release(let reason, let resumable):
            guard task.status == .active else { throw refuse("be put back in the queue") }
            next.status = .queued
            next.framesDone = 0
            next.error = reason
            // An attempt that ended for good is marked with its end; a resumable one is not.
            next.finishedAt = resumable ? 0 : time
            freed = task.clientID
        case .cancel(let reason):
            guard task.status == .queued || task.status == .active else { throw refuse("be canceled") }
            next.status = .canceled
            next.finishedAt = time
            if let reason { next.error = reason }
            if task.status == .active { freed = task.clientID }
        case .requeue:
            guard task.status != .queued else { throw refuse("be requeued") }
            next.status = .queued
            next.failures = 0
            next.failedOn = []
            next.error = nil
            next.framesDone = 0
            next.finishedAt = 0
            if task.status == .active { freed = task.clientID }
        }
        return TaskTransition(task: next, freedClient: freed, failedOnClient: failedOn, attemptBegan: began)
    }
}
