import FarmCore

/// The `pathmap` item of the API: named path prefixes per platform.
extension PathMap {
    public static let schema = ItemSchema(
        item: "pathmap",
        actions: ["create", "read", "update", "delete"],
        fields: [
            FieldSpec("name", .name, help: "The map's name, e.g. projects."),
            FieldSpec("linux", .text(maxLength: 1024), filterable: false, updatable: true, help: "The prefix on Linux, e.g. /mnt/projects."),
            FieldSpec("darwin", .text(maxLength: 1024), filterable: false, updatable: true, help: "The prefix on macOS, e.g. /Volumes/projects."),
            FieldSpec(
                "windows", .text(maxLength: 1024), filterable: false, updatable: true, help: "The prefix on Windows, e.g. P:\\ or \\\\nas\\projects."),
        ]
    )

    public func value(of field: String) -> JSONValue {
        if field == "name" { return .string(name) }
        guard let platform = PathPlatform(rawValue: field) else { return .null }
        return prefixes[platform].map(JSONValue.string) ?? .null
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        for field in PathMap.schema.fields { object[field.name] = value(of: field.name) }
        return .object(object)
    }

    /// Checks the prefixes of a `create` or `update`: each must be absolute on its platform.
    static func prefixes(from values: [String: JSONValue]) throws(APIError) -> [PathPlatform: String] {
        var prefixes: [PathPlatform: String] = [:]
        for platform in PathPlatform.allCases {
            guard let raw = values[platform.rawValue] else { continue }
            let field = "values.\(platform.rawValue)"
            guard let prefix = raw.stringValue else { throw APIError(.invalidValue, "'\(platform.rawValue)' must be a string", field: field) }
            if prefix.isEmpty {
                prefixes[platform] = ""
                continue
            }
            let absolute = platform == .windows ? PathMapping.isAbsolute(prefix) && !prefix.hasPrefix("/") : prefix.hasPrefix("/")
            guard absolute else {
                throw APIError(
                    .invalidValue,
                    "'\(prefix)' is not an absolute \(platform.rawValue) path\(platform == .windows ? " (write P:\\dir or \\\\server\\share)" : " (it starts with /)")",
                    field: field)
            }
            prefixes[platform] = prefix
        }
        return prefixes
    }
}
