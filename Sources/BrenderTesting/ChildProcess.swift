import BrenderKit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process for tests and benchmarks: started with `posix_spawn`, its output in files,
/// signalled and reaped by pid.
///
/// The child starts with an empty signal mask and default handlers, so SIGTERM and SIGINT reach
/// it even when the parent (a Swift test runner) blocks them on its threads.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let executable: String
    public let arguments: [String]
    /// Where standard output and standard error go.
    public let stdoutPath: String
    public let stderrPath: String
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: variables added to (or replacing) the parent's.
    ///   - logDirectory: where `NAME.stdout` and `NAME.stderr` are written.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], logDirectory: URL, name: String
    ) throws {
        self.executable = executable
        self.arguments = arguments
        stdoutPath = logDirectory.appendingPathComponent("\(name).stdout").path
        stderrPath = logDirectory.appendingPathComponent("\(name).stderr").path

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&fileActions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = SpawnAttributes.clean(newProcessGroup: true) { attributes in
            posix_spawn(&child, executable, &fileActions, &attributes, argv, envp)
        }
        guard rc == 0 else {
            throw ChildProcessError.spawnFailed(executable: executable, reason: String(cString: strerror(rc)))
        }
        pid = child
    }

    deinit {
        if !hasExited {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: 5)
        }
    }

    /// Sends a signal to the child.
    public func send(_ signal: Int32) {
        kill(pid, signal)
    }

    /// True once the child has exited (and was reaped).
    public var hasExited: Bool {
        poll() != nil
    }

    /// Waits up to `timeout` seconds for the child to exit.
    /// - Returns: the exit code, 128 + signal when killed by a signal, or nil on time-out.
    @discardableResult
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        // At most a millisecond between looks: a whole-process time measured through this is off
        // by under a millisecond (a longer pause would round a 6 ms command up to 12), and a
        // long wait costs a thousand cheap waitpid calls a second.
        var pause: UInt32 = 100  // microseconds
        while Date() < deadline {
            if let status = poll() { return status }
            usleep(pause)
            pause = min(pause * 2, 1_000)
        }
        return poll()
    }

    private func poll() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return nil }
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus = code
        return code
    }

    /// What the child has written to standard output so far.
    public var standardOutput: String {
        (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
    }

    public var standardError: String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    /// Runs `executable` to completion and returns its exit code and output.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], logDirectory: URL, name: String,
        timeout: Double = 60
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, logDirectory: logDirectory, name: name)
        guard let status = child.waitForExit(timeout: timeout) else {
            child.send(SIGKILL)
            child.waitForExit(timeout: 5)
            throw ChildProcessError.timedOut(command: ([executable] + arguments).joined(separator: " "), seconds: timeout)
        }
        return (status, child.standardOutput, child.standardError)
    }
}

public enum ChildProcessError: Error, CustomStringConvertible {
    case spawnFailed(executable: String, reason: String)
    case timedOut(command: String, seconds: Double)

    public var description: String {
        switch self {
        case .spawnFailed(let executable, let reason): "cannot start \(executable): \(reason)"
        case .timedOut(let command, let seconds): "\(command) did not finish within \(seconds) s"
        }
    }
}

/// Polls `condition` until it holds or `timeout` seconds pass. A condition that throws (a server
/// that is restarting, say) counts as not yet true.
/// - Returns: whether the condition came true.
@discardableResult
public func eventually(timeout: Double = 30, interval: Double = 0.05, _ condition: () async throws -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if (try? await condition()) == true { return true }
        if Date() >= deadline { return false }
        try? await Task.sleep(for: .seconds(interval))
    }
}
