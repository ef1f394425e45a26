/// How a read arranges what matched: narrowed by `search` (a case-insensitive piece of text in
/// any of the item's searchable fields), then ordered by `sort` (a field name, `-` in front for
/// descending), ties and the default in id order. Both come before paging, so `total` and the
/// pages agree with the order.
public struct ReadOrder: Sendable, Equatable {
    /// The field to order by, and the direction.
    public struct Sort: Sendable, Equatable {
        public let field: String
        public let descending: Bool
    }

    public let sort: Sort?
    /// Lowercased; nil when the request has no search.
    public let search: String?
    let searchFields: [String]

    /// Checks a request's `sort` and `search` against an item's schema.
    public init(_ request: APIRequest, schema: ItemSchema) throws(APIError) {
        if let text = request.sort {
            let descending = text.hasPrefix("-")
            let name = descending ? String(text.dropFirst()) : text
            guard schema.field(name) != nil else {
                throw APIError(
                    .invalidValue,
                    "cannot sort \(schema.item)s by '\(text.prefix(64))': not a field; sort by one of \(schema.fields.map(\.name).joined(separator: ", ")), with '-' in front for descending",
                    field: "sort")
            }
            sort = Sort(field: name, descending: descending)
        } else {
            sort = nil
        }
        if let text = request.search, !schema.searchFields.isEmpty {
            search = text.lowercased()
        } else if request.search != nil {
            throw APIError(.invalidValue, "\(schema.item)s cannot be searched by text; use filters", field: "search")
        } else {
            search = nil
        }
        searchFields = schema.searchFields
    }

    /// Whether a record whose fields read `value` matches the search.
    public func matchesSearch(_ value: (String) -> JSONValue) -> Bool {
        guard let search else { return true }
        for field in searchFields {
            switch value(field) {
            case .string(let text) where Self.contains(text, search): return true
            case .array(let elements) where elements.contains(where: { $0.stringValue.map { Self.contains($0, search) } == true }): return true
            default: continue
            }
        }
        return false
    }

    /// Whether `text` contains `needle` (lowercase) without regard to case. ASCII text is
    /// compared byte by byte, without making a lowercased copy of every record's field (a search
    /// of 10,000 jobs took 44 ms that way); other text is lowercased first.
    static func contains(_ text: String, _ needle: String) -> Bool {
        var text = text
        var needle = needle
        return text.withUTF8 { haystack in
            needle.withUTF8 { pattern in
                guard !pattern.isEmpty else { return true }
                guard haystack.allSatisfy({ $0 < 0x80 }), pattern.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard haystack.count >= pattern.count else { return false }
                let first = pattern[0]
                for start in 0...(haystack.count - pattern.count) where haystack[start] | (haystack[start] &- 0x41 < 26 ? 0x20 : 0) == first {
                    var index = 1
                    while index < pattern.count {
                        let byte = haystack[start + index]
                        if (byte &- 0x41 < 26 ? byte | 0x20 : byte) != pattern[index] { break }
                        index += 1
                    }
                    if index == pattern.count { return true }
                }
                return false
            }
        } ?? text.lowercased().contains(needle)
    }

    /// `records` (in id order) narrowed by the search and put in the sort order. Each record's
    /// sort key is read once.
    public func arrange<T>(_ records: [T], value: (T, String) -> JSONValue) -> [T] {
        let found = search == nil ? records : records.filter { record in matchesSearch { value(record, $0) } }
        guard let sort else { return found }
        var keyed = found.enumerated().map { (key: SortKey(value($0.element, sort.field)), position: $0.offset, record: $0.element) }
        let descending = sort.descending
        keyed.sort { a, b in
            if a.key != b.key { return SortKey.precedes(a.key, b.key, descending: descending) }
            return a.position < b.position
        }
        return keyed.map(\.record)
    }
}

/// A field's value as something to order by: numbers by value, text without regard to case,
/// missing values last in either direction.
enum SortKey: Equatable {
    case number(Double)
    case text(String)
    case missing

    init(_ value: JSONValue) {
        switch value {
        case .int(let number): self = .number(Double(number))
        case .double(let number): self = .number(number)
        case .bool(let flag): self = .number(flag ? 1 : 0)
        case .string(let text): self = .text(text.lowercased())
        case .array(let elements): self = elements.isEmpty ? .missing : .text(elements.map { $0.serialized() }.joined(separator: ",").lowercased())
        default: self = .missing
        }
    }

    /// Whether `a` comes before `b` (which differ).
    static func precedes(_ a: SortKey, _ b: SortKey, descending: Bool) -> Bool {
        switch (a, b) {
        case (.missing, _): return false
        case (_, .missing): return true
        case (.number(let x), .number(let y)): return descending ? x > y : x < y
        case (.text(let x), .text(let y)): return descending ? x > y : x < y
        case (.number, .text): return !descending
        case (.text, .number): return descending
        }
    }
}
