import BrenderKit
import BrenderTesting
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The benchmark scenarios, each returning its figures.
enum BenchmarkScenarios {
    static let names = ["dispatch", "latency", "clients"]

    static func run(_ name: String, scale: Double, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        switch name {
        case "clients": return try await clients(count: max(10, Int(10_000 * scale)), log: log)
        case "dispatch":
            var figures: [String: JSONValue] = [:]
            for workers in [10, 100, 1000] {
                let count = max(2, Int(Double(workers) * scale.squareRoot()))
                figures["workers_\(workers)"] = .object(
                    try await DispatchScenarios.throughput(workers: count, tasks: max(100, Int(100_000 * scale)), log: log))
            }
            return figures
        case "latency":
            return try await DispatchScenarios.latency(workers: max(2, Int(100 * scale.squareRoot())), rounds: max(3, Int(30 * scale.squareRoot())), log: log)
        default: throw CommandFailure("unknown scenario \(name)")
        }
    }

    /// Registers `count` clients (each one write-through commit), then times `brender client list`
    /// as a whole process, then kills the server and times the start-up load of all clients.
    static func clients(count: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning", "--worker-timeout", "3600"])
        let client = try BrenderClient(server: farm.serverURL)
        let concurrency = 8
        let (_, registerSeconds) = try await measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<concurrency {
                    group.addTask {
                        for index in stride(from: lane, to: count, by: concurrency) {
                            let registration = WorkerProtocol.Registration(
                                name: "node-\(index)", hostname: "node-\(index)", platform: "linux-x86_64", tags: index % 10 == 0 ? ["gpu"] : [],
                                version: BrenderVersion.current)
                            _ = try await client.post("/worker/register", registration, as: WorkerProtocol.Registered.self)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        log("registered \(count) clients in \(formatDuration(registerSeconds)) (\(Int(Double(count) / registerSeconds)) registrations/s, each committed before its answer, \(concurrency) concurrent HTTP clients)")

        var fullList = Timings()
        var filteredList = Timings()
        for _ in 0..<5 {
            let (full, fullSeconds) = try await measure { try farm.run(["client", "list"]) }
            guard full.status == 0 else { throw CommandFailure("client list failed: \(full.stderr)") }
            fullList.add(fullSeconds)
            let (_, filteredSeconds) = try await measure { try farm.run(["client", "list", "--filter", "tags=gpu", "--limit", "50"]) }
            filteredList.add(filteredSeconds)
        }
        log("brender client list (all \(count) rows), whole process: median \(formatDuration(fullList.median))")
        log("brender client list --filter tags=gpu --limit 50, whole process: median \(formatDuration(filteredList.median))")

        let usage = farm.server.flatMap { ProcessUsage(pid: $0.pid) }
        farm.server?.send(SIGKILL)
        farm.server?.waitForExit(timeout: 10)
        let (_, restartSeconds) = try await measure { try farm.restartServer() }
        let reloaded = try await farm.clients().count
        log("restart after kill -9 with \(reloaded) clients: answering in \(formatDuration(restartSeconds)) (process start, migrations check, load)")
        if let usage { log("server before the kill: \(String(format: "%.2f", usage.cpuSeconds)) CPU s, peak RSS \(formatBytes(usage.peakRSSBytes))") }

        return [
            "clients": .int(Int64(count)),
            "register_seconds": .double(registerSeconds),
            "registrations_per_second": .double(Double(count) / registerSeconds),
            "client_list_all_median_seconds": .double(fullList.median),
            "client_list_filtered_median_seconds": .double(filteredList.median),
            "restart_seconds": .double(restartSeconds),
            "clients_after_restart": .int(Int64(reloaded)),
            "server_cpu_seconds": .double(usage?.cpuSeconds ?? 0),
            "server_peak_rss_bytes": .int(Int64(usage?.peakRSSBytes ?? 0)),
        ]
    }
}
