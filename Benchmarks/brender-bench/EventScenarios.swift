import BrenderKit
import BrenderTesting
import Foundation
import Synchronization

/// What following the farm's changes costs and how fast it is.
enum EventScenarios {
    /// The delay from a worker reporting a task done to an event-stream reader (what `brender
    /// job watch` follows) receiving the job's new frame count: `tasks` one-frame tasks completed
    /// one after another by one simulated worker, on loopback.
    static func completionDelay(tasks: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning", "--worker-timeout", "3600"])
        let reader = try farm.client()
        let job = try await farm.submit(["type": "command", "argv": ["true"], "frames": .string("1-\(tasks)"), "chunk": 1])
        let sent = Mutex<[Int: Double]>([:])
        let arrived = Mutex<[Int: Double]>([:])
        let (opened, signalOpened) = AsyncStream<Void>.makeStream()
        let following = Task {
            try await reader.followEvents(jobs: [job], opened: { signalOpened.yield() }) { event in
                guard event.event == "job", let done = (try? JSONValue.parse(Data(event.data.utf8)))?["frames_done"]?.intValue else { return true }
                let now = monotonicSeconds()
                arrived.withLock { $0[Int(done)] = $0[Int(done)] ?? now }
                return done < tasks
            }
        }
        for await _ in opened { break }
        try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
            let sender = try await DispatchScenarios.register(&connection, name: "events-probe")
            var task = try await connection.post(
                "/worker/task", WorkerProtocol.TaskRequest(sender: sender, wait: 5), as: WorkerProtocol.TaskReply.self
            ).task
            var done = 0
            while let current = task {
                done += 1
                let count = done
                sent.withLock { $0[count] = monotonicSeconds() }
                task = try await DispatchScenarios.complete(&connection, current, sender: sender, nextWait: 0)
            }
        }
        try await following.value
        var delays = Timings()
        let sentTimes = sent.withLock { $0 }
        let arrivals = arrived.withLock { $0 }
        for (count, time) in sentTimes { if let arrival = arrivals[count] { delays.add(arrival - time) } }
        log(
            "completion to event-stream reader, \(delays.samples.count) tasks: median \(formatDuration(delays.median)), p99 \(formatDuration(delays.p99)), worst \(formatDuration(delays.percentile(100)))"
        )
        return [
            "tasks": .int(Int64(delays.samples.count)), "delay_median_seconds": .double(delays.median), "delay_p99_seconds": .double(delays.p99),
            "delay_worst_seconds": .double(delays.percentile(100)),
        ]
    }
}
