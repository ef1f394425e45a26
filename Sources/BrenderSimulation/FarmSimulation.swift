import BrenderKit
import FarmCore
import Foundation
import Logging
import Synchronization

/// A failed check: which event, what it broke.
public struct SimulationFailure: Error, Sendable, CustomStringConvertible {
    /// The index of the event after which the check failed.
    public var eventIndex: Int
    public var event: String
    public var problems: [String]

    public var description: String {
        "after event \(eventIndex) (\(event)):\n" + problems.prefix(10).map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// The simulated time the farm reads.
final class SimulatedClock: Sendable {
    private let time = Mutex<Double>(1_800_000_000)
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

/// Drives the real farm (``Farm``, with its real SQLite store) through seeded random events on a
/// simulated clock: workers that take, report, fail, vanish and come back, answers lost and
/// resent, every admin action, crashes at any commit and a full disk. After every event it
/// checks the farm's invariants (``FarmInvariants``), that a refused request changed nothing,
/// that a restart loses nothing acknowledged, and at each ``SimulationEvent/settle`` that every
/// job ends once faults stop.
public final class FarmSimulation {
    /// The tags jobs ask for and workers have.
    public static let tagNames = ["gpu", "big"]
    /// Seconds without a heartbeat after which the farm takes a worker for gone.
    static let workerTimeout = 30.0

    let directory: URL
    let clock = SimulatedClock()
    var farm: Farm
    var workers: [SimulatedWorker]
    /// The farm's state after the last event.
    var state: FarmSnapshot
    /// Every (task, lease) handed out: a lease is never handed out twice.
    var handedOut: Set<TaskLease> = []
    /// Completions a worker heard accepted: the lease of each task, by job. They must survive
    /// anything but the job's delete.
    var acknowledged: [Int64: [Int64: Int32]] = [:]
    var diskIsFull = false

    struct TaskLease: Hashable {
        var taskID: Int64
        var lease: Int32
    }

    /// Makes an empty farm in a temporary directory, with `workers` workers that have not
    /// registered yet.
    public init(workers: Int = 6) async throws {
        directory = Self.scratchRoot.appendingPathComponent("brender-sim-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.workers = (0..<workers).map { SimulatedWorker(name: "w\($0)") }
        let clock = self.clock
        farm = try Self.openFarm(in: directory, clock: clock)
        state = await farm.snapshot()
    }

    /// Where the simulated farm keeps its database: memory (`/dev/shm`) where the system has
    /// it, else the temporary directory. The crashes simulated are the process's, not the
    /// machine's (the files stay as the dead process left them), so a disk would add only its
    /// cost: a third of the run on this machine.
    static var scratchRoot: URL {
        let memory = "/dev/shm"
        if access(memory, W_OK) == 0 { return URL(fileURLWithPath: memory, isDirectory: true) }
        return FileManager.default.temporaryDirectory
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    static func openFarm(in directory: URL, clock: SimulatedClock) throws -> Farm {
        var logger = Logger(label: "brender.sim")
        logger.logLevel = .critical
        return try Farm(
            databasePath: directory.appendingPathComponent("brender.sqlite").path,
            options: .init(workerTimeout: workerTimeout), logger: logger, now: { clock.now })
    }

    /// Runs `count` events drawn from `seed`, checking after each. Returns the events run and
    /// the first failure, if any (the events end at it).
    public static func run(seed: UInt64, events count: Int, settleEvery: Int = 20_000, workers: Int = 6) async throws -> (
        events: [SimulationEvent], failure: SimulationFailure?
    ) {
        let simulation = try await FarmSimulation(workers: workers)
        var random = SimulationRandom(seed: seed)
        var events: [SimulationEvent] = []
        events.reserveCapacity(min(count, 1 << 20))
        for index in 0..<count {
            let event =
                (index + 1) % settleEvery == 0 || index == count - 1 ? .settle : simulation.nextEvent(&random)
            events.append(event)
            if let failure = await simulation.step(event, index: index) { return (events, failure) }
        }
        return (events, nil)
    }

    /// Runs a given sequence of events (a shortened failing one); returns the first failure.
    public static func replay(_ events: [SimulationEvent], workers: Int = 6) async throws -> SimulationFailure? {
        let simulation = try await FarmSimulation(workers: workers)
        for (index, event) in events.enumerated() {
            if let failure = await simulation.step(event, index: index) { return failure }
        }
        return nil
    }

    /// Runs one event and every check after it.
    func step(_ event: SimulationEvent, index: Int) async -> SimulationFailure? {
        let before = state
        var problems: [String] = []
        do {
            let outcome = try await apply(event)
            state = await farm.snapshot()
            problems += outcome.problems
            if let why = outcome.refusal {
                problems += FarmInvariants.differences(before, state, ignoring: .refusal).map {
                    "a request refused (\(why)) changed the farm: \($0)"
                }
            }
        } catch {
            problems.append("the simulation could not go on: \(error)")
        }
        problems += FarmInvariants.check(state)
        problems += lostAcknowledgements()
        return problems.isEmpty ? nil : SimulationFailure(eventIndex: index, event: event.description, problems: problems)
    }

    /// Completions a worker heard accepted that the farm no longer has.
    func lostAcknowledgements() -> [String] {
        var lost: [String] = []
        for (jobID, completions) in acknowledged {
            guard let tasks = state.jobs[jobID]?.tasks, let first = tasks.first?.id else {
                lost.append("job \(jobID), with \(completions.count) acknowledged completions, is gone")
                continue
            }
            for (taskID, lease) in completions {
                // A job's task ids are consecutive from its first.
                let index = Int(taskID - first)
                let task = tasks.indices.contains(index) && tasks[index].id == taskID ? tasks[index] : nil
                guard let task, task.status == .completed, task.lease == lease else {
                    lost.append(
                        "task \(taskID) of job \(jobID), completed under lease \(lease) and acknowledged, is \(task.map { "\($0.status.rawValue) (lease \($0.lease))" } ?? "gone")"
                    )
                    continue
                }
            }
        }
        return lost.sorted()
    }

    /// The server dies and starts again on its store; returns the farm's state as loaded.
    func restart() async throws {
        farm = try Self.openFarm(in: directory, clock: clock)
        if diskIsFull { try await farm.injectStoreFault(.full) }
        await farm.writeChangesInParts()
    }
}
