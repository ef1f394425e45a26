import BrenderKit
import BrenderTesting
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The benchmark scenarios, each returning its figures.
enum BenchmarkScenarios {
    static let names = [
        "dispatch", "latency", "workers", "submit", "admin", "restart", "scheduler", "client", "events", "dashboard", "warm", "warm-share",
        "warm-memory", "slots", "soak",
    ]

    /// Runs one scenario at `scale` (1 = the sizes the targets are stated for).
    static func run(_ name: String, scale: Double, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        func size(_ full: Int, atLeast minimum: Int) -> Int { max(minimum, Int(Double(full) * scale)) }
        switch name {
        case "dispatch":
            var figures: [String: JSONValue] = [:]
            for workers in [10, 100, 1000] {
                let count = max(2, Int(Double(workers) * scale.squareRoot()))
                figures["workers_\(workers)"] = .object(
                    try await DispatchScenarios.throughput(workers: count, tasks: size(100_000, atLeast: 100), log: log))
            }
            return figures
        case "latency":
            return try await DispatchScenarios.latency(
                workers: max(2, Int(100 * scale.squareRoot())), rounds: max(3, Int(30 * scale.squareRoot())), log: log)
        case "workers":
            return try await FarmScenarios.workers(processes: 4, tasks: size(2_000, atLeast: 20), log: log)
        case "submit":
            return try await FarmScenarios.bigSubmit(frames: size(100_000, atLeast: 100), heldTasks: size(1_000_000, atLeast: 1000), log: log)
        case "admin":
            return try await FarmScenarios.admin(count: size(10_000, atLeast: 20), log: log)
        case "restart":
            return try await FarmScenarios.restart(clients: size(10_000, atLeast: 20), tasks: size(1_000_000, atLeast: 1000), log: log)
        case "scheduler":
            return try await FarmScenarios.scheduler(jobs: size(10_000, atLeast: 50), clients: size(1_000, atLeast: 10), log: log)
        case "soak":
            // A long run: 1,000,000 zero-work tasks through 100 workers; RSS and WAL at both ends.
            return try await DispatchScenarios.throughput(
                workers: max(2, Int(100 * scale.squareRoot())), tasks: size(1_000_000, atLeast: 1000), log: log)
        case "events":
            return try await EventScenarios.completionDelay(tasks: size(500, atLeast: 20), log: log)
        case "client":
            return try await DispatchScenarios.clientCost(requests: size(2_000, atLeast: 50), log: log)
        case "warm":
            return try await BlenderScenarios.warm(frames: size(48, atLeast: 4), log: log)
        case "warm-share":
            return try await BlenderScenarios.warmShare(framesPerJob: size(24, atLeast: 4), log: log)
        case "slots":
            return try await BlenderScenarios.slots(frames: size(24, atLeast: 2), log: log)
        case "warm-memory":
            return try await BlenderScenarios.warmMemory(tasks: size(1_000, atLeast: 10), log: log)
        case "dashboard":
            return try await FarmScenarios.dashboard(jobs: size(10_000, atLeast: 100), log: log)
        default:
            throw CommandFailure("unknown scenario \(name)")
        }
    }
}
