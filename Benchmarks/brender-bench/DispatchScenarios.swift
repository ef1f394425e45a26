import BrenderKit
import BrenderTesting
import FarmCore
import Foundation
import Synchronization

/// A counter shared by concurrent tasks.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    var current: Int { value.load(ordering: .relaxed) }
    @discardableResult func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
}

/// A flag shared by concurrent tasks.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}

/// Times collected by concurrent tasks.
final class TimeLog: Sendable {
    private let times = Mutex<[Double]>([])
    func record(_ time: Double) { times.withLock { $0.append(time) } }
    func reset() { times.withLock { $0.removeAll() } }
    var all: [Double] { times.withLock { $0 } }
}

/// Scenarios that measure handing out work: simulated workers speak the real worker protocol to a
/// real server process, but run nothing.
enum DispatchScenarios {
    /// Registers a simulated worker (with a key of its own) and returns who it is.
    /// Registers a simulated worker with the connection's token, which the connection then stops
    /// sending: as a real worker, the rest of its requests carry only its key.
    static func register(_ connection: inout HTTP1Connection, name: String) async throws -> WorkerProtocol.Sender {
        let key = WorkerProtocol.WorkerKey.generate()
        let registration = WorkerProtocol.Registration(
            name: name, hostname: name, platform: "linux-x86_64", tags: nil, version: BrenderVersion.current, key: key,
            capabilities: ["commands"])
        let clientID = try await connection.post("/worker/register", registration, as: WorkerProtocol.Registered.self).clientID
        connection.authorization = nil
        return WorkerProtocol.Sender(clientID: clientID, key: key)
    }

    /// Reports a task completed (every frame) and asks for the next in the same round trip.
    static func complete(
        _ connection: inout HTTP1Connection, _ task: WorkerProtocol.Assignment, sender: WorkerProtocol.Sender, nextWait: Double
    ) async throws -> WorkerProtocol.Assignment? {
        let update = WorkerProtocol.TaskUpdate(
            sender: sender, taskID: task.taskID, jobID: task.jobID, lease: task.lease, state: .completed,
            framesDone: Array(task.chunk.frames), log: "", logOffset: 0, nextWait: nextWait)
        return try await connection.post("/worker/task/update", update, as: WorkerProtocol.TaskUpdateReply.self).next
    }

    static func commandJob(frames: Int) -> [String: JSONValue] {
        ["type": "command", "argv": ["true"], "frames": .string("1-\(frames)"), "chunk": 1]
    }

    /// N simulated workers drain a job of `tasks` zero-work tasks; tasks per second.
    static func throughput(workers: Int, tasks: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning", "--worker-timeout", "3600"])
        let port = farm.port
        let token = farm.adminToken
        let completed = Counter()
        let ready = Counter()
        let cpuBefore = ProcessUsage(pid: farm.server!.pid)?.cpuSeconds ?? 0
        var elapsed = 0.0
        var startRSS = 0
        var startWAL = 0
        let wal = farm.dataDirectory.appendingPathComponent("brender.sqlite-wal").path
        func walBytes() -> Int { ((try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int) ?? 0 }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<workers {
                group.addTask {
                    try await HTTP1Connection.with(port: port, token: token) { connection in
                        let sender = try await register(&connection, name: "sim-\(index)")
                        ready.increment()
                        while completed.current < tasks {
                            var task = try await connection.post(
                                "/worker/task", WorkerProtocol.TaskRequest(sender: sender, wait: 2), as: WorkerProtocol.TaskReply.self
                            ).task
                            while let current = task {
                                let done = completed.increment()
                                task = try await complete(&connection, current, sender: sender, nextWait: done >= tasks ? 0 : 2)
                            }
                        }
                    }
                }
            }
            while ready.current < workers { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(300))  // every worker is in its long poll
            let start = monotonicSeconds()
            _ = try await farm.submit(commandJob(frames: tasks))
            startRSS = ProcessUsage(pid: farm.server!.pid)?.rssBytes ?? 0
            startWAL = walBytes()
            while completed.current < tasks { try await Task.sleep(for: .milliseconds(2)) }
            elapsed = monotonicSeconds() - start
            try await group.waitForAll()
        }
        let usage = ProcessUsage(pid: farm.server!.pid)
        let cpu = (usage?.cpuSeconds ?? 0) - cpuBefore
        let rate = Double(tasks) / elapsed
        let endWAL = walBytes()
        log(
            "\(workers) workers drained \(tasks) tasks in \(formatDuration(elapsed)): \(Int(rate)) tasks/s; server \(String(format: "%.2f", cpu)) CPU s (\(formatDuration(cpu / Double(tasks))) a task), peak RSS \(formatBytes(usage?.peakRSSBytes ?? 0)); RSS \(formatBytes(startRSS)) after the submit, \(formatBytes(usage?.rssBytes ?? 0)) at the end; WAL \(formatBytes(startWAL)) after the submit, \(formatBytes(endWAL)) at the end"
        )
        return [
            "workers": .int(Int64(workers)), "tasks": .int(Int64(tasks)), "seconds": .double(elapsed), "tasks_per_second": .double(rate),
            "server_cpu_seconds": .double(cpu), "server_peak_rss_bytes": .int(Int64(usage?.peakRSSBytes ?? 0)),
            "server_rss_after_submit_bytes": .int(Int64(startRSS)), "server_rss_end_bytes": .int(Int64(usage?.rssBytes ?? 0)),
            "wal_after_submit_bytes": .int(Int64(startWAL)), "wal_end_bytes": .int(Int64(endWAL)),
        ]
    }

    /// N idle workers wait in long polls; a job of N tasks is submitted; how long until the first
    /// worker has a task, and until all have one. Repeated `rounds` times.
    static func latency(workers: Int, rounds: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning", "--worker-timeout", "3600"])
        let port = farm.port
        let token = farm.adminToken
        let received = TimeLog()
        let finished = Counter()
        let ready = Counter()
        let stop = Flag()
        var first = Timings()
        var all = Timings()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<workers {
                group.addTask {
                    try await HTTP1Connection.with(port: port, token: token) { connection in
                        let sender = try await register(&connection, name: "idle-\(index)")
                        ready.increment()
                        var task: WorkerProtocol.Assignment?
                        while !stop.isSet {
                            if task == nil {
                                task = try await connection.post(
                                    "/worker/task", WorkerProtocol.TaskRequest(sender: sender, wait: 1), as: WorkerProtocol.TaskReply.self
                                ).task
                            }
                            guard let current = task else { continue }
                            received.record(monotonicSeconds())
                            finished.increment()
                            task = try await complete(&connection, current, sender: sender, nextWait: 1)
                        }
                    }
                }
            }
            while ready.current < workers { try await Task.sleep(for: .milliseconds(20)) }
            try await HTTP1Connection.with(port: port, token: token) { submitter in
                for round in 0..<rounds {
                    try await Task.sleep(for: .milliseconds(200))  // all back in their long polls
                    received.reset()
                    let target = (round + 1) * workers
                    let body = APIRequest(item: "job", action: "create", values: commandJob(frames: workers)).json.serializedBytes()
                    let start = monotonicSeconds()
                    let (status, _) = try await submitter.post("/api", body)
                    guard status == 200 else { throw HTTP1Connection.Failure(description: "submit answered \(status)") }
                    while finished.current < target { try await Task.sleep(for: .microseconds(200)) }
                    let times = received.all
                    first.add((times.min() ?? start) - start)
                    all.add((times.max() ?? start) - start)
                }
            }
            stop.set()
            try await group.waitForAll()
        }
        log(
            "\(workers) idle workers, \(rounds) submits: first task start median \(formatDuration(first.median)), p99 \(formatDuration(first.p99)); all \(workers) busy median \(formatDuration(all.median)), p99 \(formatDuration(all.p99))"
        )
        return [
            "workers": .int(Int64(workers)), "rounds": .int(Int64(rounds)),
            "first_task_median_seconds": .double(first.median), "first_task_p99_seconds": .double(first.p99),
            "all_busy_median_seconds": .double(all.median), "all_busy_p99_seconds": .double(all.p99),
        ]
    }

    /// What one request costs the calling process, in CPU, through ``BrenderClient`` (the command
    /// line's and the worker's: a pool of NIO connections) and through one bare NIO keep-alive
    /// connection (this harness's simulated workers). Before the command line left URLSession,
    /// URLSession's figure was about five times the bare connection's (BENCHMARKS.md).
    static func clientCost(requests: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning", "--worker-timeout", "3600"])
        let client = try farm.client()
        let registered = try await client.post(
            "/worker/register",
            WorkerProtocol.Registration(name: "probe", hostname: "h", platform: "p", tags: nil, version: "v", key: "probe-key-0123456789"),
            as: WorkerProtocol.Registered.self)
        let reference = WorkerProtocol.ClientReference(sender: .init(clientID: registered.clientID, key: "probe-key-0123456789"))
        func selfCPU() -> Double { ProcessUsage(pid: getpid())?.cpuSeconds ?? 0 }
        let pooledStart = (selfCPU(), monotonicSeconds())
        for _ in 0..<requests {
            _ = try await client.post("/worker/heartbeat", reference, as: WorkerProtocol.HeartbeatReply.self)
        }
        let pooled = ((selfCPU() - pooledStart.0) / Double(requests), (monotonicSeconds() - pooledStart.1) / Double(requests))
        let nioStart = (selfCPU(), monotonicSeconds())
        try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
            for _ in 0..<requests {
                _ = try await connection.post("/worker/heartbeat", reference, as: WorkerProtocol.HeartbeatReply.self)
            }
        }
        let nio = ((selfCPU() - nioStart.0) / Double(requests), (monotonicSeconds() - nioStart.1) / Double(requests))
        log(
            "one request, client side: BrenderClient \(formatDuration(pooled.0)) CPU, \(formatDuration(pooled.1)) round trip; bare NIO keep-alive \(formatDuration(nio.0)) CPU, \(formatDuration(nio.1)) round trip"
        )
        return [
            "brender_client_cpu_seconds": .double(pooled.0), "brender_client_round_trip_seconds": .double(pooled.1),
            "nio_cpu_seconds": .double(nio.0), "nio_round_trip_seconds": .double(nio.1),
        ]
    }
}
