/// An error reported by SQLite, with its result code and the statement that failed.
///
/// The description never contains bound values, so user data does not leak into logs.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// SQLite's extended result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, ...).
    public let code: Int32
    /// SQLite's message for the failure.
    public let message: String
    /// The SQL text of the statement, when the error belongs to one.
    public let sql: String?

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (the low byte of the extended code).
    public var primaryCode: Int32 { code & 0xFF }

    /// The disk (or quota) is full: `SQLITE_FULL`, or an I/O error that came from `ENOSPC`.
    public var isDiskFull: Bool { primaryCode == 13 || message.contains("disk is full") || message.contains("No space left") }

    public var description: String {
        var text = "SQLite error \(code): \(message)"
        if let sql { text += " (in: \(sql))" }
        return text
    }
}
