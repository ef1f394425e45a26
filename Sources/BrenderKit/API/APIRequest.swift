import Foundation

/// One call of the JSON API: `{"item", "action", "filters", "values"}`.
///
/// `filters` select records (read, update, delete): every key must match, and an array value
/// matches any of its elements. `values` carry what to set (create, update). Optional members:
/// `all` (allow an update or delete with no filters), `force` (allow deleting what is in use,
/// such as an online client), `now` (an update takes effect on running work at once: a disabled
/// client's task is stopped and requeued), `limit` and `offset` (paging of a read), `sort` (a
/// field to order a read by, `-` in front for descending) and `search` (text a read's records
/// must contain in one of their searchable fields; see ``ReadOrder``).
public struct APIRequest: Sendable, Equatable {
    public var item: String
    public var action: String
    public var filters: [String: JSONValue]
    public var values: [String: JSONValue]
    /// Confirms an update or delete that has no filters and so touches every record.
    public var all: Bool
    /// Allows a delete of records that are in use (an online client, an active job).
    public var force: Bool
    /// Makes an update stop work in progress instead of letting it finish.
    public var now: Bool
    /// Return at most this many items (reads).
    public var limit: Int?
    /// Skip this many matching items before returning any (reads).
    public var offset: Int
    /// The field to order a read by, `-` in front for descending; id order when nil.
    public var sort: String?
    /// Text the records of a read must contain (case-insensitive) in a searchable field.
    public var search: String?

    public init(
        item: String, action: String, filters: [String: JSONValue] = [:], values: [String: JSONValue] = [:],
        all: Bool = false, force: Bool = false, now: Bool = false, limit: Int? = nil, offset: Int = 0, sort: String? = nil,
        search: String? = nil
    ) {
        self.sort = sort
        self.search = search
        self.now = now
        self.item = item
        self.action = action
        self.filters = filters
        self.values = values
        self.all = all
        self.force = force
        self.limit = limit
        self.offset = offset
    }

    /// The members a request may have; any other is refused so typos do not go unnoticed.
    static let knownMembers = ["item", "action", "filters", "values", "all", "force", "now", "limit", "offset", "sort", "search"]

    /// Decodes and checks the envelope of a request body. Item- and field-level checks happen
    /// against the item's ``ItemSchema``.
    public init(body: Data) throws(APIError) {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body)
        } catch {
            throw APIError(
                .invalidJSON,
                "the request body is not valid JSON (\(error)); send {\"item\": ..., \"action\": ..., \"filters\": {...}, \"values\": {...}}")
        }
        try self.init(json: json)
    }

    public init(json: JSONValue) throws(APIError) {
        guard let object = json.objectValue else {
            throw APIError(.invalidRequest, "the request must be a JSON object, not \(json.typeName)")
        }
        for key in object.keys.sorted() where !Self.knownMembers.contains(key) {
            throw APIError(
                .unknownField, "unknown request member '\(key)'; allowed: \(Self.knownMembers.joined(separator: ", "))",
                field: key)
        }
        item = try Self.requiredString("item", in: object)
        action = try Self.requiredString("action", in: object)
        filters = try Self.optionalObject("filters", in: object)
        values = try Self.optionalObject("values", in: object)
        all = try Self.optionalBool("all", in: object)
        force = try Self.optionalBool("force", in: object)
        now = try Self.optionalBool("now", in: object)
        limit = try Self.optionalCount("limit", in: object, minimum: 1)
        offset = try Self.optionalCount("offset", in: object, minimum: 0) ?? 0
        sort = try Self.optionalString("sort", in: object, maxLength: 64)
        search = try Self.optionalString("search", in: object, maxLength: 256)
        if action != "read", let member = sort != nil ? "sort" : search != nil ? "search" : nil {
            throw APIError(.invalidRequest, "'\(member)' arranges what a read returns; \(action) takes filters", field: member)
        }
    }

    /// The request as JSON, as the command line sends it.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["item": .string(item), "action": .string(action)]
        if !filters.isEmpty { object["filters"] = .object(filters) }
        if !values.isEmpty { object["values"] = .object(values) }
        if all { object["all"] = true }
        if force { object["force"] = true }
        if now { object["now"] = true }
        if let limit { object["limit"] = .int(Int64(limit)) }
        if offset > 0 { object["offset"] = .int(Int64(offset)) }
        if let sort { object["sort"] = .string(sort) }
        if let search { object["search"] = .string(search) }
        return .object(object)
    }

    private static func requiredString(_ key: String, in object: [String: JSONValue]) throws(APIError) -> String {
        switch object[key] {
        case .string(let value) where !value.isEmpty: return value
        case nil, .null: throw APIError(.missingField, "the request has no '\(key)'; it is required", field: key)
        case let other?: throw APIError(.invalidValue, "'\(key)' must be a non-empty string, not \(other.typeName)", field: key)
        }
    }

    private static func optionalString(_ key: String, in object: [String: JSONValue], maxLength: Int) throws(APIError) -> String? {
        switch object[key] {
        case nil, .null: return nil
        case .string(let value) where value.isEmpty: return nil
        case .string(let value) where value.count <= maxLength: return value
        case .string: throw APIError(.invalidValue, "'\(key)' must be at most \(maxLength) characters", field: key)
        case let other?: throw APIError(.invalidValue, "'\(key)' must be a string, not \(other.typeName)", field: key)
        }
    }

    private static func optionalObject(_ key: String, in object: [String: JSONValue]) throws(APIError) -> [String: JSONValue] {
        switch object[key] {
        case nil, .null: return [:]
        case .object(let value): return value
        case let other?: throw APIError(.invalidValue, "'\(key)' must be an object of field names to values, not \(other.typeName)", field: key)
        }
    }

    private static func optionalBool(_ key: String, in object: [String: JSONValue]) throws(APIError) -> Bool {
        switch object[key] {
        case nil, .null: return false
        case .bool(let flag): return flag
        case let other?: throw APIError(.invalidValue, "'\(key)' must be a boolean, not \(other.typeName)", field: key)
        }
    }

    private static func optionalCount(_ key: String, in object: [String: JSONValue], minimum: Int64) throws(APIError) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        guard let count = value.intValue, count >= minimum, count <= Int64(Int32.max) else {
            throw APIError(.invalidValue, "'\(key)' must be an integer of at least \(minimum)", field: key)
        }
        return Int(count)
    }
}

/// A successful answer: `{"ok": true, "count": N, "total": M, "items": [...]}`.
///
/// `count` is the number of items in this answer (for update and delete, the records changed);
/// `total` is how many records matched before paging.
public struct APIResponse: Sendable, Equatable {
    public var items: [JSONValue]
    public var total: Int

    public init(items: [JSONValue], total: Int? = nil) {
        self.items = items
        self.total = total ?? items.count
    }

    public var count: Int { items.count }

    public var json: JSONValue {
        ["ok": true, "count": .int(Int64(items.count)), "total": .int(Int64(total)), "items": .array(items)]
    }

    public init(json: JSONValue) throws(APIError) {
        guard let items = json["items"]?.arrayValue else {
            throw APIError(.internalError, "the server's answer has no 'items' array")
        }
        self.items = items
        self.total = json["total"]?.intValue.map(Int.init) ?? items.count
    }
}
