/// Why the farm refuses or fails a change, in its own terms. The farm's operations throw it;
/// ``apiError`` is the one place it becomes an ``APIError`` (the HTTP status and code a caller
/// sees).
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
    /// A request the API contract itself refuses (checked against an item's schema), passed on
    /// as it is.
    case request(APIError)

    public var message: String {
        switch self {
        case .notFound(let message, _), .conflict(let message, _), .invalid(let message, _), .missing(let message, _),
            .forbidden(let message, _):
            message
        case .noSpace(let message), .storageFailed(let message): message
        case .request(let error): error.message
        }
    }

    /// The answer the API gives for it.
    public var apiError: APIError {
        switch self {
        case .notFound(let message, let field): APIError(.notFound, message, field: field)
        case .conflict(let message, let field): APIError(.conflict, message, field: field)
        case .invalid(let message, let field): APIError(.invalidValue, message, field: field)
        case .missing(let message, let field): APIError(.missingField, message, field: field)
        case .forbidden(let message, let field): APIError(.forbidden, message, field: field)
        case .noSpace(let message): APIError(.insufficientStorage, message)
        case .storageFailed(let message): APIError(.internalError, message)
        case .request(let error): error
        }
    }

    /// Runs a check of the API contract (an item's schema) inside a farm operation.
    static func checking<T>(_ body: () throws(APIError) -> T) throws(FarmError) -> T {
        do {
            return try body()
        } catch {
            throw .request(error)
        }
    }
}
