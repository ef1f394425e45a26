import Foundation

/// The settings of `brender server` and `brender worker` from every source, checked before the
/// process starts: the command line, then each option's environment variable, then
/// `--config FILE`, then the default.
enum Settings {
    /// Reads `--config` (or `BRENDER_CONFIG`) into the command, and refuses what would otherwise
    /// surface later or never: a key no option has, and a value from the environment or the file
    /// that the option would refuse on the command line. Each message names the key, and the
    /// file and line it is on.
    static func load(_ parsed: ParsedCommand) throws -> ParsedCommand {
        var parsed = parsed
        let keys = parsed.spec.allOptions.compactMap(\.environment)
        if let path = parsed.string("config") {
            let file = try ConfigurationFile.load(path)
            for entry in file.entries {
                guard entry.key != "BRENDER_CONFIG" else {
                    throw CommandFailure("\(path):\(entry.line): BRENDER_CONFIG cannot be set in a configuration file")
                }
                guard keys.contains(entry.key) else {
                    let suggestion = Suggestions.closest(to: entry.key, among: keys).map { "did you mean \($0)? " } ?? ""
                    throw CommandFailure(
                        "\(path):\(entry.line): unknown key \(entry.key) for '\(parsed.commandName)'; \(suggestion)keys: \(keys.joined(separator: ", "))"
                    )
                }
            }
            parsed.configuration = file
        }
        for option in parsed.spec.allOptions {
            guard let variable = option.environment else { continue }
            let (value, source) = parsed.resolve(option.long)
            guard let value, source != .commandLine, source != .defaultValue else { continue }
            let place = if case .file(let path, let line) = source { "\(variable) in \(path):\(line)" } else { "\(variable) in the environment" }
            if option.isFlag {
                guard ParsedCommand.switchValue(value) != nil else {
                    throw CommandFailure("\(place) must be 1, true, yes or on (or 0, false, no, off), not '\(value.prefix(64))'")
                }
            } else {
                do {
                    try ArgumentParser.check(value, kind: option.kind, what: place, commandName: parsed.commandName)
                } catch {
                    throw CommandFailure(error.message)
                }
            }
        }
        return parsed
    }

    /// The effective settings as `KEY=value` lines a configuration file could hold, each with
    /// where it came from; secrets are not shown.
    static func describe(_ parsed: ParsedCommand) -> [String] {
        let secret: Set<String> = ["BRENDER_JOIN_TOKEN", "BRENDER_TOKEN"]
        var rows: [(String, String)] = []
        for option in parsed.spec.allOptions {
            guard let variable = option.environment, variable != "BRENDER_CONFIG" else { continue }
            let (value, source) = parsed.resolve(option.long)
            let shown: String
            if let value {
                shown = secret.contains(variable) ? "(set; not shown)" : quoted(option.isFlag ? String(parsed.flag(option.long)) : value)
            } else {
                shown = ""
            }
            rows.append(("\(variable)=\(shown)", "# \(source)"))
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }
    }

    /// A value as a configuration file writes it: plain, or in double quotes when it has spaces,
    /// quotes or backslashes.
    static func quoted(_ value: String) -> String {
        guard value.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "\\" || $0 == "#" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
