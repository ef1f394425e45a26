import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// How a child process ended.
public enum ProcessExit: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exit code \(code)"
        case .signaled(let signal): "signal \(signal)"
        }
    }
}

/// Runs a child process (Blender, or a command task) with its standard output and error merged
/// and read line by line, in a process group of its own so a stop reaches everything it started.
public enum ProcessRunner {
    /// Runs `executable` and calls `onLine` for every output line.
    ///
    /// When `stop` flips, the group gets SIGTERM, then SIGKILL after `grace`.
    /// - Parameters:
    ///   - executable: a path, or a name looked up in `PATH`.
    ///   - guarded: run it under a ``ChildGuard``, which stops it if this process dies.
    ///   - groups: where the running process group is recorded, so a later run of the worker can
    ///     stop it if this one is killed first.
    public static func run(
        _ executable: String, arguments: [String], environment: [String: String] = [:], stop: StopSignal,
        grace: Duration = .seconds(5), guarded: Bool = false, groups: WorkerStateDirectory? = nil,
        onLine: @escaping @Sendable (String) async -> Void
    ) async throws -> ProcessExit {
        var options = PlatformOptions()
        options.processGroupID = 0
        // When the caller is cancelled (the worker is stopping), the whole group is stopped, not
        // only the direct child: SIGTERM, then SIGKILL after `grace`.
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: grace)]
        guard let program = resolve(executable) else { throw ProcessRunnerError.notFound(executable) }
        var executable = program
        var arguments = arguments
        if guarded, let wrapped = ChildGuard.arguments(program: program, arguments: arguments) {
            (executable, arguments) = wrapped
        }
        let target: Executable = .path(FilePath(executable))
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        let result = try await Subprocess.run(
            target, arguments: Arguments(arguments), environment: .inherit.updating(updates), platformOptions: options,
            input: .none, output: .sequence, error: .combinedWithOutput
        ) { execution in
            let pid = execution.processIdentifier.value
            groups?.recordChild(group: pid)
            defer { groups?.forgetChild(group: pid) }
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await line in execution.standardOutput.strings() {
                        await onLine(line)
                    }
                }
                group.addTask {
                    await stop.wait()
                    guard !Task.isCancelled else { return }
                    try? execution.send(signal: .terminate, toProcessGroup: true)
                    try? await Task.sleep(for: grace)
                    guard !Task.isCancelled else { return }
                    try? execution.send(signal: .kill, toProcessGroup: true)
                }
                // The reader ends when the child (and anything holding its output) is gone.
                try await group.next()
                group.cancelAll()
            }
        }
        switch result.terminationStatus {
        case .exited(let code): return .exited(code)
        case .signaled(let signal): return .signaled(signal)
        }
    }

    /// Runs a short command (a probe, a check) and returns how it ended with its output lines.
    static func capture(_ executable: String, arguments: [String], stop: StopSignal, groups: WorkerStateDirectory? = nil) async throws
        -> (exit: ProcessExit, lines: [String])
    {
        let output = CapturedLines()
        let exit = try await run(executable, arguments: arguments, stop: stop, groups: groups) { await output.add($0) }
        return (exit, await output.lines)
    }

    /// The path `executable` runs: itself when it names a path, else the first match in `PATH`;
    /// nil when it is not an executable file.
    static func resolve(_ executable: String) -> String? {
        if executable.contains("/") { return FileManager.default.isExecutableFile(atPath: executable) ? executable : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// The output lines of a captured command.
private actor CapturedLines {
    private(set) var lines: [String] = []
    func add(_ line: String) { lines.append(line) }
}

/// Why a child process could not start.
public enum ProcessRunnerError: Error, CustomStringConvertible {
    case notFound(String)

    public var description: String {
        switch self {
        case .notFound(let executable): "'\(executable)' is not found or cannot be executed"
        }
    }
}
