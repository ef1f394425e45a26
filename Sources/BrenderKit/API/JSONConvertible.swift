/// A message of brender's protocols that converts to and from ``JSONValue`` by hand: one
/// conversion for both ends, no reflection on the server's hot path, and errors that name the field.
public protocol JSONConvertible: Sendable {
    init(json: JSONValue) throws(APIError)
    var json: JSONValue { get }
}

/// Reads the members of a JSON object, refusing missing members and wrong types by name.
struct JSONFields {
    let object: [String: JSONValue]

    init(_ json: JSONValue, what: String) throws(APIError) {
        guard let object = json.objectValue else {
            throw APIError(.invalidRequest, "\(what) must be a JSON object, not \(json.typeName)")
        }
        self.object = object
    }

    private func present(_ key: String) throws(APIError) -> JSONValue {
        guard let value = object[key], value != .null else {
            throw APIError(.missingField, "the request has no '\(key)'; it is required", field: key)
        }
        return value
    }

    private func wrongType(_ key: String, _ value: JSONValue, expected: String) -> APIError {
        APIError(.invalidValue, "'\(key)' must be \(expected), not \(value.typeName)", field: key)
    }

    func int(_ key: String) throws(APIError) -> Int64 {
        let value = try present(key)
        guard let int = value.intValue else { throw wrongType(key, value, expected: "an integer") }
        return int
    }

    func optionalInt(_ key: String) throws(APIError) -> Int64? {
        object[key] == nil || object[key] == .null ? nil : try int(key)
    }

    /// An integer that must lie in `range`: refused when outside it, never truncated or wrapped.
    func int(_ key: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64 {
        let value = try int(key)
        guard range.contains(value) else { throw outOfRange(key, value, range) }
        return value
    }

    func optionalInt(_ key: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64? {
        object[key] == nil || object[key] == .null ? nil : try int(key, in: range)
    }

    private func outOfRange(_ key: String, _ value: Int64, _ range: ClosedRange<Int64>) -> APIError {
        APIError(.invalidValue, "'\(key)' is \(value), out of range; it must be from \(range.lowerBound) to \(range.upperBound)", field: key)
    }

    /// A number that must lie in `range`.
    func double(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double {
        let value = try double(key)
        guard range.contains(value) else {
            throw APIError(
                .invalidValue, "'\(key)' is \(value), out of range; it must be from \(range.lowerBound) to \(range.upperBound)", field: key)
        }
        return value
    }

    func optionalDouble(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        object[key] == nil || object[key] == .null ? nil : try double(key, in: range)
    }

    /// A string of at most `maxBytes` bytes of UTF-8.
    func string(_ key: String, maxBytes: Int) throws(APIError) -> String {
        let value = try string(key)
        guard value.utf8.count <= maxBytes else { throw tooLong(key, value.utf8.count, maxBytes) }
        return value
    }

    func optionalString(_ key: String, maxBytes: Int) throws(APIError) -> String? {
        object[key] == nil || object[key] == .null ? nil : try string(key, maxBytes: maxBytes)
    }

    private func tooLong(_ key: String, _ bytes: Int, _ maxBytes: Int) -> APIError {
        APIError(.invalidValue, "'\(key)' is \(bytes) bytes long; the most it may be is \(maxBytes)", field: key)
    }

    func double(_ key: String) throws(APIError) -> Double {
        let value = try present(key)
        guard let double = value.doubleValue, double.isFinite else { throw wrongType(key, value, expected: "a number") }
        return double
    }

    func optionalDouble(_ key: String) throws(APIError) -> Double? {
        object[key] == nil || object[key] == .null ? nil : try double(key)
    }

    func string(_ key: String) throws(APIError) -> String {
        let value = try present(key)
        guard let string = value.stringValue else { throw wrongType(key, value, expected: "a string") }
        return string
    }

    func optionalString(_ key: String) throws(APIError) -> String? {
        object[key] == nil || object[key] == .null ? nil : try string(key)
    }

    func strings(_ key: String) throws(APIError) -> [String] {
        let value = try present(key)
        guard let array = value.arrayValue else { throw wrongType(key, value, expected: "an array of strings") }
        var strings: [String] = []
        strings.reserveCapacity(array.count)
        for element in array {
            guard let string = element.stringValue else { throw wrongType(key, value, expected: "an array of strings") }
            strings.append(string)
        }
        return strings
    }

    func optionalStrings(_ key: String) throws(APIError) -> [String]? {
        object[key] == nil || object[key] == .null ? nil : try strings(key)
    }

    /// An array of at most `maxCount` strings, each at most `maxBytes` long.
    func optionalStrings(_ key: String, maxCount: Int, maxBytes: Int) throws(APIError) -> [String]? {
        guard let strings = try optionalStrings(key) else { return nil }
        guard strings.count <= maxCount else {
            throw APIError(.invalidValue, "'\(key)' has \(strings.count) elements; the most it may have is \(maxCount)", field: key)
        }
        if let long = strings.first(where: { $0.utf8.count > maxBytes }) { throw tooLong(key, long.utf8.count, maxBytes) }
        return strings
    }

    /// An array of at most `maxCount` integers, each in `range`.
    func ints(_ key: String, in range: ClosedRange<Int64>, maxCount: Int) throws(APIError) -> [Int] {
        let value = try present(key)
        guard let array = value.arrayValue else { throw wrongType(key, value, expected: "an array of integers") }
        guard array.count <= maxCount else {
            throw APIError(.invalidValue, "'\(key)' has \(array.count) elements; the most it may have is \(maxCount)", field: key)
        }
        var ints: [Int] = []
        ints.reserveCapacity(array.count)
        for element in array {
            guard let int = element.intValue else { throw wrongType(key, value, expected: "an array of integers") }
            guard range.contains(int) else { throw outOfRange(key, int, range) }
            ints.append(Int(int))
        }
        return ints
    }

    func bool(_ key: String) throws(APIError) -> Bool {
        let value = try present(key)
        guard let bool = value.boolValue else { throw wrongType(key, value, expected: "true or false") }
        return bool
    }

    func optional<T: JSONConvertible>(_ key: String, as type: T.Type) throws(APIError) -> T? {
        guard let value = object[key], value != .null else { return nil }
        return try T(json: value)
    }
}
