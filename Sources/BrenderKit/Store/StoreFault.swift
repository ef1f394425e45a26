import CSQLite

/// A failure the deterministic simulator gives the database, so that the farm meets crashes and
/// full disks at every point of every change. A server never injects one.
public enum StoreFault: Sendable, Equatable {
    /// The database works.
    case none
    /// The database may not grow past its size now (`PRAGMA max_page_count`): a write that needs a
    /// new page fails with `SQLITE_FULL`, as on a full disk.
    case full
    /// The process dies at a commit: the `afterCommits`-th commit from now (0: the next) and every
    /// one after it are rolled back, as if the process had died before them.
    case crash(afterCommits: Int)
}

/// Counts commits down to a simulated crash; SQLite's commit hook asks it about each.
final class CommitGate {
    var commitsLeft: Int

    init(commitsLeft: Int) {
        self.commitsLeft = commitsLeft
    }

    /// Whether the commit may go through (false from the crash on).
    func allows() -> Bool {
        commitsLeft -= 1
        return commitsLeft >= 0
    }
}

extension SQLiteDatabase {
    /// Whether a simulated crash has struck (a commit was refused).
    public var hasCrashed: Bool { commitGate.map { $0.commitsLeft < 0 } ?? false }

    /// Gives the connection a ``StoreFault`` (replacing the one before).
    public func inject(_ fault: StoreFault) throws {
        switch fault {
        case .none:
            setCommitGate(nil)
            try execute("PRAGMA max_page_count = 4294967294")
        case .full:
            let pages = try query("PRAGMA page_count") { $0.int(0) }.first ?? 0
            try execute("PRAGMA max_page_count = \(pages)")
        case .crash(let afterCommits):
            setCommitGate(CommitGate(commitsLeft: afterCommits))
        }
    }
}
