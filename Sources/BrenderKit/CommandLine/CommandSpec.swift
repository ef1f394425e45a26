import FarmCore

/// The kind of value an option or positional argument takes, checked while parsing so errors name
/// the option and the bad value.
public enum ValueKind: Sendable, Equatable {
    case string
    case integer(ClosedRange<Int>)
    /// A non-negative number of seconds, e.g. `60` or `0.5`.
    case seconds
    case choice([String])
    /// An `http://` or `https://` URL.
    case url
    /// `HOST:PORT`, where the port may be 0 (any free port).
    case hostPort
    /// `KEY=VALUE`.
    case keyValue
}

/// One option of a command: `--long`, `-s`, with or without a value.
public struct OptionSpec: Sendable {
    /// The long name, without the leading `--`.
    public let long: String
    public let short: Character?
    /// The value's placeholder in help (`URL`); nil for a flag.
    public let valueName: String?
    public let kind: ValueKind
    /// May be given more than once; every value is kept.
    public let repeatable: Bool
    public let help: String
    /// An environment variable that supplies the value when the option is absent.
    public let environment: String?
    /// The value used when neither the option nor its environment variable is given.
    public let defaultValue: String?
    /// Values shell completion offers beyond those of its kind (e.g. `status=queued` for a filter).
    public var suggestions: [String] = []

    /// An option that takes a value.
    public static func value(
        _ long: String, short: Character? = nil, _ valueName: String, kind: ValueKind = .string, repeatable: Bool = false,
        environment: String? = nil, default defaultValue: String? = nil, help: String
    ) -> OptionSpec {
        OptionSpec(
            long: long, short: short, valueName: valueName, kind: kind, repeatable: repeatable, help: help,
            environment: environment, defaultValue: defaultValue)
    }

    /// An option for a whole number declared with its range and default (``BoundedSetting``).
    public static func value(_ long: String, short: Character? = nil, _ valueName: String, setting: BoundedSetting, help: String) -> OptionSpec {
        value(long, short: short, valueName, kind: .integer(setting.range), default: String(setting.standard), help: help)
    }

    /// An option that is on or off; `environment` (1, true, yes or on) turns it on too.
    public static func flag(_ long: String, short: Character? = nil, environment: String? = nil, help: String) -> OptionSpec {
        OptionSpec(
            long: long, short: short, valueName: nil, kind: .string, repeatable: false, help: help, environment: environment, defaultValue: nil)
    }

    public var isFlag: Bool { valueName == nil }
}

/// One positional argument.
public struct PositionalSpec: Sendable {
    public let name: String
    public let kind: ValueKind
    public let isOptional: Bool
    /// Takes every remaining argument.
    public let isRepeated: Bool
    public let help: String

    public init(_ name: String, kind: ValueKind = .string, optional: Bool = false, repeated: Bool = false, help: String) {
        self.name = name
        self.kind = kind
        self.isOptional = optional
        self.isRepeated = repeated
        self.help = help
    }
}

/// What a command does once its arguments are parsed. Returns the exit status.
public typealias CommandAction = @Sendable (ParsedCommand, CommandContext) async throws -> Int32

/// One command of the `brender` tree: its name, help, options, arguments, and either subcommands
/// or an action. The same description drives parsing, `--help`, usage errors and suggestions.
public struct CommandSpec: Sendable {
    public let name: String
    /// One line: what the command does.
    public let abstract: String
    /// More paragraphs of help.
    public let discussion: String?
    public let options: [OptionSpec]
    public let positionals: [PositionalSpec]
    public let subcommands: [CommandSpec]
    public let examples: [String]
    public let action: CommandAction?

    public init(
        _ name: String, abstract: String, discussion: String? = nil, options: [OptionSpec] = [], positionals: [PositionalSpec] = [],
        subcommands: [CommandSpec] = [], examples: [String] = [], action: CommandAction? = nil
    ) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = options
        self.positionals = positionals
        self.subcommands = subcommands
        self.examples = examples
        self.action = action
    }

    public func subcommand(_ name: String) -> CommandSpec? {
        subcommands.first { $0.name == name }
    }

    /// Every option the command accepts, including the built-in `--help`.
    public var allOptions: [OptionSpec] { options + [BuiltinOptions.help] }
}

enum BuiltinOptions {
    static let help = OptionSpec.flag("help", short: "h", help: "Show help for this command.")
    static let version = OptionSpec.flag("version", help: "Print brender's version.")
}
