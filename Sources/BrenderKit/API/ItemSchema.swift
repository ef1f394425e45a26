import FarmCore
import Foundation

/// The type of an item's field, which decides what filters and values it accepts.
public enum FieldType: Sendable, Equatable {
    /// A whole number within a range.
    case integer(ClosedRange<Int64>)
    /// A short identifier: letters, digits, `.`, `_`, `-`, starting with a letter or digit.
    case name
    /// Free text up to a length.
    case text(maxLength: Int)
    /// One of a fixed set of words.
    case choice([String])
    /// A list of names; as a filter, a tag matches records that carry it.
    case tags
    /// A point in time, ISO 8601 in JSON. Read-only.
    case timestamp
    /// true or false.
    case boolean
    /// A list of ids (numbers from 1); as a filter, a list matches records that hold the id.
    case ids
    /// A number with a fraction, such as a rate. Read-only.
    case number

    var summary: String {
        switch self {
        case .integer(let range): "an integer from \(range.lowerBound) to \(range.upperBound)"
        case .name: "a name of letters, digits, '.', '_' or '-' (at most \(FieldType.maxNameLength) characters)"
        case .text(let maxLength): "a string of at most \(maxLength) characters"
        case .choice(let words): "one of: \(words.joined(separator: ", "))"
        case .tags: "a list of at most \(FieldType.maxTags) tags (names of letters, digits, '.', '_' or '-')"
        case .timestamp: "a timestamp"
        case .boolean: "true or false"
        case .ids: "a list of ids (numbers from 1)"
        case .number: "a number"
        }
    }

    static let maxNameLength = 64
    /// The most tags a client or job may carry.
    public static let maxTags = 64

    static func isValidName(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        guard let first = scalars.first, scalars.count <= maxNameLength, isAlphanumeric(first) else { return false }
        return scalars.allSatisfy { isAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}

/// One field of an item, and what may be done with it.
public struct FieldSpec: Sendable {
    public let name: String
    public let type: FieldType
    public let help: String
    /// May appear in `filters`.
    public let filterable: Bool
    /// May appear in `values` of an update.
    public let updatable: Bool

    public init(_ name: String, _ type: FieldType, filterable: Bool = true, updatable: Bool = false, help: String) {
        self.name = name
        self.type = type
        self.filterable = filterable
        self.updatable = updatable
        self.help = help
    }
}

/// Normalized filters: every clause must match; a clause matches when the field equals any of its values.
public struct FilterSet: Sendable, Equatable {
    public struct Clause: Sendable, Equatable {
        public let field: String
        public let accepted: [JSONValue]
        public let isTags: Bool
    }

    public let clauses: [Clause]

    public var isEmpty: Bool { clauses.isEmpty }

    /// True when `value(field)` satisfies every clause.
    public func matches(_ value: (String) -> JSONValue) -> Bool {
        clauses.allSatisfy { clause in
            let actual = value(clause.field)
            if clause.isTags {
                let tags = actual.arrayValue ?? []
                return clause.accepted.contains { tags.contains($0) }
            }
            return clause.accepted.contains(actual)
        }
    }

    /// The accepted values of one field's clause, if the filters name it.
    public func accepted(_ field: String) -> [JSONValue]? {
        clauses.first { $0.field == field }?.accepted
    }
}

/// The declared shape of an API item: its actions and fields.
///
/// Every check of `filters` and `values` goes through the schema, so field names from a request are
/// never used for anything but a lookup in this list.
public struct ItemSchema: Sendable {
    public let item: String
    public let actions: [String]
    public let fields: [FieldSpec]
    /// The fields a read's `search` looks in (none: the item cannot be searched).
    public let searchFields: [String]

    public init(item: String, actions: [String], fields: [FieldSpec], searchFields: [String] = []) {
        self.item = item
        self.actions = actions
        self.fields = fields
        self.searchFields = searchFields
    }

    public func field(_ name: String) -> FieldSpec? {
        fields.first { $0.name == name }
    }

    /// Refuses an action the item does not have.
    public func checkAction(_ action: String) throws(APIError) {
        guard actions.contains(action) else {
            throw APIError(
                .unknownAction, "item '\(item)' has no action '\(action)'; allowed: \(actions.joined(separator: ", "))",
                field: "action")
        }
    }

    /// Checks and normalizes `filters`.
    public func filterSet(_ filters: [String: JSONValue]) throws(APIError) -> FilterSet {
        var clauses: [FilterSet.Clause] = []
        for name in filters.keys.sorted() {
            let path = "filters.\(name)"
            guard let spec = field(name), spec.filterable else {
                let allowed = fields.filter(\.filterable).map(\.name)
                throw APIError(
                    .unknownField, "'\(name)' is not a filter of item '\(item)'; allowed: \(allowed.joined(separator: ", "))",
                    field: path)
            }
            let raw = filters[name]!
            let candidates = raw.arrayValue ?? [raw]
            if candidates.isEmpty {
                throw APIError(.invalidValue, "filter '\(name)' is an empty list, which matches nothing; give at least one value", field: path)
            }
            var accepted: [JSONValue] = []
            for candidate in candidates {
                accepted.append(try scalar(candidate, for: spec, path: path, tagsAsSingle: true))
            }
            clauses.append(.init(field: name, accepted: accepted, isTags: spec.type == .tags || spec.type == .ids))
        }
        return FilterSet(clauses: clauses)
    }

    /// Checks and normalizes the `values` of an update.
    public func updateValues(_ values: [String: JSONValue]) throws(APIError) -> [String: JSONValue] {
        if values.isEmpty {
            let allowed = fields.filter(\.updatable).map(\.name)
            throw APIError(.missingField, "an update needs 'values' to set; fields: \(allowed.joined(separator: ", "))", field: "values")
        }
        var normalized: [String: JSONValue] = [:]
        for name in values.keys.sorted() {
            let path = "values.\(name)"
            guard let spec = field(name), spec.updatable else {
                let allowed = fields.filter(\.updatable).map(\.name)
                let reason = field(name) == nil ? "is not a field of item '\(item)'" : "cannot be changed"
                throw APIError(.unknownField, "'\(name)' \(reason); fields you can set: \(allowed.joined(separator: ", "))", field: path)
            }
            normalized[name] = try value(values[name]!, for: spec, path: path)
        }
        return normalized
    }

    /// Checks one value against a field spec; tags become a sorted, de-duplicated array of names.
    public func value(_ raw: JSONValue, for spec: FieldSpec, path: String) throws(APIError) -> JSONValue {
        if spec.type == .tags {
            let list = raw.arrayValue ?? [raw]
            guard list.count <= FieldType.maxTags else {
                throw APIError(.invalidValue, "\(list.count) tags is too many for \(item); the most is \(FieldType.maxTags)", field: path)
            }
            var tags: [String] = []
            for element in list {
                guard case .string(let tag) = try scalar(element, for: spec, path: path, tagsAsSingle: true) else { continue }
                if !tags.contains(tag) { tags.append(tag) }
            }
            return .array(tags.sorted().map(JSONValue.string))
        }
        if spec.type == .ids {
            let list = raw.arrayValue ?? [raw]
            var ids: [Int64] = []
            for element in list {
                guard case .int(let id) = try scalar(element, for: spec, path: path, tagsAsSingle: true) else { continue }
                if !ids.contains(id) { ids.append(id) }
            }
            return .array(ids.sorted().map(JSONValue.int))
        }
        return try scalar(raw, for: spec, path: path, tagsAsSingle: false)
    }

    private func scalar(_ raw: JSONValue, for spec: FieldSpec, path: String, tagsAsSingle: Bool) throws(APIError) -> JSONValue {
        func refuse(_ detail: String? = nil) -> APIError {
            let shown = raw.serialized()
            return APIError(
                .invalidValue, "\(shown) is not a valid \(spec.name) for \(item)\(detail.map { " (\($0))" } ?? ""); expected \(spec.type.summary)",
                field: path)
        }
        switch spec.type {
        case .integer(let range):
            guard let int = raw.intValue else { throw refuse() }
            guard range.contains(int) else { throw refuse("out of range") }
            return .int(int)
        case .name, .tags:
            guard let text = raw.stringValue, FieldType.isValidName(text) else { throw refuse() }
            return .string(text)
        case .text(let maxLength):
            guard let text = raw.stringValue else { throw refuse() }
            guard text.count <= maxLength else { throw refuse("too long") }
            return .string(text)
        case .choice(let words):
            guard let text = raw.stringValue, words.contains(text) else { throw refuse() }
            return .string(text)
        case .timestamp:
            guard let text = raw.stringValue, Timestamp.parse(text) != nil else { throw refuse() }
            return .string(text)
        case .boolean:
            guard let bool = raw.boolValue else { throw refuse() }
            return .bool(bool)
        case .ids:
            guard let id = raw.intValue, id >= 1 else { throw refuse() }
            return .int(id)
        case .number:
            guard let number = raw.doubleValue else { throw refuse() }
            return .double(number)
        }
    }

    /// Turns a command-line `KEY=VALUE` text into the JSON the server expects for that field:
    /// integers become numbers, `true`/`false` booleans, and comma lists arrays (any-of for filters,
    /// the whole list for tags).
    public func commandLineValue(field name: String, text: String, forFilter: Bool) -> JSONValue {
        let type = field(name)?.type
        let parts = text.split(separator: ",", omittingEmptySubsequences: true).map { String($0) }
        func typed(_ part: String) -> JSONValue {
            switch type {
            case .integer?, .ids?: return Int64(part).map(JSONValue.int) ?? .string(part)
            case .boolean?: return part == "true" ? true : part == "false" ? false : .string(part)
            default: return .string(part)
            }
        }
        if (type == .tags || type == .ids) && !forFilter { return .array(parts.map(typed)) }
        if parts.count > 1 && (forFilter || type == .tags || type == .ids) { return .array(parts.map(typed)) }
        if case .text? = type { return .string(text) }
        return typed(text)
    }
}

extension FieldType {
    /// A whole number within a setting's range (``BoundedSetting``).
    public static func integer(_ setting: BoundedSetting) -> FieldType {
        .integer(Int64(setting.range.lowerBound)...Int64(setting.range.upperBound))
    }
}
