/// Why the farm refuses or fails a change, in its own terms. The farm's operations throw it;
/// the API layer is the one place it becomes an HTTP status and an error code.
public enum FarmError: Error, Equatable, Sendable {
    /// The thing asked for does not exist.
    case notFound(String, field: String?)
    /// The change does not fit the current state (a transition a lifecycle refuses, a name taken,
    /// a job no client could run).
    case conflict(String, field: String?)
    /// A value is wrong whatever the state.
    case invalid(String, field: String?)
    /// The caller's token does not allow this change (another's job, a command job without the
    /// admin token, a revoked worker).
    case forbidden(String, field: String?)
    /// Something the change needs is missing.
    case missing(String, field: String?)
    /// The data directory is full: nothing was changed.
    case noSpace(String)
    /// The database could not save the change: nothing was changed.
    case storageFailed(String)

    public var message: String {
        switch self {
        case .notFound(let message, _), .conflict(let message, _), .invalid(let message, _), .missing(let message, _),
            .forbidden(let message, _):
            message
        case .noSpace(let message), .storageFailed(let message): message
        }
    }
}
