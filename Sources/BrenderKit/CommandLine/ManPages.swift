import Foundation

/// The manual pages, generated from the command tree the parser uses (synopses, options, their
/// environment variables and defaults, examples) plus the prose below (what each group is for,
/// its files), so a page cannot drift from the program: `brender(1)` and one page per command
/// group (`brender-server(1)`, `brender-worker(1)`, `brender-job(1)`, ...).
public enum ManPages {
    /// A page: its file name (`brender-job.1`) and its roff text.
    public struct Page: Sendable {
        public let name: String
        public let text: String
    }

    /// The groups that get a page of their own.
    static let groups = ["server", "worker", "job", "task", "client", "pathmap"]

    /// Written prose for each page: a description, and files where it has some.
    static let prose: [String: (description: [String], files: [(String, String)])] = [
        "": (
            [
                "brender renders Blender animations on every machine of a farm. One machine runs the server, which keeps the farm in an SQLite database and answers an HTTP JSON API; every render node runs a worker, which takes tasks (chunks of frames), runs Blender and reports back. The other commands drive the farm through the API from any machine.",
                "Every command has --help. Usage errors print a message and a hint on standard error and exit 2; failures print \"brender: error: ...\" and exit 1.",
            ], []
        ),
        "server": (
            [
                "The server keeps the farm: clients (render nodes), jobs and their tasks, in one SQLite database in its data directory, written through before any change is acknowledged. It serves the admin API (POST /api), the worker protocol, task logs, the event stream (GET /events), GET /health and the dashboard (a web page at /, signed in with a token, that shows the farm live and steers it) on one port, over HTTPS when given a certificate.",
                "On its first start it makes an admin token and a worker join token in DATA/tokens/; brender server token prints, replaces, makes and revokes tokens. Each option comes from the command line, else its environment variable, else --config FILE (KEY=value lines, as systemd's EnvironmentFile=), else its default; brender server config shows the result.",
            ],
            [
                ("DATA/brender.sqlite", "The farm's database (WAL mode)."),
                ("DATA/tokens/admin.token, DATA/tokens/join.token", "The admin and join tokens (mode 0600)."),
                ("DATA/tokens/named.tokens", "Named tokens: name, role, and the SHA-256 of each secret."),
                ("DATA/logs/", "Task logs, one file per attempt."),
                ("DATA/previews/", "Small previews of rendered frames, sent by the workers, for the dashboard."),
                ("/etc/default/brender-server", "Settings for the systemd unit brender-server.service."),
            ]
        ),
        "worker": (
            [
                "A worker registers with the server using the join token, keeps its client record online with heartbeats, and takes tasks: it runs Blender (or, when started with --allow-commands, a command job's program), streams its output to the server, verifies each frame file, and reports the task done or failed. SIGTERM or SIGINT stops a running task, hands it back, signs off and exits 0.",
                "Its key, made on its first start and kept in its state directory, is its credential from then on; deleting its client on the server revokes it.",
                "It keeps Blender running between tasks with the job's file loaded, so that the next task of the same file costs only its render; another file, a changed file or a task that went wrong starts a fresh Blender, and --cold (or a job submitted with --cold) starts one for every task. With ffmpeg it also sends the server a small preview of every frame it renders, for the dashboard.",
            ],
            [
                ("STATE/worker.key", "The worker's key (mode 0600); the server keeps only its digest."),
                ("STATE/", "Default: $STATE_DIRECTORY/worker-NAME under systemd, else ~/.local/state/brender/worker-NAME."),
                ("/etc/default/brender-worker", "Settings for the systemd unit brender-worker.service."),
            ]
        ),
        "job": (
            [
                "A job renders a .blend file's frames (or runs a command per chunk of frames) as tasks of --chunk frames each. Its status is waiting, queued, active, paused, completed, failed or canceled; brender job show says why it waits, failed or was canceled."
            ], []
        ),
        "task": (["A task is a chunk of a job's frames, run by one worker at a time; its log keeps the output of every attempt."], []),
        "client": (
            [
                "A client is a render node as the server knows it: its name, tags, status (enabled or disabled), connection (online or offline), activity, slots (how many tasks it runs at once, busy/all in the list) and working hours."
            ], []
        ),
        "pathmap": (
            [
                "A path map names shared storage and where it is mounted on each platform; a task's paths are rewritten for the node that runs it."
            ], []
        ),
    ]

    /// Every page.
    public static func pages(root: CommandSpec = BrenderCLI.root) -> [Page] {
        [page(for: root, path: [], root: root)]
            + groups.compactMap { name in root.subcommand(name).map { page(for: $0, path: [name], root: root) } }
    }

    static func page(for spec: CommandSpec, path: [String], root: CommandSpec) -> Page {
        let title = (["brender"] + path).joined(separator: "-")
        let words = (["brender"] + path).joined(separator: " ")
        let text = prose[path.joined(separator: " ")] ?? ([], [])
        var out: [String] = [
            ".\\\" Generated by 'brender man' from brender's command tree; do not edit.",
            ".TH \(title.uppercased()) 1 \"\" \"brender \(BrenderVersion.current)\" \"brender manual\"",
            ".SH NAME", "\(escape(title)) \\- \(escape(spec.abstract))", ".SH SYNOPSIS",
        ]
        let commands = runnable(spec, words: words)
        for (name, command) in commands { out.append(contentsOf: [".PP", synopsis(name, command)]) }
        out.append(".SH DESCRIPTION")
        for paragraph in text.description + (spec.discussion.map { [$0] } ?? []) { out.append(contentsOf: [".PP", escape(paragraph)]) }
        if path.isEmpty {
            out.append(".SH COMMANDS")
            for sub in spec.subcommands {
                let page = groups.contains(sub.name) ? " See \\fBbrender\\-\(sub.name)\\fR(1)." : ""
                out.append(contentsOf: [".TP", "\\fB\(escape(sub.name))\\fR", escape(sub.abstract) + page])
            }
            out.append(contentsOf: options(spec.allOptions + [BuiltinOptions.version], heading: ".SH OPTIONS"))
        } else {
            out.append(".SH COMMANDS")
            for (name, command) in commands {
                out.append(contentsOf: [".SS \(escape(name))", escape(command.abstract)])
                // The group's own discussion is in DESCRIPTION already.
                if let discussion = command.discussion, name != words {
                    out.append(contentsOf: [".PP", escape(discussion)])
                }
                for positional in command.positionals {
                    out.append(contentsOf: [".TP", "\\fI\(escape(positional.name))\\fR", escape(positional.help)])
                }
                out.append(contentsOf: options(command.allOptions, heading: nil))
            }
        }
        let environment = environmentVariables(commands.map(\.1))
        if !environment.isEmpty {
            out.append(".SH ENVIRONMENT")
            for (variable, option) in environment {
                out.append(contentsOf: [".TP", "\\fB\(variable)\\fR", "The value of \\fB\\-\\-\(escape(option))\\fR when the option is not given."])
            }
        }
        if !text.files.isEmpty {
            out.append(".SH FILES")
            for (file, about) in text.files { out.append(contentsOf: [".TP", "\\fI\(escape(file))\\fR", escape(about)]) }
        }
        out.append(contentsOf: [
            ".SH EXIT STATUS", ".TP", "0", "Success.", ".TP", "1",
            "The command failed; standard error says what went wrong and what to do.", ".TP", "2",
            "The command was used wrongly (an unknown option, a bad value); a hint follows the message.",
        ])
        let examples = commands.flatMap(\.1.examples) + (path.isEmpty ? spec.examples : [])
        if !examples.isEmpty {
            out.append(".SH EXAMPLES")
            for example in uniqued(examples) { out.append(contentsOf: [".PP", ".EX", escape(example), ".EE"]) }
        }
        out.append(".SH SEE ALSO")
        let others = (["brender"] + groups.map { "brender-\($0)" }).filter { $0 != title }
        out.append(others.map { "\\fB\(escape($0))\\fR(1)" }.joined(separator: ", "))
        return Page(name: "\(title).1", text: out.joined(separator: "\n") + "\n")
    }

    /// Every command below `spec` that runs something, with its full name; the command itself first
    /// when it runs something too (`brender server` and its subcommands).
    static func runnable(_ spec: CommandSpec, words: String) -> [(String, CommandSpec)] {
        (spec.action != nil ? [(words, spec)] : [])
            + spec.subcommands.flatMap { runnable($0, words: "\(words) \($0.name)") }
    }

    static func synopsis(_ name: String, _ spec: CommandSpec) -> String {
        var parts = ["\\fB\(escape(name))\\fR"]
        for option in spec.options {
            let flag = "\\fB\\-\\-\(escape(option.long))\\fR"
            parts.append(option.isFlag ? "[\(flag)]" : "[\(flag) \\fI\(escape(option.valueName ?? "VALUE"))\\fR]")
        }
        for positional in spec.positionals {
            let name = "\\fI\(escape(positional.name))\\fR" + (positional.isRepeated ? "..." : "")
            parts.append(positional.isOptional ? "[\(name)]" : name)
        }
        return parts.joined(separator: " ")
    }

    static func options(_ options: [OptionSpec], heading: String?) -> [String] {
        guard !options.isEmpty else { return [] }
        var out = heading.map { [$0] } ?? []
        for option in options {
            var names = "\\fB\\-\\-\(escape(option.long))\\fR"
            if let short = option.short { names = "\\fB\\-\(short)\\fR, " + names }
            if let value = option.valueName { names += " \\fI\(escape(value))\\fR" }
            var help = option.help
            if let environment = option.environment { help += " (env: \(environment))" }
            if let value = option.defaultValue { help += " Default: \(value)." }
            out.append(contentsOf: [".TP", names, escape(help)])
        }
        return out
    }

    /// The environment variables of the options, each once, in the order first met.
    static func environmentVariables(_ specs: [CommandSpec]) -> [(String, String)] {
        var seen: Set<String> = []
        var result: [(String, String)] = []
        for spec in specs {
            for option in spec.options {
                guard let variable = option.environment, seen.insert(variable).inserted else { continue }
                result.append((variable, option.long))
            }
        }
        return result
    }

    /// Text made safe for roff: backslashes doubled as `\e`, a leading dot or quote guarded, and
    /// hyphens kept as hyphens (`\-`), so options copy and paste.
    static func escape(_ text: String) -> String {
        var escaped = text.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
        if escaped.hasPrefix(".") || escaped.hasPrefix("'") { escaped = "\\&" + escaped }
        return escaped
    }

    /// Elements in their first order, each once.
    private static func uniqued(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0).inserted }
    }
}
