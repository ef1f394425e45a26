import Foundation
import Synchronization

/// Where a command writes: standard output or a capture, for tests.
public protocol TextSink: Sendable {
    func write(_ text: String)
    /// True when the sink is an interactive terminal (for progress bars and colour).
    var isTerminal: Bool { get }
}

/// A process's standard output or standard error.
public struct StandardStream: TextSink {
    let descriptor: Int32

    public static let output = StandardStream(descriptor: STDOUT_FILENO)
    public static let error = StandardStream(descriptor: STDERR_FILENO)

    public func write(_ text: String) {
        var remaining = Array(text.utf8)[...]
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return  // closed pipe: nothing more can be said
            }
            remaining = remaining.dropFirst(written)
        }
    }

    public var isTerminal: Bool { isatty(descriptor) == 1 }
}

/// Collects what a command writes, for tests.
public final class CapturedText: TextSink {
    private let storage = Mutex("")

    public init() {}

    public func write(_ text: String) {
        storage.withLock { $0 += text }
    }

    public var text: String { storage.withLock { $0 } }

    public var isTerminal: Bool { false }
}

/// What a command runs with: its output streams and environment.
public struct CommandContext: Sendable {
    public let output: any TextSink
    public let errorOutput: any TextSink
    public let environment: [String: String]

    public init(output: any TextSink, errorOutput: any TextSink, environment: [String: String]) {
        self.output = output
        self.errorOutput = errorOutput
        self.environment = environment
    }

    /// The real process's streams and environment.
    public static var standard: CommandContext {
        CommandContext(output: StandardStream.output, errorOutput: StandardStream.error, environment: ProcessInfo.processInfo.environment)
    }

    public func print(_ line: String) {
        output.write(line + "\n")
    }

    public func printError(_ line: String) {
        errorOutput.write(line + "\n")
    }
}
