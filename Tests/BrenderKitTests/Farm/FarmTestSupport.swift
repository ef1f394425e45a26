import BrenderTesting

@testable import BrenderKit
@testable import FarmCore

/// Worker calls by client id, as the unit tests make them: the farm supplies the key the client
/// registered with (or, after a reopen, the simulated key of its name), so each test speaks for
/// the worker it names.
extension Farm {
    func sender(_ clientID: Int64) -> WorkerProtocol.Sender {
        .init(
            clientID: clientID,
            key: verifiedKeys[clientID] ?? clients[clientID].map { WorkerProtocol.Sender.simulatedKey($0.name) } ?? "no-such-client-key")
    }

    func requestTask(clientID: Int64, wait: Double) async throws(APIError) -> WorkerProtocol.Assignment? {
        try await requestTask(sender(clientID), wait: wait)
    }

    func heartbeat(clientID: Int64) throws(APIError) -> WorkerProtocol.HeartbeatReply {
        try heartbeat(sender(clientID))
    }

    func signOff(clientID: Int64) throws(APIError) {
        try signOff(sender(clientID))
    }

    func updateTask(
        clientID: Int64, _ assignment: WorkerProtocol.Assignment, _ state: WorkerProtocol.TaskState, frames: [Int] = [], log: String = "",
        logOffset: Int = 0, error: String? = nil, nextWait: Double? = nil
    ) async throws(APIError) -> WorkerProtocol.TaskUpdateReply {
        try await updateTask(
            .init(
                sender: sender(clientID), taskID: assignment.taskID, jobID: assignment.jobID, lease: assignment.lease, state: state,
                framesDone: frames, log: log, logOffset: logOffset, error: error, nextWait: nextWait))
    }
}

extension Farm {
    /// Caps the database at its current size plus `extraPages`: later writes that would grow it
    /// fail as on a full disk (`SQLITE_FULL`), as SQLite itself reports it.
    func capDatabase(extraPages: Int) throws {
        let pages = try store.database.query("PRAGMA page_count") { $0.int(0) }[0]
        _ = try store.database.query("PRAGMA max_page_count = \(pages + extraPages)") { $0.int(0) }
    }

    /// Lifts the cap of ``capDatabase(extraPages:)``.
    func uncapDatabase() throws {
        _ = try store.database.query("PRAGMA max_page_count = 4294967294") { $0.int(0) }
    }

    /// Breaks the farm's bookkeeping on purpose: the client forgets the tasks it runs.
    func forgetCurrentTask(of clientID: Int64) {
        clients[clientID]?.running = [:]
    }

    var lowOnStorage: Bool { isLowOnStorage }
    var reserveHeld: Bool { reserve.isHeld }
}

extension Farm {
    /// The `worker_key` column of every client row, as stored.
    func storedWorkerKeys() throws -> [String] {
        try store.database.query("SELECT worker_key FROM clients ORDER BY id") { $0.string(0) }
    }

    /// Overwrites every client's stored key, as a database from before digests would hold it.
    func storeWorkerKeyAsPlainText(_ key: String) throws {
        try store.database.run("UPDATE clients SET worker_key = ?1", [.text(key)])
    }
}

extension Farm {
    /// Stores a task of a job that does not exist, as a damaged database could hold one.
    func storeTaskOfAMissingJob() throws {
        try store.database.execute("PRAGMA foreign_keys = OFF")
        try store.database.run("INSERT INTO tasks (job_id, frame_start, frame_end, frame_step, status) VALUES (9999, 1, 1, 1, 'queued')")
        try store.database.execute("PRAGMA foreign_keys = ON")
    }
}
