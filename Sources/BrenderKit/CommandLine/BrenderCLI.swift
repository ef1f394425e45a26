/// The `brender` command: its command tree and its entry point.
public enum BrenderCLI {
    /// Every command brender has, in one declarative tree.
    public static let root = CommandSpec(
        "brender", abstract: "brender: a render farm for Blender.",
        discussion: "Run 'brender server' on one machine and 'brender worker' on every render node; drive the farm with the other commands.",
        subcommands: [
            DaemonCommands.server, DaemonCommands.worker, JobCommands.spec, TaskCommands.spec, ClientCommands.spec, PathMapCommands.spec,
            DemoSceneCommand.spec, CompletionsCommand.spec, ManCommand.spec,
        ],
        examples: [
            "brender server --data ./brender-data", "brender worker --server http://farm:9999",
            "brender job submit shot.blend --frames 1-250 --chunk 5 --wait", "brender client list",
        ])

    /// Parses `arguments` (without the program name), runs the command, and returns the exit status:
    /// 0 on success, 1 when the command failed, 2 when it was invoked wrongly.
    ///
    /// Catches every error: no input or network failure ends the process with a crash.
    public static func run(_ arguments: [String], context: CommandContext = .standard) async -> Int32 {
        let parser = ArgumentParser(root: root)
        do {
            switch try parser.parse(arguments, environment: context.environment) {
            case .version:
                context.print("brender \(BrenderVersion.current)")
                return 0
            case .help(let chain):
                context.output.write(HelpFormatter.help(for: chain))
                return 0
            case .run(let parsed):
                return try await parsed.spec.action!(parsed, context)
            }
        } catch let error as UsageError {
            context.printError("brender: error: \(error.message)")
            context.printError("hint: \(error.hint)")
            return 2
        } catch {
            context.printError("brender: error: \(error)")
            return 1
        }
    }
}
