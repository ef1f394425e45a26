import FarmCore
import Foundation

extension FarmStore {
    private static let jobColumns = """
        id, name, kind, status, priority, file, frames, chunk_size, output, format, scene, argv, tags, max_attempts, created_at,
        started_at, finished_at, after, fail_fast, task_timeout, blocklist_threshold, reason, video, settings_source, submitted_by,
        cold, blender_version, allow_scripts
        """

    public func loadJobs() throws -> [Job] {
        try database.query("SELECT \(Self.jobColumns) FROM jobs ORDER BY id") { row in
            let id = row.int64(0)
            var job = Job(
                id: id, name: row.string(1), kind: try StoreError.known(row.string(2), table: "jobs", row: id, column: "kind"),
                status: try StoreError.known(row.string(3), table: "jobs", row: id, column: "status"), priority: row.int(4), file: row.string(5),
                frames: row.string(6),
                chunkSize: row.int(7), output: row.string(8), format: row.string(9), scene: row.optionalString(10),
                argv: ((try? JSONValue.parse(Data(row.string(11).utf8)))?.arrayValue ?? []).compactMap(\.stringValue),
                tags: row.string(12).split(separator: ",").map(String.init), maxAttempts: row.int(13), createdAt: row.double(14),
                startedAt: row.isNull(15) ? nil : row.double(15), finishedAt: row.isNull(16) ? nil : row.double(16))
            job.after = row.string(17).split(separator: ",").compactMap { Int64($0) }
            job.failFast = row.int(18) != 0
            job.taskTimeout = row.double(19)
            job.blocklistThreshold = row.int(20)
            job.reason = row.optionalString(21)
            if let video = row.optionalString(22) {
                guard let spec = (try? JSONValue.parse(Data(video.utf8))).flatMap(VideoSpec.init(json:)) else {
                    throw StoreError.unknownValue(table: "jobs", row: id, column: "video", value: video)
                }
                job.video = spec
            }
            job.settingsSource = row.string(23)
            job.submittedBy = row.string(24)
            job.cold = row.int(25) != 0
            job.blenderVersion = row.optionalString(26)
            job.allowScripts = row.int(27) != 0
            return job
        }
    }

    /// Inserts a job and returns its id.
    public func insertJob(_ job: Job) throws -> Int64 {
        let argv = JSONValue.array(job.argv.map(JSONValue.string)).serialized()
        try database.run(
            """
            INSERT INTO jobs (name, kind, status, priority, file, frames, chunk_size, output, format, scene, argv, tags, max_attempts,
                created_at, after, fail_fast, task_timeout, blocklist_threshold, reason, video, settings_source, submitted_by, cold,
                blender_version, allow_scripts)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)
            """,
            [
                .text(job.name), .text(job.kind.rawValue), .text(job.status.rawValue), .integer(Int64(job.priority)), .text(job.file),
                .text(job.frames), .integer(Int64(job.chunkSize)), .text(job.output), .text(job.format), job.scene.map(SQLiteValue.text) ?? .null,
                .text(argv), .text(job.tags.joined(separator: ",")), .integer(Int64(job.maxAttempts)), .real(job.createdAt),
                .text(job.after.map(String.init).joined(separator: ",")), .integer(job.failFast ? 1 : 0), .real(job.taskTimeout),
                .integer(Int64(job.blocklistThreshold)), job.reason.map(SQLiteValue.text) ?? .null,
                job.video.map { SQLiteValue.text($0.json.serialized()) } ?? .null, .text(job.settingsSource), .text(job.submittedBy),
                .integer(job.cold ? 1 : 0), job.blenderVersion.map(SQLiteValue.text) ?? .null, .integer(job.allowScripts ? 1 : 0),
            ])
        return database.lastInsertRowID
    }

    /// Writes the columns of a job that change after submission.
    public func updateJob(_ job: Job) throws {
        try database.run(
            """
            UPDATE jobs SET name = ?2, status = ?3, priority = ?4, output = ?5, started_at = ?6, finished_at = ?7, tags = ?8,
                max_attempts = ?9, after = ?10, task_timeout = ?11, blocklist_threshold = ?12, reason = ?13, fail_fast = ?14
            WHERE id = ?1
            """,
            [
                .integer(job.id), .text(job.name), .text(job.status.rawValue), .integer(Int64(job.priority)), .text(job.output),
                job.startedAt.map(SQLiteValue.real) ?? .null, job.finishedAt.map(SQLiteValue.real) ?? .null,
                .text(job.tags.joined(separator: ",")), .integer(Int64(job.maxAttempts)), .text(job.after.map(String.init).joined(separator: ",")),
                .real(job.taskTimeout), .integer(Int64(job.blocklistThreshold)), job.reason.map(SQLiteValue.text) ?? .null,
                .integer(job.failFast ? 1 : 0),
            ])
    }

    public func deleteJob(id: Int64) throws {
        try database.run("DELETE FROM jobs WHERE id = ?1", [.integer(id)])
    }

    /// Inserts a job's tasks; returns the id of the first (the rest follow it in order).
    public func insertTasks(jobID: Int64, chunks: [FrameChunk], videoTask: Bool = false) throws -> Int64 {
        let statement = try database.prepare(
            "INSERT INTO tasks (job_id, frame_start, frame_end, frame_step, role, status) VALUES (?1, ?2, ?3, ?4, ?5, 'queued')")
        var first: Int64 = 0
        var rows = chunks.map { ($0, RenderTask.Role.render) }
        if videoTask, let start = chunks.first?.start, let end = chunks.last?.end {
            rows.append((FrameChunk(start: start, end: end, step: 1), .video))
        }
        for (index, (chunk, role)) in rows.enumerated() {
            if index > 0 { statement.reset() }
            try statement.bind([
                .integer(jobID), .integer(Int64(chunk.start)), .integer(Int64(chunk.end)), .integer(Int64(chunk.step)), .text(role.rawValue),
            ])
            while try statement.step() {}
            if index == 0 { first = database.lastInsertRowID }
        }
        return first
    }

    /// Calls `body` with every task of every job, in id order.
    public func forEachTask(_ body: (RenderTask) -> Void) throws {
        let statement = try database.prepare(
            """
            SELECT id, job_id, frame_start, frame_end, frame_step, status, client_id, lease, failures, frames_done,
                started_at, finished_at, error, failed_on, role, slot FROM tasks ORDER BY id
            """)
        while try statement.step() {
            let id = statement.int64(0)
            var task = RenderTask(
                id: id, jobID: statement.int64(1), chunk: FrameChunk(start: statement.int(2), end: statement.int(3), step: statement.int(4)),
                role: try StoreError.known(statement.string(14), table: "tasks", row: id, column: "role"))
            task.status = try StoreError.known(statement.string(5), table: "tasks", row: id, column: "status")
            task.clientID = statement.int64(6)
            task.lease = Int32(statement.int(7))
            task.failures = Int32(statement.int(8))
            task.framesDone = Int32(statement.int(9))
            task.startedAt = statement.double(10)
            task.finishedAt = statement.double(11)
            task.error = statement.optionalString(12)
            let failedOn = statement.string(13)
            task.failedOn = failedOn.isEmpty ? [] : failedOn.split(separator: ",").compactMap { Int64($0) }
            task.slot = Int16(clamping: statement.int(15))
            body(task)
        }
    }

    /// Writes every mutable column of a task.
    public func updateTask(_ task: RenderTask) throws {
        try database.run(
            """
            UPDATE tasks SET status = ?2, client_id = ?3, lease = ?4, failures = ?5, frames_done = ?6, started_at = ?7,
                finished_at = ?8, error = ?9, failed_on = ?10, slot = ?11 WHERE id = ?1
            """,
            [
                .integer(task.id), .text(task.status.rawValue), .integer(task.clientID), .integer(Int64(task.lease)),
                .integer(Int64(task.failures)), .integer(Int64(task.framesDone)), .real(task.startedAt), .real(task.finishedAt),
                task.error.map(SQLiteValue.text) ?? .null, .text(task.failedOn.map(String.init).joined(separator: ",")),
                .integer(Int64(task.slot)),
            ])
    }

    // MARK: Blocklists

    /// Every job's blocklist.
    public func loadBlocklists() throws -> [Int64: Blocklist] {
        var result: [Int64: Blocklist] = [:]
        let rows = try database.query("SELECT job_id, client_id, failures FROM job_blocklist") { row in
            (row.int64(0), row.int64(1), row.int(2))
        }
        for (job, client, failures) in rows {
            var list = result[job] ?? Blocklist()
            for _ in 0..<failures { list.recordFailure(on: client) }
            result[job] = list
        }
        return result
    }

    /// Writes a job's whole blocklist.
    public func saveBlocklist(jobID: Int64, _ blocklist: Blocklist) throws {
        try database.run("DELETE FROM job_blocklist WHERE job_id = ?1", [.integer(jobID)])
        for (client, failures) in blocklist.failures {
            try database.run(
                "INSERT INTO job_blocklist (job_id, client_id, failures) VALUES (?1, ?2, ?3)",
                [.integer(jobID), .integer(client), .integer(Int64(failures))])
        }
    }
}
