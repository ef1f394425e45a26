import CSQLite
import Foundation

/// A value that can be bound to a statement parameter or read from a column.
public enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// A connection to one SQLite database file.
///
/// Not thread-safe: one owner (the farm's serial state) uses it at a time. Prepared statements are
/// cached by their SQL text, so a hot path prepares each statement once per connection.
public final class SQLiteDatabase {
    private var handle: OpaquePointer?
    private var statementCache: [String: SQLiteStatement] = [:]
    /// The simulated crash commits count down to (``StoreFault/crash(afterCommits:)``), if any.
    private(set) var commitGate: CommitGate?
    /// The path the database was opened at.
    public let path: String

    /// Opens (and creates if missing) the database at `path`, configured for a long-running server:
    /// WAL journal, foreign keys on, a busy timeout.
    ///
    /// - Parameter synchronous: `NORMAL` keeps every commit across a process crash (`kill -9`);
    ///   `FULL` also across a power loss, at the cost of an fsync per commit.
    public init(path: String, synchronous: SynchronousMode = .normal) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open database"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "\(message): \(path)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5_000)
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = \(synchronous.rawValue)")
        try execute("PRAGMA foreign_keys = ON")
        // After a checkpoint the WAL is cut back to this size: it never stays large (SQLite
        // checkpoints on its own every 1,000 pages, about 4 MB).
        try execute("PRAGMA journal_size_limit = \(Self.walSizeLimit)")
    }

    /// The most a checkpointed WAL file keeps, in bytes.
    public static let walSizeLimit = 64 << 20

    /// How hard SQLite works to make a commit durable.
    public enum SynchronousMode: String, Sendable {
        case normal = "NORMAL"
        case full = "FULL"
    }

    deinit {
        close()
    }

    /// Puts a simulated crash in the way of commits, or takes it away (nil).
    func setCommitGate(_ gate: CommitGate?) {
        commitGate = gate
        guard let gate else {
            sqlite3_commit_hook(handle, nil, nil)
            return
        }
        sqlite3_commit_hook(
            handle,
            { context in
                // Non-zero turns the commit into a rollback.
                Unmanaged<CommitGate>.fromOpaque(context!).takeUnretainedValue().allows() ? 0 : 1
            }, Unmanaged.passUnretained(gate).toOpaque())
    }

    /// Finalizes every statement and closes the connection. Safe to call twice.
    public func close() {
        for statement in statementCache.values { statement.finalize() }
        statementCache.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    /// Returns the cached prepared statement for `sql`, reset and with no bindings.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        if let cached = statementCache[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else {
            throw SQLiteError(code: rc, message: lastErrorMessage, sql: sql)
        }
        let statement = SQLiteStatement(raw: raw, sql: sql, database: handle)
        statementCache[sql] = statement
        return statement
    }

    /// Runs a statement with `arguments` and discards any rows.
    public func run(_ sql: String, _ arguments: [SQLiteValue] = []) throws {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        while try statement.step() {}
    }

    /// Runs a query and maps each row.
    public func query<T>(_ sql: String, _ arguments: [SQLiteValue] = [], row: (SQLiteStatement) throws -> T) throws -> [T] {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        var rows: [T] = []
        while try statement.step() {
            rows.append(try row(statement))
        }
        return rows
    }

    /// The rowid of the most recent successful INSERT.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` inside one transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Copies the WAL into the main database file and truncates the WAL.
    public func checkpoint() throws {
        try execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// Writes a consistent copy of the database (as of one moment, while others go on writing)
    /// to a new file at `path`, compacted (`VACUUM INTO`).
    public func copy(to path: String) throws {
        try execute("VACUUM INTO '\(path.replacingOccurrences(of: "'", with: "''"))'")
    }

    /// SQLite's own check of the file's structure (`PRAGMA quick_check`): "ok", or what is wrong.
    public func quickCheck() throws -> String {
        try query("PRAGMA quick_check") { $0.string(0) }.joined(separator: "; ")
    }

    /// Rows that break a foreign key (`PRAGMA foreign_key_check`), as "table row N -> parent".
    public func foreignKeyViolations() throws -> [String] {
        try query("PRAGMA foreign_key_check") { "\($0.string(0)) row \($0.int64(1)) -> \($0.string(2))" }
    }

    private var lastErrorMessage: String {
        handle.map { String(cString: sqlite3_errmsg($0)) } ?? "database is closed"
    }
}

/// A prepared statement owned by a ``SQLiteDatabase``.
public final class SQLiteStatement {
    private let raw: OpaquePointer
    private let database: OpaquePointer?
    /// The statement's SQL text.
    public let sql: String

    init(raw: OpaquePointer, sql: String, database: OpaquePointer?) {
        self.raw = raw
        self.sql = sql
        self.database = database
    }

    func finalize() { sqlite3_finalize(raw) }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    /// Binds positional parameters, starting at `?1`.
    public func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(raw, index)
            case .integer(let int): rc = sqlite3_bind_int64(raw, index, int)
            case .real(let double): rc = sqlite3_bind_double(raw, index, double)
            case .text(let string): rc = sqlite3_bind_text(raw, index, string, -1, SQLiteStatement.transient)
            }
            guard rc == SQLITE_OK else { throw error(rc) }
        }
    }

    /// Advances to the next row; false when the statement is done.
    public func step() throws -> Bool {
        let rc = sqlite3_step(raw)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let failure = error(rc)
            sqlite3_reset(raw)
            throw failure
        }
    }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(raw, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    public func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(raw, column) else { return "" }
        return String(cString: text)
    }

    public func optionalString(_ column: Int32) -> String? {
        isNull(column) ? nil : string(column)
    }

    private func error(_ rc: Int32) -> SQLiteError {
        let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "unknown error"
        return SQLiteError(code: sqlite3_extended_errcode(database), message: message, sql: sql)
    }

    // SQLITE_TRANSIENT: SQLite copies the bound text before bind returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
