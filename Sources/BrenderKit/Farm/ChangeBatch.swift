/// The changes one request makes to the farm's memory, with what it takes to undo them.
///
/// The farm applies lifecycle transitions to memory as it decides them (so later rules see
/// earlier changes: a job's counters after its task failed), records here what each changed
/// thing was before, writes every changed row in one transaction, and undoes it all in memory
/// when that write fails. Side effects that others can see (waking workers, log lines) run only
/// after the commit.
final class ChangeBatch {
    private(set) var tasks: [(runtime: JobRuntime, index: Int, before: RenderTask)] = []
    private var taskSeen: Set<Int64> = []
    private(set) var jobs: [(runtime: JobRuntime, before: Job)] = []
    private var jobSeen: Set<Int64> = []
    private(set) var blocklists: [(runtime: JobRuntime, before: Blocklist)] = []
    private var blocklistSeen: Set<Int64> = []
    private(set) var clients: [Int64: Client] = [:]
    /// Tasks whose attempt began (their log starts empty) or ended for good (log cache dropped).
    var attemptsBegan: [(taskID: Int64, lease: Int32)] = []
    var attemptsEnded: [Int64] = []
    /// Some task became queued or some job dispatchable: idle workers may get work.
    var mayWake = false
    /// Messages for the server log, written once committed.
    var notes: [() -> Void] = []

    /// Whether anything stored changed (client activity is derived, never stored).
    var hasRows: Bool { !tasks.isEmpty || !jobs.isEmpty || !blocklists.isEmpty }

    func recordTask(_ runtime: JobRuntime, _ index: Int) {
        let task = runtime.tasks[index]
        if taskSeen.insert(task.id).inserted { tasks.append((runtime, index, task)) }
    }

    func recordJob(_ runtime: JobRuntime) {
        if jobSeen.insert(runtime.job.id).inserted { jobs.append((runtime, runtime.job)) }
    }

    func recordBlocklist(_ runtime: JobRuntime) {
        if blocklistSeen.insert(runtime.job.id).inserted { blocklists.append((runtime, runtime.blocklist)) }
    }

    func recordClient(_ client: Client) {
        if clients[client.id] == nil { clients[client.id] = client }
    }
}
