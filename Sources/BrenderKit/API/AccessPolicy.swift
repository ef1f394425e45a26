/// What a token may do through the API.
public enum Role: String, Sendable, CaseIterable {
    /// Reads everything (lists, logs, the event stream) and changes nothing: for dashboards and
    /// monitoring.
    case readOnly = "read-only"
    /// Reads everything, submits Blender jobs and changes its own jobs only: for artists and
    /// pipelines.
    case submit
    /// Everything.
    case admin
}

/// Who made a request: the name of the token it carried, and that token's role. Changes are
/// recorded under the name (the audit line, a job's `submitted_by`).
public struct Principal: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }

    /// The holder of the server's admin token.
    public static let admin = Principal(name: "admin", role: .admin)

    public var description: String { "'\(name)' (\(role.rawValue))" }
}

/// Which requests a role may make at all. A submit token is further kept to its own jobs by the
/// farm, which knows who submitted what.
public enum AccessPolicy {
    /// Items a submit token may change, and how.
    static let submitActions: [String: Set<String>] = [
        "job": ["create", "read", "update", "delete"],
        "task": ["read", "update"],
    ]

    /// Refuses a request the principal's role never allows, with a 403 saying what the role allows.
    public static func check(_ request: APIRequest, by principal: Principal) throws(APIError) {
        switch principal.role {
        case .admin:
            return
        case .readOnly where request.action == "read":
            return
        case .readOnly:
            throw APIError(
                .forbidden,
                "the token \(principal.name) is read-only: it may read the farm but not \(request.action) a \(request.item); use a submit or admin token ('brender server token create NAME --role submit' on the server machine)",
                field: "action")
        case .submit:
            if request.action == "read" || submitActions[request.item]?.contains(request.action) == true { return }
            throw APIError(
                .forbidden,
                "the token \(principal.name) may submit jobs and change its own jobs and their tasks, not \(request.action) a \(request.item); that needs an admin token",
                field: "action")
        }
    }
}
