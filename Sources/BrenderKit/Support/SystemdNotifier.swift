import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Tells systemd how a service is doing, by the sd_notify protocol: one datagram of
/// `KEY=value` lines to the Unix socket in `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
/// namespace). No libsystemd. Without `$NOTIFY_SOCKET` (not started by systemd with
/// `Type=notify`) every call does nothing.
///
/// - `READY=1` once the service does its job (the server listens; the worker has registered),
/// - `STATUS=...` a line `systemctl status` shows,
/// - `STOPPING=1` when it begins to stop,
/// - `WATCHDOG=1` at half the interval of `$WATCHDOG_USEC`, from a loop that proves the
///   service still answers (systemd restarts it when the pings stop).
public struct SystemdNotifier: Sendable {
    /// The socket's address; nil when not under systemd.
    public let socketPath: String?
    /// How often systemd expects `WATCHDOG=1`; nil when it does not watch.
    public let watchdogInterval: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (the watchdog is for this process
    /// only when the pid is this one's or unset).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        let forThisProcess = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        if path != nil, forThisProcess, let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            watchdogInterval = .microseconds(microseconds)
        } else {
            watchdogInterval = nil
        }
    }

    /// Whether systemd listens.
    public var isActive: Bool { socketPath != nil }

    /// The service is up.
    public func ready(status: String? = nil) {
        send(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? []))
    }

    /// A line for `systemctl status`.
    public func status(_ text: String) {
        send(["STATUS=\(text)"])
    }

    /// The service begins to stop.
    public func stopping(status: String? = nil) {
        send(["STOPPING=1"] + (status.map { ["STATUS=\($0)"] } ?? []))
    }

    /// The service is alive (call at least every ``watchdogInterval``/2).
    public func watchdog() {
        send(["WATCHDOG=1"])
    }

    /// Sends one datagram; failures are ignored (systemd may have gone, and a service must not
    /// stop for that).
    public func send(_ lines: [String]) {
        guard let socketPath, !lines.isEmpty else { return }
        // A status line may not hold a newline: it would start another assignment.
        let message = lines.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n")
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }  // the abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), socketAddress, length) }
            }
        }
    }
}
