/// An error the server reports to an API caller: an HTTP status, a stable machine-readable code,
/// a message for people, and the field it concerns when there is one.
///
/// Encodes as `{"ok": false, "error": {"code": "...", "message": "...", "field": "..."}}`.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public enum Code: String, Sendable {
        case invalidJSON = "invalid_json"
        case invalidRequest = "invalid_request"
        case unknownItem = "unknown_item"
        case unknownAction = "unknown_action"
        case unknownField = "unknown_field"
        case invalidValue = "invalid_value"
        case missingField = "missing_field"
        case unauthorized = "unauthorized"
        case forbidden = "forbidden"
        case notFound = "not_found"
        case conflict = "conflict"
        case payloadTooLarge = "payload_too_large"
        case methodNotAllowed = "method_not_allowed"
        case unavailable = "unavailable"
        case insufficientStorage = "insufficient_storage"
        case internalError = "internal_error"

        /// The HTTP status this code is answered with.
        public var httpStatus: Int {
            switch self {
            case .invalidJSON, .invalidRequest, .unknownItem, .unknownAction, .unknownField, .invalidValue, .missingField: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .methodNotAllowed: 405
            case .conflict: 409
            case .payloadTooLarge: 413
            case .unavailable: 503
            case .insufficientStorage: 507
            case .internalError: 500
            }
        }
    }

    public let code: Code
    public let message: String
    /// The request field the error is about, e.g. `filters.status`.
    public let field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var httpStatus: Int { code.httpStatus }

    public var description: String { message }

    /// The JSON error body.
    public var json: JSONValue {
        var error: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(message)]
        if let field { error["field"] = .string(field) }
        return ["ok": false, "error": .object(error)]
    }
}
