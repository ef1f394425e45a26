import FarmCore

extension FarmError {
    /// The answer the API gives for it: the one place a farm refusal becomes an HTTP status and
    /// an error code.
    public var apiError: APIError {
        switch self {
        case .notFound(let message, let field): APIError(.notFound, message, field: field)
        case .conflict(let message, let field): APIError(.conflict, message, field: field)
        case .invalid(let message, let field): APIError(.invalidValue, message, field: field)
        case .missing(let message, let field): APIError(.missingField, message, field: field)
        case .forbidden(let message, let field): APIError(.forbidden, message, field: field)
        case .noSpace(let message): APIError(.insufficientStorage, message)
        case .storageFailed(let message): APIError(.internalError, message)
        }
    }
}
