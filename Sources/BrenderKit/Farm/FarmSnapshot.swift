import FarmCore

/// The farm's whole state at one moment, as plain values: what the deterministic simulator checks
/// its invariants on, and compares before and after a restart or a refused request.
public struct FarmSnapshot: Sendable, Equatable {
    /// A job with its tasks, its blocklist and the counters the farm keeps of them.
    public struct JobState: Sendable, Equatable {
        public var job: Job
        public var tasks: [RenderTask]
        /// Failures per client; a client at the job's threshold is blocklisted.
        public var blocklist: [Int64: Int]
        /// What the farm counts of the tasks as it changes them, by ``TaskStatus/index`` (they must
        /// be the sums over them).
        public var counted: [Int]
        public var framesDone: Int
        public var framesTotal: Int
        /// Whether the job is in the dispatch order.
        public var inDispatchOrder: Bool
    }

    public var clients: [Int64: Client]
    /// The tasks each client's slots run (not part of ``Client``'s equality).
    public var running: [Int64: [Int: Client.RunningTask]]
    public var jobs: [Int64: JobState]
    /// Jobs whose delete or cancel is committed but not all written.
    public var changesBeingWritten: Set<Int64>
    /// Whether new jobs are refused for a full disk.
    public var isLowOnStorage: Bool
}

extension Farm {
    /// The farm's state now, whole (a few milliseconds for a farm of 100,000 tasks).
    public func snapshot() -> FarmSnapshot {
        var jobStates: [Int64: FarmSnapshot.JobState] = [:]
        jobStates.reserveCapacity(jobs.count)
        let ordered = Set(dispatchOrder.keys.map(\.jobID))
        for (id, runtime) in jobs {
            let counted = TaskStatus.allCases.map { runtime.count($0) }
            jobStates[id] = FarmSnapshot.JobState(
                job: runtime.job, tasks: runtime.tasks, blocklist: runtime.blocklist.failures, counted: counted,
                framesDone: runtime.framesDone, framesTotal: runtime.framesTotal, inDispatchOrder: ordered.contains(id))
        }
        return FarmSnapshot(
            clients: clients, running: clients.mapValues(\.running), jobs: jobStates, changesBeingWritten: Set(unwritten.keys),
            isLowOnStorage: isLowOnStorage)
    }

    /// Makes the store fail as a crash or a full disk would, for the deterministic simulator (a
    /// server never calls it). See ``StoreFault``.
    public func injectStoreFault(_ fault: StoreFault) throws {
        try store.database.inject(fault)
    }

    /// Whether a simulated crash (``StoreFault/crash(afterCommits:)``) has struck: from then
    /// on the farm's answers would never have reached anyone.
    public func storeHasCrashed() -> Bool {
        store.database.hasCrashed
    }
}
