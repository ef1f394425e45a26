import FarmCore

/// The changes one request makes to the farm's memory, with what it takes to undo them.
///
/// The farm applies lifecycle transitions to memory as it decides them (so later rules see
/// earlier changes: a job's counters after its task failed), records here what each changed
/// thing was before, writes every changed row in one transaction, and undoes it all in memory
/// when that write fails. Side effects that others can see (waking workers, log lines) run only
/// after the commit.
final class ChangeBatch {
    private(set) var tasks: [(runtime: JobRuntime, index: Int, before: RenderTask)] = []
    private var taskSeen = SeenIDs()
    private(set) var jobs: [(runtime: JobRuntime, before: Job)] = []
    private var jobSeen = SeenIDs()
    private(set) var blocklists: [(runtime: JobRuntime, before: Blocklist)] = []
    private var blocklistSeen = SeenIDs()
    private(set) var clients: [(id: Int64, before: Client)] = []
    private var clientSeen = SeenIDs()
    /// Tasks whose attempt began (their log starts empty) or ended for good (log cache dropped).
    var attemptsBegan: [(taskID: Int64, lease: Int32)] = []
    var attemptsEnded: [Int64] = []
    /// Some task became queued or some job dispatchable: idle workers may get work.
    var mayWake = false
    /// Messages for the server log, written once committed.
    var notes: [() -> Void] = []
    /// Further writes in the same transaction: a client's deletion that goes with the tasks it
    /// hands back, a job's deletion with the jobs that waited for it.
    var writes: [() throws -> Void] = []
    /// Clients whose record changed: each row written once, as it is at the commit.
    private(set) var clientRows: [Int64] = []
    private var clientRowSeen = SeenIDs()

    /// Whether anything stored changed (client activity is derived, never stored).
    var hasRows: Bool { !tasks.isEmpty || !jobs.isEmpty || !blocklists.isEmpty || !clientRows.isEmpty || !writes.isEmpty }

    func recordTask(_ runtime: JobRuntime, _ index: Int) {
        let task = runtime.tasks[index]
        if taskSeen.insert(task.id) { tasks.append((runtime, index, task)) }
    }

    func recordJob(_ runtime: JobRuntime) {
        if jobSeen.insert(runtime.job.id) { jobs.append((runtime, runtime.job)) }
    }

    func recordBlocklist(_ runtime: JobRuntime) {
        if blocklistSeen.insert(runtime.job.id) { blocklists.append((runtime, runtime.blocklist)) }
    }

    func recordClient(_ client: Client) {
        if clientSeen.insert(client.id) { clients.append((client.id, client)) }
    }

    /// Writes the client's row in the batch's transaction (once, however often it changed).
    func writeClientRow(_ id: Int64) {
        if clientRowSeen.insert(id) { clientRows.append(id) }
    }
}

/// Ids seen in one batch: a short list searched in place (most batches touch one or two
/// things), turned into a set once it grows (a canceled job touches all its tasks).
struct SeenIDs {
    private var list: [Int64] = []
    private var set: Set<Int64>?

    /// Adds `id`; false when it was there already.
    mutating func insert(_ id: Int64) -> Bool {
        if set != nil { return set!.insert(id).inserted }
        if list.contains(id) { return false }
        list.append(id)
        if list.count > 16 { set = Set(list) }
        return true
    }
}
