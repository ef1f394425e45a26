/// Errors from opening or upgrading brender's data directory and database.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    /// The database records a schema version newer than this program knows.
    case databaseFromNewerVersion(path: String, schemaVersion: Int, supported: Int)
    /// Another brender server holds the data directory.
    case dataDirectoryLocked(path: String)
    /// The data directory could not be created or used.
    case dataDirectoryUnusable(path: String, reason: String)
    /// A stored value this program does not know: the load stops rather than guess.
    case unknownValue(table: String, row: Int64, column: String, value: String)

    public var description: String {
        switch self {
        case .databaseFromNewerVersion(let path, let schemaVersion, let supported):
            "the database \(path) was written by a newer brender (schema version \(schemaVersion); this brender knows up to \(supported)); upgrade brender or point --data at another directory"
        case .dataDirectoryLocked(let path):
            "the data directory \(path) is in use by another brender server; stop it first or use another --data directory"
        case .dataDirectoryUnusable(let path, let reason):
            "cannot use the data directory \(path): \(reason)"
        case .unknownValue(let table, let row, let column, let value):
            "the database holds '\(value)' in \(table).\(column) of row \(row), which this brender does not know; was it written by a newer brender?"
        }
    }
}

extension StoreError {
    /// The value of a stored enum column, or an error naming its table, row and column: a value
    /// this brender does not know stops the load instead of becoming a guess.
    static func known<T: RawRepresentable>(_ raw: String, table: String, row: Int64, column: String) throws(StoreError) -> T
    where T.RawValue == String {
        guard let value = T(rawValue: raw) else { throw .unknownValue(table: table, row: row, column: column, value: raw) }
        return value
    }
}
