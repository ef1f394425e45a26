import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A worker's own directory: its key, a lock held while it runs, and a record of the process
/// groups it has started, so that a worker killed without warning stops them the next time it
/// starts.
///
/// - `worker.lock`: an exclusive `flock`; a second worker on the same directory is refused.
/// - `worker.key` (mode 0600): the key that tells the server a restart of this worker from a
///   second process using the same name.
/// - `children/PGID`: one file per running task process group, holding the group leader's start
///   time (from `/proc`), so a recycled process id is never mistaken for it.
public final class WorkerStateDirectory: Sendable {
    public let url: URL
    public let key: String
    private let lockDescriptor: Int32

    /// The default for a worker named `name`: `$STATE_DIRECTORY` under systemd, else
    /// `$XDG_STATE_HOME/brender/worker-NAME`, else `~/.local/state/brender/worker-NAME`.
    public static func defaultURL(name: String) -> URL {
        let environment = ProcessInfo.processInfo.environment
        if let systemd = environment["STATE_DIRECTORY"]?.split(separator: ":").first {
            return URL(fileURLWithPath: String(systemd)).appendingPathComponent("worker-\(name)")
        }
        let base =
            environment["XDG_STATE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSTemporaryDirectory()).appendingPathComponent(".local/state")
        return base.appendingPathComponent("brender").appendingPathComponent("worker-\(name)")
    }

    /// Creates the directory if missing, takes its lock, and reads or makes the key.
    public init(url: URL) throws(WorkerStateError) {
        self.url = url
        do {
            try FileManager.default.createDirectory(
                at: url.appendingPathComponent("children"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unusable(path: url.path, reason: "cannot create it (\(error.localizedDescription))")
        }
        let lockPath = url.appendingPathComponent("worker.lock").path
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .unusable(path: url.path, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            throw .locked(path: url.path, pid: holder.flatMap { Int32($0) })
        }
        ftruncate(descriptor, 0)
        let pidText = "\(getpid())\n"
        _ = pidText.withCString { Glibc.write(descriptor, $0, strlen($0)) }
        lockDescriptor = descriptor

        let keyPath = url.appendingPathComponent("worker.key").path
        if let stored = try? String(contentsOfFile: keyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
            WorkerProtocol.WorkerKey.isValid(stored)
        {
            key = stored
        } else {
            let fresh = WorkerProtocol.WorkerKey.generate()
            let keyDescriptor = open(keyPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard keyDescriptor >= 0 else {
                close(descriptor)
                throw .unusable(path: keyPath, reason: String(cString: strerror(errno)))
            }
            _ = (fresh + "\n").withCString { Glibc.write(keyDescriptor, $0, strlen($0)) }
            fsync(keyDescriptor)
            close(keyDescriptor)
            key = fresh
        }
    }

    deinit {
        close(lockDescriptor)
    }

    private func childPath(_ group: pid_t) -> String {
        url.appendingPathComponent("children").appendingPathComponent(String(group)).path
    }

    /// Records a task's process group (its leader's pid) while it runs.
    public func recordChild(group: pid_t) {
        guard let started = ProcessInfo.startTime(of: group) else { return }
        try? "\(started)\n".write(toFile: childPath(group), atomically: true, encoding: .utf8)
    }

    /// Forgets a process group that ended.
    public func forgetChild(group: pid_t) {
        unlink(childPath(group))
    }

    /// Stops the process groups a previous run of this worker left running (it was killed before
    /// it could stop them): SIGTERM, then SIGKILL after `grace`. Returns the groups it stopped.
    @discardableResult
    public func stopLeftoverChildren(grace: Double = 5) -> [pid_t] {
        let directory = url.appendingPathComponent("children").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var stopped: [pid_t] = []
        for name in names {
            guard let group = pid_t(name) else { continue }
            let recorded = (try? String(contentsOfFile: childPath(group), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            // The same process only if it started when recorded; otherwise the id was reused.
            if let recorded, let started = ProcessInfo.startTime(of: group), String(started) == recorded, kill(-group, 0) == 0 {
                kill(-group, SIGTERM)
                stopped.append(group)
            }
            forgetChild(group: group)
        }
        guard !stopped.isEmpty else { return [] }
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline, stopped.contains(where: { kill(-$0, 0) == 0 }) { usleep(50_000) }
        for group in stopped where kill(-group, 0) == 0 { kill(-group, SIGKILL) }
        return stopped
    }
}

extension ProcessInfo {
    /// A process's start time in clock ticks since boot (`/proc/PID/stat`, field 22), or nil.
    static func startTime(of pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3, start time 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}

/// Why a worker cannot use its state directory.
public enum WorkerStateError: Error, CustomStringConvertible, Sendable {
    case locked(path: String, pid: Int32?)
    case unusable(path: String, reason: String)

    public var description: String {
        switch self {
        case .locked(let path, let pid):
            "another brender worker\(pid.map { " (pid \($0))" } ?? "") runs with the state directory \(path); stop it, or give this one another --name or --state-dir"
        case .unusable(let path, let reason):
            "cannot use the worker state directory \(path): \(reason); choose another with --state-dir"
        }
    }
}
