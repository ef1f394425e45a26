import FarmCore

/// What the API's items need from the farm to show derived fields: the time (for slow tasks),
/// the slow-task rule, and the clients (for names).
struct ItemContext {
    let now: Double
    /// A running task is slow past this many times the median of its job's completed tasks.
    let slowFactor: Double
    /// Completed tasks a job needs before its median counts.
    static let slowMinimumCompleted = 5
    let clients: [Int64: Client]

    /// Whether a running task has run much longer than its job's completed tasks.
    func isSlow(_ task: RenderTask, in runtime: JobRuntime) -> Bool {
        guard task.status == .active, task.role == .render, let median = runtime.medianDuration(minimum: Self.slowMinimumCompleted)
        else { return false }
        return now - task.startedAt > slowFactor * max(median, 0.001)
    }
}
