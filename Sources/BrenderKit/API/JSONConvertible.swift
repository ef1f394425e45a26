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

    func ints(_ key: String) throws(APIError) -> [Int] {
        let value = try present(key)
        guard let array = value.arrayValue else { throw wrongType(key, value, expected: "an array of integers") }
        var ints: [Int] = []
        ints.reserveCapacity(array.count)
        for element in array {
            guard let int = element.intValue else { throw wrongType(key, value, expected: "an array of integers") }
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
