import Foundation
import Testing

@testable import BrenderKit
@testable import FarmCore

/// A fresh database file in a temporary directory, removed afterwards.
final class TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("test.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("brender-unit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite struct MigratorTests {
    let first = Migration(version: 1, name: "one", sql: "CREATE TABLE things (id INTEGER PRIMARY KEY, label TEXT NOT NULL);")
    let second = Migration(version: 2, name: "two", sql: "ALTER TABLE things ADD COLUMN size INTEGER NOT NULL DEFAULT 0;")

    @Test func emptyDatabaseGetsEveryMigration() throws {
        let file = try TemporaryDatabase()
        let database = try SQLiteDatabase(path: file.path)
        #expect(try Migrator(migrations: [first, second]).migrate(database) == [1, 2])
        #expect(try Migrator(migrations: [first, second]).appliedVersions(in: database) == [1, 2])
    }

    @Test func olderDatabaseGetsOnlyTheMissingMigrationsAndKeepsItsRows() throws {
        let file = try TemporaryDatabase()
        do {
            let old = try SQLiteDatabase(path: file.path)
            try Migrator(migrations: [first]).migrate(old)
            try old.run("INSERT INTO things (label) VALUES (?1)", [.text("kept")])
            old.close()
        }
        let database = try SQLiteDatabase(path: file.path)
        #expect(try Migrator(migrations: [first, second]).migrate(database) == [2])
        let rows = try database.query("SELECT label, size FROM things") { ($0.string(0), $0.int(1)) }
        #expect(rows.count == 1 && rows[0].0 == "kept" && rows[0].1 == 0)
    }

    @Test func migratingTwiceDoesNothing() throws {
        let file = try TemporaryDatabase()
        let database = try SQLiteDatabase(path: file.path)
        try Migrator(migrations: [first, second]).migrate(database)
        #expect(try Migrator(migrations: [first, second]).migrate(database).isEmpty)
    }

    @Test func databaseFromANewerBrenderIsRefused() throws {
        let file = try TemporaryDatabase()
        let database = try SQLiteDatabase(path: file.path)
        try Migrator(migrations: [first, second]).migrate(database)
        #expect {
            try Migrator(migrations: [first]).migrate(database)
        } throws: { error in
            guard case StoreError.databaseFromNewerVersion(_, 2, 1) = error else { return false }
            return "\(error)".contains("written by a newer brender")
        }
    }

    @Test func failedMigrationLeavesNoTrace() throws {
        let file = try TemporaryDatabase()
        let database = try SQLiteDatabase(path: file.path)
        let broken = Migration(version: 2, name: "broken", sql: "CREATE TABLE half (x); SELECT * FROM no_such_table;")
        #expect(throws: SQLiteError.self) { try Migrator(migrations: [first, broken]).migrate(database) }
        #expect(try Migrator(migrations: [first, broken]).appliedVersions(in: database) == [1])
        let tables = try database.query("SELECT name FROM sqlite_master WHERE name = 'half'") { $0.string(0) }
        #expect(tables.isEmpty)
    }

    @Test func aVersionOneDatabaseUpgradesKeepingItsClients() throws {
        let file = try TemporaryDatabase()
        do {
            let old = try SQLiteDatabase(path: file.path)
            try Migrator(migrations: Array(FarmSchema.migrations.prefix(1))).migrate(old)
            try old.run(
                """
                INSERT INTO clients (name, hostname, platform, tags, status, connection, activity, version, registered_at, last_seen)
                VALUES ('veteran', 'h', 'linux-x86_64', 'gpu', 'disabled', 'offline', 'busy', '0.1.0', 1, 2)
                """)
            old.close()
        }
        let store = try FarmStore(path: file.path)
        let clients = try store.loadClients()
        #expect(clients.map(\.name) == ["veteran"])
        #expect(clients[0].status == .disabled && clients[0].tags == ["gpu"] && clients[0].activity == .idle)
        #expect(try store.loadJobs().isEmpty)
    }

    @Test func aVersionFourDatabaseKeepsItsJobsAndTasksThroughTheTableRebuild() throws {
        let file = try TemporaryDatabase()
        do {
            let old = try SQLiteDatabase(path: file.path)
            try Migrator(migrations: Array(FarmSchema.migrations.prefix(4))).migrate(old)
            try old.execute(
                """
                INSERT INTO jobs (name, kind, status, priority, file, frames, chunk_size, output, format, argv, tags, max_attempts, created_at)
                VALUES ('old', 'blender', 'active', 60, '/f.blend', '1-2', 1, '/o/#', 'PNG', '[]', 'gpu', 3, 5);
                INSERT INTO tasks (job_id, frame_start, frame_end, frame_step, status, client_id, lease, failed_on)
                VALUES (1, 1, 1, 1, 'completed', 4, 1, ''), (1, 2, 2, 1, 'queued', 4, 2, '4');
                """)
            old.close()
        }
        let store = try FarmStore(path: file.path)
        let jobs = try store.loadJobs()
        #expect(jobs.map(\.name) == ["old"] && jobs[0].status == .active && jobs[0].tags == ["gpu"] && jobs[0].blocklistThreshold == 3)
        #expect(jobs[0].after.isEmpty && !jobs[0].failFast && jobs[0].video == nil)
        var tasks: [RenderTask] = []
        try store.forEachTask { tasks.append($0) }
        #expect(tasks.map(\.status) == [.completed, .queued] && tasks.allSatisfy { $0.role == .render } && tasks[1].failedOn == [4])
        // The tasks still belong to their job: deleting it deletes them.
        try store.deleteJob(id: 1)
        tasks = []
        try store.forEachTask { tasks.append($0) }
        #expect(tasks.isEmpty)
    }

    @Test func farmSchemaAppliesToAnEmptyDatabase() throws {
        let file = try TemporaryDatabase()
        let store = try FarmStore(path: file.path)
        #expect(try FarmSchema.migrator.appliedVersions(in: store.database) == FarmSchema.migrations.map(\.version))
        let mode = try store.database.query("PRAGMA journal_mode") { $0.string(0) }
        #expect(mode == ["wal"])
        let foreignKeys = try store.database.query("PRAGMA foreign_keys") { $0.int(0) }
        #expect(foreignKeys == [1])
    }
}

@Suite struct SQLiteDatabaseTests {
    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        let file = try TemporaryDatabase()
        let database = try SQLiteDatabase(path: file.path)
        try database.execute("CREATE TABLE t (x INTEGER)")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try database.transaction {
                try database.run("INSERT INTO t VALUES (1)")
                throw Stop()
            }
        }
        #expect(try database.query("SELECT count(*) FROM t") { $0.int(0) } == [0])
    }

    @Test func errorsCarryTheCodeAndStatementButNotBoundValues() throws {
        let file = try TemporaryDatabase()
        let database = try SQLiteDatabase(path: file.path)
        try database.execute("CREATE TABLE t (x TEXT UNIQUE)")
        try database.run("INSERT INTO t VALUES (?1)", [.text("secret-value")])
        do {
            try database.run("INSERT INTO t VALUES (?1)", [.text("secret-value")])
            Issue.record("expected a constraint error")
        } catch let error as SQLiteError {
            #expect(error.primaryCode == 19)  // SQLITE_CONSTRAINT
            #expect(error.sql == "INSERT INTO t VALUES (?1)")
            #expect(!error.description.contains("secret-value"))
        }
    }

    @Test func valuesRoundTrip() throws {
        let file = try TemporaryDatabase()
        let database = try SQLiteDatabase(path: file.path)
        try database.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, n TEXT)")
        try database.run("INSERT INTO t VALUES (?1, ?2, ?3, ?4)", [.integer(Int64.max), .real(2.5), .text("héllo"), .null])
        let rows = try database.query("SELECT i, r, s, n FROM t") { ($0.int64(0), $0.double(1), $0.string(2), $0.optionalString(3)) }
        #expect(rows[0].0 == Int64.max && rows[0].1 == 2.5 && rows[0].2 == "héllo" && rows[0].3 == nil)
    }
}
