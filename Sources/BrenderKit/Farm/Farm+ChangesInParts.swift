import FarmCore
import Foundation
import Logging

/// What is left to write of a big job's delete or cancel (see ``JobChangeInParts``).
struct UnwrittenChange {
    var change: JobChangeInParts
    /// For a cancel: the canceled tasks whose rows still say queued.
    var taskIDs: ArraySlice<Int64>
    /// Whether the log said it waits for room (said once, not at every try).
    var reported = false
}

extension Farm {
    /// Task rows written in one part: a few dozen pages of journal, well inside the smallest
    /// reserve (256 KiB). A change of more rows than this is committed in parts.
    static let rowsPerPart = 1000

    /// Writes out the unfinished changes, part by part, shrinking the journal between parts while
    /// the disk is full: right after the change that began them, at start-up, and with every
    /// storage check (``checkStorage()``) until done. Stops at a part the disk cannot take even
    /// on the reserve. Returns whether everything is written.
    @discardableResult
    public func writeChangesInParts() -> Bool {
        for jobID in unwritten.keys.sorted() where !writeParts(of: jobID) { return false }
        return true
    }

    /// Whether a change of `jobID` is still being written.
    func isBeingWritten(_ jobID: Int64) -> Bool { unwritten[jobID] != nil }

    private func writeParts(of jobID: Int64) -> Bool {
        while var pending = unwritten[jobID] {
            do {
                let finished = try writePart(of: &pending)
                unwritten[jobID] = finished ? nil : pending
            } catch {
                if !pending.reported {
                    logger.warning(
                        "a job's \(pending.change.kind.rawValue) is not all written yet; it goes on when the disk has room",
                        metadata: ["job": "\(jobID)", "error": "\(error.message)"])
                    unwritten[jobID]?.reported = true
                }
                return false
            }
            if isLowOnStorage { try? store.database.checkpoint() }
        }
        return true
    }

    /// Writes one part of a change; true when it was the last (the change's record goes with it).
    private func writePart(of pending: inout UnwrittenChange) throws(FarmError) -> Bool {
        let jobID = pending.change.jobID
        switch pending.change.kind {
        case .delete:
            return try writeThrough {
                let removed = try store.deleteTasks(ofJob: jobID, limit: Self.rowsPerPart)
                guard removed < Self.rowsPerPart else { return false }
                try store.deleteJob(id: jobID)
                try store.endChangeInParts(jobID: jobID)
                return true
            }
        case .cancel:
            let part = pending.taskIDs.prefix(Self.rowsPerPart)
            let runtime = jobs[jobID]
            let last = part.count == pending.taskIDs.count
            try writeThrough {
                for id in part {
                    if let runtime, let index = runtime.index(of: id) { try store.updateTask(runtime.tasks[index]) }
                }
                if last { try store.endChangeInParts(jobID: jobID) }
            }
            pending.taskIDs = pending.taskIDs.dropFirst(part.count)
            return last
        }
    }

    /// The jobs a batch cancels so many queued tasks of that their rows are written in parts
    /// after the batch commits (the job's finished status, in the batch, already says they are
    /// canceled). Tasks canceled by one event share its reason; anything else is written whole.
    func cancelsInParts(_ batch: ChangeBatch) -> [UnwrittenChange] {
        guard batch.tasks.count > Self.rowsPerPart else { return [] }
        var byJob: [Int64: UnwrittenChange] = [:]
        var mixed: Set<Int64> = []
        for (runtime, index, before) in batch.tasks where before.status == .queued {
            let task = runtime.tasks[index]
            guard task.status == .canceled, runtime.job.status.isFinished else { continue }
            let jobID = runtime.job.id
            let reason = task.error ?? ""
            if byJob[jobID] == nil {
                byJob[jobID] = UnwrittenChange(
                    change: JobChangeInParts(jobID: jobID, kind: .cancel, reason: reason, time: task.finishedAt), taskIDs: [])
            } else if byJob[jobID]!.change.reason != reason {
                mixed.insert(jobID)
            }
            byJob[jobID]!.taskIDs.append(task.id)
        }
        return byJob.values.filter { $0.taskIDs.count > Self.rowsPerPart && !mixed.contains($0.change.jobID) }.sorted {
            $0.change.jobID < $1.change.jobID
        }
    }

    /// Refuses a batch that changes a job whose last change is not all written (the disk is
    /// full): its rows would be written over by the rest of that change.
    func refuseChangesBeingWritten(_ batch: ChangeBatch) throws(FarmError) {
        guard !unwritten.isEmpty else { return }
        let touched = batch.jobs.map(\.runtime.job.id) + batch.tasks.map(\.runtime.job.id)
        guard let jobID = touched.first(where: isBeingWritten) else { return }
        throw FarmError.noSpace(
            "the data directory \(dataDirectory.path) is full and job \(jobID)'s \(unwritten[jobID]!.change.kind.rawValue) is not all written yet, so the job cannot change now; free space there and try again"
        )
    }
}
