import Foundation

/// Renders `--help` text from a ``CommandSpec``, so help can never drift from what the parser accepts.
public enum HelpFormatter {
    /// The one-line usage: `brender client list [--filter KEY=VALUE ...] [--json]`.
    public static func usage(of spec: CommandSpec, name: String) -> String {
        var parts = [name]
        if !spec.subcommands.isEmpty {
            parts.append("<command>")
        }
        for option in spec.options {
            var text = "--\(option.long)"
            if let valueName = option.valueName { text += " \(valueName)" }
            if option.repeatable { text += " ..." }
            parts.append("[\(text)]")
        }
        for positional in spec.positionals {
            var text = positional.name
            if positional.isRepeated { text += "..." }
            parts.append(positional.isOptional ? "[\(text)]" : text)
        }
        return parts.joined(separator: " ")
    }

    /// The full help page of the last command in `chain`.
    public static func help(for chain: [CommandSpec]) -> String {
        let spec = chain[chain.count - 1]
        let name = chain.map(\.name).joined(separator: " ")
        var out = "\(spec.abstract)\n\nUSAGE: \(usage(of: spec, name: name))\n"
        if let discussion = spec.discussion {
            out += "\n\(discussion)\n"
        }
        if !spec.positionals.isEmpty {
            out += "\nARGUMENTS:\n"
            out += table(spec.positionals.map { ($0.name + ($0.isRepeated ? "..." : ""), $0.help) })
        }
        if !spec.subcommands.isEmpty {
            out += "\nCOMMANDS:\n"
            out += table(spec.subcommands.map { ($0.name, $0.abstract) })
        }
        out += "\nOPTIONS:\n"
        var options = spec.allOptions
        if chain.count == 1 { options.append(BuiltinOptions.version) }
        out += table(options.map { (optionLabel($0), optionHelp($0)) })
        if !spec.examples.isEmpty {
            out += "\nEXAMPLES:\n"
            out += spec.examples.map { "  \($0)\n" }.joined()
        }
        if !spec.subcommands.isEmpty {
            out += "\nSee '\(name) <command> --help' for a command's options.\n"
        }
        return out
    }

    static func optionLabel(_ option: OptionSpec) -> String {
        var label = option.short.map { "-\($0), " } ?? "    "
        label += "--\(option.long)"
        if let valueName = option.valueName { label += " \(valueName)" }
        return label
    }

    static func optionHelp(_ option: OptionSpec) -> String {
        var help = option.help
        var notes: [String] = []
        if option.repeatable { notes.append("repeatable") }
        if let variable = option.environment { notes.append("env: \(variable)") }
        if let value = option.defaultValue { notes.append("default: \(value)") }
        if !notes.isEmpty { help += " (\(notes.joined(separator: "; ")))" }
        return help
    }

    /// Two aligned columns, the second wrapped at 100 characters.
    static func table(_ rows: [(String, String)]) -> String {
        let width = min(34, (rows.map(\.0.count).max() ?? 0) + 2)
        var out = ""
        for (left, right) in rows {
            let lines = wrap(right, width: max(40, 100 - width - 2))
            if left.count + 2 > width {
                out += "  \(left)\n"
                for line in lines { out += String(repeating: " ", count: width + 2) + line + "\n" }
            } else {
                for (index, line) in lines.enumerated() {
                    let head = index == 0 ? left.padding(toLength: width, withPad: " ", startingAt: 0) : String(repeating: " ", count: width)
                    out += "  \(head)\(line)\n"
                }
            }
        }
        return out
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty && current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += current.isEmpty ? String(word) : " \(word)"
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }
}
