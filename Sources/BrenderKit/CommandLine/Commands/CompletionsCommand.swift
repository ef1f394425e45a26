/// `brender completions SHELL`: the completion script for a shell, from the command tree.
enum CompletionsCommand {
    static let spec = CommandSpec(
        "completions", abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion:
            "Generated from the same command tree the parser uses: commands, options, the values an option takes, files, and job ids and client names asked of the server. The Debian package installs them; by hand, see the examples.",
        positionals: [PositionalSpec("SHELL", kind: .choice(Completions.Shell.allCases.map(\.rawValue)), help: "bash, zsh or fish.")],
        examples: [
            "brender completions bash > /etc/bash_completion.d/brender",
            "brender completions zsh > ~/.zfunc/_brender",
            "brender completions fish > ~/.config/fish/completions/brender.fish",
        ],
        action: { parsed, context in
            context.output.write(Completions.script(for: Completions.Shell(rawValue: parsed.positional("SHELL")!)!))
            return 0
        })
}
