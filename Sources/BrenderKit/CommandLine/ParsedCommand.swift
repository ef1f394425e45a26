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

    /// `brender client list`, for messages.
    public var commandName: String { path.joined(separator: " ") }

    /// The option's value: given, else from its environment variable, else its default.
    public func string(_ long: String) -> String? {
        if let value = given[long]?.last { return value }
        guard let option = spec.allOptions.first(where: { $0.long == long }) else { return nil }
        if let variable = option.environment, let value = environment[variable], !value.isEmpty { return value }
        return option.defaultValue
    }

    /// Every value of a repeatable option.
    public func strings(_ long: String) -> [String] {
        given[long] ?? []
    }

    public func flag(_ long: String) -> Bool {
        given[long] != nil
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
