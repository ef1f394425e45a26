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
    /// - Parameter executable: a path, or a name looked up in `PATH`.
    public static func run(
        _ executable: String, arguments: [String], environment: [String: String] = [:], stop: StopSignal,
        grace: Duration = .seconds(5), onLine: @escaping @Sendable (String) async -> Void
    ) async throws -> ProcessExit {
        var options = PlatformOptions()
        options.processGroupID = 0
        let target: Executable = executable.contains("/") ? .path(FilePath(executable)) : .name(executable)
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
        let result = try await Subprocess.run(
            target, arguments: Arguments(arguments), environment: .inherit.updating(updates), platformOptions: options,
            input: .none, output: .sequence, error: .combinedWithOutput
        ) { execution in
            try await withThrowingTaskGroup(of: Void.self) { group in
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
}
