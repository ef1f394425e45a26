/// Why the farm refuses a change, in its own terms; mapped to an ``APIError`` in one place
/// (``apiError``).
public enum FarmError: Error, Equatable, Sendable {
    /// The thing asked for does not exist.
    case notFound(String, field: String?)
    /// The change does not fit the current state (a transition the lifecycle refuses, a name taken).
    case conflict(String, field: String?)
    /// A value is wrong whatever the state.
    case invalid(String, field: String?)

    public var message: String {
        switch self {
        case .notFound(let message, _), .conflict(let message, _), .invalid(let message, _): message
        }
    }

    /// The answer the API gives for it.
    public var apiError: APIError {
        switch self {
        case .notFound(let message, let field): APIError(.notFound, message, field: field)
        case .conflict(let message, let field): APIError(.conflict, message, field: field)
        case .invalid(let message, let field): APIError(.invalidValue, message, field: field)
        }
    }
}
