/// A command line after parsing: which command, and the values of its options and arguments.
///
/// Values were checked against their ``ValueKind`` while parsing, so the typed accessors only
/// convert.
public struct ParsedCommand: Sendable {
    /// The command names from the root, e.g. `["brender", "client", "list"]`.
    public let path: [String]
    public let spec: CommandSpec
    /// Values given on the command line, by long option name, in order.
    public let given: [String: [String]]
    public let positionals: [String]
    /// The environment, for options that fall back to a variable.
    public let environment: [String: String]
    /// A configuration file (`--config FILE`) whose `BRENDER_...` keys stand in for the
    /// environment's variables, below them in precedence.
    public var configuration: ConfigurationFile?

    /// `brender client list`, for messages.
    public var commandName: String { path.joined(separator: " ") }

    /// Where an option's value came from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case commandLine
        case environment(variable: String)
        case file(path: String, line: Int)
        case defaultValue
        /// No value at all.
        case unset

        public var description: String {
            switch self {
            case .commandLine: "command line"
            case .environment(let variable): "environment (\(variable))"
            case .file(let path, let line): "\(path):\(line)"
            case .defaultValue: "default"
            case .unset: "not set"
            }
        }
    }

    /// The option's value and where it came from: the command line, else its environment
    /// variable, else the configuration file, else its default.
    public func resolve(_ long: String) -> (value: String?, source: Source) {
        if let value = given[long]?.last { return (value, .commandLine) }
        guard let option = spec.allOptions.first(where: { $0.long == long }) else { return (nil, .unset) }
        if let variable = option.environment {
            if let value = environment[variable], !value.isEmpty { return (value, .environment(variable: variable)) }
            if let entry = configuration?.entry(variable) { return (entry.value, .file(path: configuration!.path, line: entry.line)) }
        }
        return option.defaultValue.map { ($0, .defaultValue) } ?? (nil, .unset)
    }

    /// The option's value: given, else from its environment variable, else from the
    /// configuration file, else its default.
    public func string(_ long: String) -> String? {
        resolve(long).value
    }

    /// Every value of a repeatable option.
    public func strings(_ long: String) -> [String] {
        given[long] ?? []
    }

    /// Whether a flag is on: given, or its variable (environment, else configuration file) says
    /// 1, true, yes or on.
    public func flag(_ long: String) -> Bool {
        if given[long] != nil { return true }
        return resolve(long).value.flatMap(Self.switchValue) ?? false
    }

    /// A flag's value in a variable: 1/true/yes/on or 0/false/no/off (any case); nil for other text.
    static func switchValue(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off": false
        default: nil
        }
    }

    public func int(_ long: String) -> Int? {
        string(long).flatMap { Int($0) }
    }

    public func seconds(_ long: String) -> Double? {
        string(long).flatMap { Double($0) }
    }

    /// The positional argument named `name` in the spec.
    public func positional(_ name: String) -> String? {
        guard let index = spec.positionals.firstIndex(where: { $0.name == name }), index < positionals.count else { return nil }
        return positionals[index]
    }

    /// The values of a repeated positional (every argument from its place on).
    public func repeatedPositional(_ name: String) -> [String] {
        guard let index = spec.positionals.firstIndex(where: { $0.name == name }), index < positionals.count else { return [] }
        return Array(positionals[index...])
    }

    /// `KEY=VALUE` pairs of a repeatable option, split at the first `=`.
    public func keyValues(_ long: String) -> [(key: String, value: String)] {
        strings(long).map { text in
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }
}
