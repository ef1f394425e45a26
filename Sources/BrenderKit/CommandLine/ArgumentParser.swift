/// What a command line asks for.
public enum ParseOutcome: Sendable {
    /// Run a command.
    case run(ParsedCommand)
    /// Show help for the command at this path (from the root).
    case help([CommandSpec])
    /// Print the version.
    case version
}

/// brender's command-line parser, driven entirely by a ``CommandSpec`` tree.
///
/// Accepts nested subcommands, `--long VALUE`, `--long=VALUE`, `-s VALUE`, `-sVALUE`, grouped
/// short flags (`-fj`), repeated options, positional arguments, `--` to end options, `--help`
/// anywhere, `help COMMAND...`, and `--version` at the root.
public struct ArgumentParser: Sendable {
    public let root: CommandSpec

    public init(root: CommandSpec) {
        self.root = root
    }

    public func parse(_ arguments: [String], environment: [String: String] = [:]) throws(UsageError) -> ParseOutcome {
        if arguments.first == "help" {
            return .help(try resolvePath(Array(arguments.dropFirst())))
        }
        var chain = [root]
        var given: [String: [String]] = [:]
        var positionals: [String] = []
        var helpRequested = false
        var optionsEnded = false
        var index = 0

        func command() -> CommandSpec { chain[chain.count - 1] }
        func commandName() -> String { chain.map(\.name).joined(separator: " ") }
        func helpHint() -> String { "see '\(commandName()) --help'" }
        func nextValue(for option: OptionSpec, spelled: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count else {
                throw UsageError(
                    "option '\(spelled)' needs a value (\(option.valueName ?? "VALUE"))",
                    hint: "e.g. '\(commandName()) \(spelled) \(example(for: option))'; \(helpHint())")
            }
            return arguments[index]
        }
        func record(_ option: OptionSpec, spelled: String, value: String?) throws(UsageError) {
            if option.long == BuiltinOptions.help.long {
                helpRequested = true
                return
            }
            if let value {
                try Self.check(value, kind: option.kind, what: "option '\(spelled)'", commandName: commandName())
            }
            if given[option.long] != nil && !option.repeatable {
                throw UsageError("option '--\(option.long)' was given more than once", hint: "give it once; \(helpHint())")
            }
            given[option.long, default: []].append(value ?? "true")
        }

        while index < arguments.count {
            let token = arguments[index]
            defer { index += 1 }
            if optionsEnded || token == "-" || !token.hasPrefix("-") || isNegativeNumber(token) {
                if !optionsEnded && positionals.isEmpty && !command().subcommands.isEmpty {
                    guard let sub = command().subcommand(token) else {
                        let names = command().subcommands.map(\.name)
                        let suggestion = Suggestions.closest(to: token, among: names)
                        throw UsageError(
                            "'\(token)' is not a \(commandName()) command",
                            hint: (suggestion.map { "did you mean '\($0)'? " } ?? "commands: \(names.joined(separator: ", ")); ")
                                + helpHint())
                    }
                    chain.append(sub)
                    continue
                }
                positionals.append(token)
                continue
            }
            if token == "--" {
                optionsEnded = true
                continue
            }
            if token.hasPrefix("--") {
                let body = token.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                let attached = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                if chain.count == 1 && name == BuiltinOptions.version.long && attached == nil {
                    return .version
                }
                guard let option = command().allOptions.first(where: { $0.long == name }) else {
                    let names = command().allOptions.map { "--\($0.long)" }
                    let suggestion = Suggestions.closest(to: "--\(name)", among: names)
                    throw UsageError(
                        "unknown option '--\(name)' for '\(commandName())'",
                        hint: (suggestion.map { "did you mean '\($0)'? " } ?? "") + helpHint())
                }
                if option.isFlag {
                    if attached != nil {
                        throw UsageError("option '--\(name)' is a flag and takes no value", hint: "write '--\(name)' alone; \(helpHint())")
                    }
                    try record(option, spelled: "--\(name)", value: nil)
                } else {
                    let value: String
                    if let attached { value = attached } else { value = try nextValue(for: option, spelled: "--\(name)") }
                    try record(option, spelled: "--\(name)", value: value)
                }
                continue
            }
            // Short options: -s VALUE, -sVALUE, or grouped flags -abc.
            var letters = Substring(token.dropFirst())
            while let letter = letters.first {
                letters = letters.dropFirst()
                guard let option = command().allOptions.first(where: { $0.short == letter }) else {
                    let names = command().allOptions.compactMap { $0.short.map { "-\($0)" } }
                    throw UsageError(
                        "unknown option '-\(letter)' for '\(commandName())'",
                        hint: (names.isEmpty ? "" : "short options here: \(names.joined(separator: ", ")); ") + helpHint())
                }
                if option.isFlag {
                    try record(option, spelled: "-\(letter)", value: nil)
                } else {
                    let value: String
                    if letters.isEmpty { value = try nextValue(for: option, spelled: "-\(letter)") } else { value = String(letters) }
                    try record(option, spelled: "-\(letter)", value: value)
                    break
                }
            }
        }

        if helpRequested { return .help(chain) }
        let spec = command()
        guard spec.action != nil else {
            let names = spec.subcommands.map(\.name)
            throw UsageError(
                "'\(commandName())' needs a command: \(names.joined(separator: ", "))",
                hint: "e.g. '\(commandName()) \(names.first ?? "")'; see '\(commandName()) --help'")
        }
        try checkPositionals(positionals, of: spec, commandName: commandName())
        return .run(
            ParsedCommand(path: chain.map(\.name), spec: spec, given: given, positionals: positionals, environment: environment))
    }

    /// Resolves `help client list` to its command chain.
    func resolvePath(_ names: [String]) throws(UsageError) -> [CommandSpec] {
        var chain = [root]
        for name in names {
            guard let sub = chain[chain.count - 1].subcommand(name) else {
                let current = chain.map(\.name).joined(separator: " ")
                let suggestion = Suggestions.closest(to: name, among: chain[chain.count - 1].subcommands.map(\.name))
                throw UsageError(
                    "'\(name)' is not a \(current) command",
                    hint: (suggestion.map { "did you mean '\($0)'? " } ?? "") + "see '\(current) --help'")
            }
            chain.append(sub)
        }
        return chain
    }

    private func checkPositionals(_ values: [String], of spec: CommandSpec, commandName: String) throws(UsageError) {
        let hint = "see '\(commandName) --help'"
        for (position, argument) in spec.positionals.enumerated() {
            if position >= values.count {
                if argument.isOptional { break }
                throw UsageError(
                    "'\(commandName)' needs \(argument.name)", hint: "usage: \(HelpFormatter.usage(of: spec, name: commandName)); \(hint)")
            }
            let checked = argument.isRepeated ? Array(values[position...]) : [values[position]]
            for value in checked {
                try Self.check(value, kind: argument.kind, what: argument.name, commandName: commandName)
            }
        }
        let takesAll = spec.positionals.last?.isRepeated ?? false
        if !takesAll && values.count > spec.positionals.count {
            let extra = values[spec.positionals.count]
            throw UsageError("unexpected argument '\(extra)' for '\(commandName)'", hint: hint)
        }
    }

    /// Checks a value against its kind; the error names `what` and says what is expected.
    static func check(_ value: String, kind: ValueKind, what: String, commandName: String) throws(UsageError) {
        let hint = "see '\(commandName) --help'"
        switch kind {
        case .string:
            return
        case .integer(let range):
            guard let number = Int(value), range.contains(number) else {
                throw UsageError("\(what) needs a whole number from \(range.lowerBound) to \(range.upperBound), not '\(value)'", hint: hint)
            }
        case .seconds:
            guard let number = Double(value), number.isFinite, number >= 0 else {
                throw UsageError("\(what) needs a number of seconds (e.g. 60 or 0.5), not '\(value)'", hint: hint)
            }
        case .choice(let words):
            guard words.contains(value) else {
                let suggestion = Suggestions.closest(to: value, among: words)
                throw UsageError(
                    "\(what) must be one of \(words.joined(separator: ", ")), not '\(value)'",
                    hint: (suggestion.map { "did you mean '\($0)'? " } ?? "") + hint)
            }
        case .url:
            guard value.hasPrefix("http://") || value.hasPrefix("https://"), value.count > 8, !value.contains(" ") else {
                throw UsageError("\(what) needs an http:// or https:// URL, not '\(value)'", hint: "e.g. http://127.0.0.1:9999; \(hint)")
            }
        case .hostPort:
            guard HostPort(value) != nil else {
                throw UsageError("\(what) needs HOST:PORT with a port from 0 to 65535, not '\(value)'", hint: "e.g. 0.0.0.0:9999; \(hint)")
            }
        case .keyValue:
            guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
                throw UsageError("\(what) needs KEY=VALUE, not '\(value)'", hint: "e.g. status=enabled; \(hint)")
            }
        }
    }

    private func isNegativeNumber(_ token: String) -> Bool {
        token.count > 1 && token.hasPrefix("-") && Double(token) != nil
    }

    private func example(for option: OptionSpec) -> String {
        switch option.kind {
        case .integer(let range): String(range.lowerBound)
        case .seconds: "60"
        case .choice(let words): words.first ?? "VALUE"
        case .url: "http://127.0.0.1:9999"
        case .hostPort: "0.0.0.0:9999"
        case .keyValue: "status=enabled"
        case .string: option.valueName ?? "VALUE"
        }
    }
}

/// `HOST:PORT`, as `--listen` takes it. IPv6 hosts go in brackets: `[::1]:9999`.
public struct HostPort: Sendable, Equatable {
    public let host: String
    public let port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        self.host = host
        self.port = port
    }
}
