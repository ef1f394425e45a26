import Foundation

/// A `KEY=value` file in the format of systemd's `EnvironmentFile=`, so one file serves both
/// `--config FILE` and a unit: one assignment a line; blank lines and lines starting with `#` or
/// `;` are ignored; a value may be wrapped in double quotes (where `\"` and `\\` stand for `"` and
/// `\`) or single quotes; space around the key and value is dropped.
public struct ConfigurationFile: Sendable, Equatable {
    /// One assignment and the line it is on.
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: String
        public let line: Int
    }

    public let path: String
    public let entries: [Entry]

    /// A line that is not an assignment, named by file and line.
    public struct Malformed: Error, CustomStringConvertible {
        public let path: String
        public let line: Int
        public let reason: String
        public var description: String { "\(path):\(line): \(reason)" }
    }

    public init(path: String, text: String) throws(Malformed) {
        self.path = path
        var entries: [Entry] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Malformed(path: path, line: index + 1, reason: "expected KEY=value, not '\(line.prefix(80))'")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !key.first!.isNumber else {
                throw Malformed(path: path, line: index + 1, reason: "'\(key.prefix(80))' is not a variable name (letters, digits and _)")
            }
            let value = try Self.unquote(line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces), path: path, line: index + 1)
            entries.append(Entry(key: key, value: value, line: index + 1))
        }
        self.entries = entries
    }

    /// Reads a file; its failure to open says which file and why.
    public static func load(_ path: String) throws -> ConfigurationFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandFailure("cannot read the configuration file \(path); check the path and that this user may read it")
        }
        return try ConfigurationFile(path: path, text: text)
    }

    /// The value of the last assignment of `key`, and its line.
    public func entry(_ key: String) -> Entry? {
        entries.last { $0.key == key }
    }

    private static func unquote(_ text: String, path: String, line: Int) throws(Malformed) -> String {
        guard let first = text.first, first == "\"" || first == "'" else { return text }
        guard text.count >= 2, text.last == first else {
            throw Malformed(path: path, line: line, reason: "the value's quote \(first) is not closed")
        }
        let inner = text.dropFirst().dropLast()
        guard first == "\"" else { return String(inner) }
        var result = ""
        var escaped = false
        for character in inner {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
