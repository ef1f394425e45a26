import Foundation

/// One numbered, append-only schema change.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Brings a database's schema up to date by applying the migrations it has not recorded yet.
///
/// Applied migrations are recorded in the `schema_migrations` table. A database that records a
/// version this program does not know was written by a newer brender and is refused.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        precondition(
            migrations.enumerated().allSatisfy { $0.offset + 1 == $0.element.version },
            "migrations must be numbered 1, 2, 3, ... in order"
        )
        self.migrations = migrations
    }

    /// The newest schema version this program knows.
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// The versions recorded as applied in `database`.
    public func appliedVersions(in database: SQLiteDatabase) throws -> [Int] {
        try createBookkeepingTable(database)
        return try database.query("SELECT version FROM schema_migrations ORDER BY version") { $0.int(0) }
    }

    /// Applies every missing migration, each in its own transaction.
    /// - Returns: the versions it applied.
    @discardableResult
    public func migrate(_ database: SQLiteDatabase, upTo target: Int? = nil) throws -> [Int] {
        let applied = Set(try appliedVersions(in: database))
        if let newest = applied.max(), newest > latestVersion {
            throw StoreError.databaseFromNewerVersion(path: database.path, schemaVersion: newest, supported: latestVersion)
        }
        var done: [Int] = []
        for migration in migrations where !applied.contains(migration.version) {
            if let target, migration.version > target { break }
            try database.transaction {
                try database.execute(migration.sql)
                try database.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    [.integer(Int64(migration.version)), .text(migration.name), .real(Date().timeIntervalSince1970)]
                )
            }
            done.append(migration.version)
        }
        return done
    }

    private func createBookkeepingTable(_ database: SQLiteDatabase) throws {
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at REAL NOT NULL
            )
            """
        )
    }
}
