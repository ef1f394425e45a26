/// A change to a big job that is committed in one small transaction and written out in parts.
///
/// Deleting or canceling a job touches every one of its task rows; for a job of 100,000 tasks
/// that is more journal than a full disk's reserve holds. So the change itself is one row here,
/// committed at once (the job is gone, or canceled, from then on), and its task rows follow in
/// parts small enough for the reserve, each in its own transaction. A farm loaded while a change
/// is unfinished applies the row and writes the rest.
public struct JobChangeInParts: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The job is deleted: its task rows are removed in parts, then the job's row.
        case delete
        /// The job was canceled: its queued tasks are canceled with `reason` at `time`.
        case cancel
    }

    public var jobID: Int64
    public var kind: Kind
    public var reason: String
    public var time: Double

    public init(jobID: Int64, kind: Kind, reason: String = "", time: Double = 0) {
        self.jobID = jobID
        self.kind = kind
        self.reason = reason
        self.time = time
    }
}

extension FarmStore {
    /// Records a change made in parts; a later one for the same job (a delete after a cancel)
    /// replaces it.
    public func beginChangeInParts(_ change: JobChangeInParts) throws {
        try database.run(
            "INSERT OR REPLACE INTO job_changes_in_parts (job_id, kind, reason, at) VALUES (?1, ?2, ?3, ?4)",
            [.integer(change.jobID), .text(change.kind.rawValue), .text(change.reason), .real(change.time)])
    }

    /// Forgets a change whose rows are all written.
    public func endChangeInParts(jobID: Int64) throws {
        try database.run("DELETE FROM job_changes_in_parts WHERE job_id = ?1", [.integer(jobID)])
    }

    /// The changes still being written, by job id. A kind the code does not know stops the load.
    public func loadChangesInParts() throws -> [Int64: JobChangeInParts] {
        let rows = try database.query("SELECT job_id, kind, reason, at FROM job_changes_in_parts") { row in
            (row.int64(0), row.string(1), row.string(2), row.double(3))
        }
        var changes: [Int64: JobChangeInParts] = [:]
        for (jobID, kind, reason, time) in rows {
            guard let kind = JobChangeInParts.Kind(rawValue: kind) else {
                throw StoreError.unknownValue(table: "job_changes_in_parts", row: jobID, column: "kind", value: kind)
            }
            changes[jobID] = JobChangeInParts(jobID: jobID, kind: kind, reason: reason, time: time)
        }
        return changes
    }

    /// Removes up to `limit` task rows of a deleted job; returns how many were removed.
    public func deleteTasks(ofJob jobID: Int64, limit: Int) throws -> Int {
        try database.run(
            "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE job_id = ?1 LIMIT ?2)", [.integer(jobID), .integer(Int64(limit))])
        return database.changes
    }
}
