import Foundation
import Logging

/// Log lines for systemd's journal: each line on standard error starts with its syslog priority
/// (`<6>` for info, `<4>` for a warning, ...) and has no timestamp, since journald adds its own
/// and files the priority, so `journalctl -p warning` works. Used when standard error is the
/// journal (``writesToJournal(environment:)``); elsewhere the server and worker log with time and
/// level (swift-log's stream handler).
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    /// Where lines go (standard error; a capture in tests).
    let sink: any TextSink

    public init(label: String, sink: any TextSink = StandardStream.error) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // One line per message: a newline inside it would start a line of no priority.
        let text = "\(event.message)".replacingOccurrences(of: "\n", with: " ")
        sink.write("<\(Self.priority(event.level))>\(label): \(text)\(fields.isEmpty ? "" : " " + fields)\n")
    }

    /// The syslog priority of a level.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Whether standard error is the journal: systemd sets `JOURNAL_STREAM` to the device and
    /// inode of the stream it connected; a process whose standard error was redirected elsewhere
    /// (a pipe, a file) still inherits the variable, so the inode is compared with descriptor 2's.
    public static func writesToJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let stream = environment["JOURNAL_STREAM"], let inode = stream.split(separator: ":").last, !inode.isEmpty else { return false }
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/2") else { return false }
        return target == "socket:[\(inode)]"
    }
}
