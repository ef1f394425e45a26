/// The rules of `--after`: a job runs once every job it names completed; it never runs when one
/// of them failed, was canceled or deleted; and no job may end up waiting for itself.
public enum Dependencies {
    /// Where a job's dependencies stand, given each one's status (nil: it does not exist).
    public static func state(of after: [Int64], status: (Int64) -> JobStatus?) -> DependencyState {
        var pending: [Int64] = []
        for id in after {
            switch status(id) {
            case nil: return .broken("job \(id), which it waits for, was deleted")
            case .completed: continue
            case .failed: return .broken("job \(id), which it waits for, failed")
            case .canceled: return .broken("job \(id), which it waits for, was canceled")
            default: pending.append(id)
            }
        }
        return pending.isEmpty ? .met : .pending(pending)
    }

    /// The chain of jobs that would wait for itself if `jobID` waited for `after`, as
    /// `[jobID, ..., jobID]`, or nil when there is no cycle.
    public static func cycle(from jobID: Int64, after: [Int64], dependencies: (Int64) -> [Int64]) -> [Int64]? {
        // Depth-first from each new dependency, looking for jobID.
        var visited: Set<Int64> = []
        func search(_ id: Int64, path: [Int64]) -> [Int64]? {
            if id == jobID { return path + [id] }
            guard visited.insert(id).inserted else { return nil }
            for next in dependencies(id) {
                if let found = search(next, path: path + [id]) { return found }
            }
            return nil
        }
        for id in after {
            if let found = search(id, path: [jobID]) { return found }
        }
        return nil
    }
}
