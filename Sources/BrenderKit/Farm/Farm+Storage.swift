import FarmCore
import Foundation
import Logging

/// What the farm holds of a task's current attempt log.
struct LogAttempt {
    var lease: Int32
    /// Bytes of the worker's text stored.
    var stored: Int
    /// Whether the attempt's head is written.
    var hasHead: Bool
}

extension Farm {
    /// The answer to a write that found the disk full.
    func diskFull(_ error: any Error) -> FarmError {
        logger.error("the data directory is full", metadata: ["directory": "\(dataDirectory.path)", "error": "\(error)"])
        return .noSpace(
            "the data directory \(dataDirectory.path) is full (\(error)); nothing was changed. Free space there: deleting finished jobs (brender job delete) removes their logs; the server resumes by itself"
        )
    }

    /// Gives up the space reserve after a write failed for lack of space, and shrinks the
    /// journal. Returns false when there was no reserve left to give.
    func releaseReserve() -> Bool {
        let held = reserve.isHeld
        reserve.release()
        try? store.database.checkpoint()
        if !isLowOnStorage {
            isLowOnStorage = true
            logger.warning(
                "the data directory is full: new jobs and log text are refused until there is room; cancels and deletes still work",
                metadata: ["directory": "\(dataDirectory.path)"])
        }
        return held
    }

    /// Refuses a change that would grow the farm's storage while the disk is full.
    func requireStorage(for what: String) throws(FarmError) {
        guard isLowOnStorage else { return }
        throw FarmError.noSpace(
            "the data directory \(dataDirectory.path) is full, so \(what) cannot be stored now; free space there (brender job delete removes finished jobs and their logs) and try again"
        )
    }

    /// Checks for space once the disk was full: makes the reserve again when there is room, and
    /// then accepts new work again. Called periodically.
    public func checkStorage() {
        if !unwritten.isEmpty { writeChangesInParts() }
        guard isLowOnStorage else { return }
        try? store.database.checkpoint()
        if reserve.make() {
            isLowOnStorage = false
            logger.notice("the data directory has room again; new jobs and logs are accepted", metadata: ["directory": "\(dataDirectory.path)"])
        }
    }

    /// Free space where the farm keeps its data, for `/health`.
    public func storageStatus() -> (directory: String, freeBytes: Int?, low: Bool) {
        let free = StorageReserve.filesystem(dataDirectory.path)?.free
        return (dataDirectory.path, free, isLowOnStorage || (free.map { $0 < reserve.size } ?? false))
    }

    /// Stores what is new in an update's log text for the task's current attempt.
    ///
    /// The server's stored bytes decide: text before them is a resend and is trimmed, text that
    /// starts after them would leave a gap and is not stored. - Returns: the bytes stored for the
    /// attempt afterwards, and whether the update's text now stands whole in the log.
    func storeLog(_ update: WorkerProtocol.TaskUpdate, job: Job, task: RenderTask) throws(FarmError) -> (stored: Int, whole: Bool) {
        var attempt = logAttempt(jobID: job.id, task: task)
        let text = Array(update.log.utf8)
        let end = update.logOffset + text.count
        guard update.logOffset <= attempt.stored else { return (attempt.stored, false) }
        guard end > attempt.stored else { return (attempt.stored, true) }
        try requireStorage(for: "more log text of task \(task.id)")
        do {
            if !attempt.hasHead {
                try logs.writeHead(head(of: task, job: job), jobID: job.id, taskID: task.id, lease: task.lease)
                attempt.hasHead = true
            }
            try logs.append(text[(attempt.stored - update.logOffset)...], jobID: job.id, taskID: task.id, lease: task.lease)
        } catch {
            // Part of the text may be stored: the file's size says how much, next time.
            logAttempts[task.id] = nil
            if error.isFull {
                _ = releaseReserve()
                throw diskFull(error)
            }
            logger.error("cannot write a task log", metadata: ["task": "\(task.id)", "error": "\(error)"])
            throw FarmError.storageFailed("the server could not store the log of task \(task.id) (\(error)); send it again")
        }
        attempt.stored = end
        logAttempts[task.id] = attempt
        events.publish { [.log(taskID: task.id, jobID: job.id, bytes: end)] }
        return (end, true)
    }

    /// The cached state of a task's current attempt log, read from its files when not cached.
    private func logAttempt(jobID: Int64, task: RenderTask) -> LogAttempt {
        if let cached = logAttempts[task.id], cached.lease == task.lease { return cached }
        return LogAttempt(
            lease: task.lease, stored: logs.storedBytes(jobID: jobID, taskID: task.id, lease: task.lease),
            hasHead: logs.hasHead(jobID: jobID, taskID: task.id, lease: task.lease))
    }

    /// The lines written before an attempt's log: why the attempt before it ended, and which one this is.
    private func head(of task: RenderTask, job: Job) -> String {
        var text = ""
        if task.lease > 1 {
            text += "--- attempt \(task.lease - 1) ended: \(task.error ?? "without a result") ---\n"
        }
        let name = clients[task.clientID]?.name ?? "?"
        text +=
            "--- attempt \(task.lease) of task \(task.id) (frames \(task.chunk.description)) on client \(task.clientID) (\(name)), \(Timestamp.format(now())) ---\n"
        return text
    }
}

extension Farm {
    /// Checks the database file (`PRAGMA quick_check`) and its foreign keys, and logs the result:
    /// at start, and once a day while the server runs. Returns whether all was well.
    @discardableResult
    public func checkDatabaseHealth() -> Bool {
        do {
            let check = try store.database.quickCheck()
            let violations = try store.database.foreignKeyViolations()
            let enforced = try store.database.query("PRAGMA foreign_keys") { $0.int(0) }.first == 1
            if check == "ok" && violations.isEmpty && enforced {
                logger.info("database check: ok", metadata: ["quick_check": "ok", "foreign_keys": "on, none broken"])
                return true
            }
            logger.error(
                "database check found damage; take a backup ('brender server backup') and see the README's restore",
                metadata: [
                    "quick_check": "\(check.prefix(512))", "foreign_keys_enforced": "\(enforced)",
                    "foreign_key_violations": "\(violations.prefix(20).joined(separator: ", "))",
                ])
        } catch {
            logger.error("the database could not be checked: \(error)")
        }
        return false
    }
}
