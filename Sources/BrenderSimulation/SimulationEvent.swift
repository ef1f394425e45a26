/// One step of a simulation: what a worker, an admin, the clock or fate does next.
///
/// Events name workers and jobs by small numbers that stay meaningful when events before them
/// are removed (a shortened failing sequence): an event whose worker or job is not there does
/// nothing.
public enum SimulationEvent: Sendable, Equatable, CustomStringConvertible {
    /// A job is submitted.
    case submit(JobRecipe)
    /// Worker `worker` registers with `slots` slots: the same process again after a restart, or
    /// (`newKey`) another process with the same name.
    case register(worker: Int, slots: Int, newKey: Bool)
    /// A slot asks for work; with `lost`, the worker never hears the answer.
    case ask(worker: Int, slot: Int, lost: Bool)
    /// A slot reports progress on its task: frames done so far and log text.
    case progress(worker: Int, slot: Int)
    /// A slot's task ends: completed, failed or released; with `lost`, the worker never hears the
    /// answer and sends it again later (``resend(worker:)``).
    case finish(worker: Int, slot: Int, state: Outcome, lost: Bool)
    /// The worker sends its last update again.
    case resend(worker: Int)
    /// The worker sends an update under a lease it held before (a late report).
    case stale(worker: Int)
    case heartbeat(worker: Int)
    /// The worker process is gone without a word (killed, its machine off).
    case vanish(worker: Int)
    case signOff(worker: Int)
    /// Something the admin does, to the job or client at this index of those there are.
    case admin(AdminAction, index: Int)
    /// Time passes; the server's maintenance runs (silent workers, overdue tasks, storage).
    case advance(seconds: Double)
    /// The server dies (memory dropped) and loads the farm again from the store.
    case crash
    /// The server dies at the `afterCommits`-th commit of the next event, which runs with it.
    indirect case crashDuring(afterCommits: Int, SimulationEvent)
    /// The disk fills up (writes that need space fail), or has room again.
    case diskFull(Bool)
    /// Faults stop and every worker behaves: every job must end within a bound of simulated
    /// time. Finished jobs are then deleted.
    case settle

    public enum Outcome: String, Sendable { case completed, failed, released }

    public enum AdminAction: String, Sendable, CaseIterable {
        case pause, resume, cancel, requeue, delete, raisePriority, disable, disableNow, enable, deleteClient
    }

    public var description: String {
        switch self {
        case .submit(let recipe): "submit \(recipe)"
        case .register(let worker, let slots, let newKey): "w\(worker) registers with \(slots) slots\(newKey ? " (another process)" : "")"
        case .ask(let worker, let slot, let lost): "w\(worker)/\(slot) asks for work\(lost ? " (answer lost)" : "")"
        case .progress(let worker, let slot): "w\(worker)/\(slot) reports progress"
        case .finish(let worker, let slot, let state, let lost): "w\(worker)/\(slot) reports \(state.rawValue)\(lost ? " (answer lost)" : "")"
        case .resend(let worker): "w\(worker) sends its last update again"
        case .stale(let worker): "w\(worker) reports under an old lease"
        case .heartbeat(let worker): "w\(worker) heartbeat"
        case .vanish(let worker): "w\(worker) vanishes"
        case .signOff(let worker): "w\(worker) signs off"
        case .admin(let action, let index): "admin \(action.rawValue) #\(index)"
        case .advance(let seconds): "\(seconds) s pass"
        case .crash: "the server crashes"
        case .crashDuring(let commits, let event): "the server crashes at commit \(commits) of: \(event)"
        case .diskFull(let full): full ? "the disk fills up" : "the disk has room again"
        case .settle: "faults stop and every worker behaves until every job ends"
        }
    }
}

/// What a submitted job asks for, in the simulation's small world.
public struct JobRecipe: Sendable, Equatable, CustomStringConvertible {
    public var frames: Int
    public var chunk: Int
    public var priority: Int
    /// Tags from ``FarmSimulation/tagNames``.
    public var tags: [String]
    /// How many of the newest jobs before it this one waits for (0 or 1).
    public var afterNewest: Int
    public var command: Bool
    public var video: Bool
    public var taskTimeout: Int
    public var blenderVersion: String?
    public var maxAttempts: Int
    public var failFast: Bool

    public var description: String {
        var text = "\(command ? "command" : "blender") 1-\(frames) chunk \(chunk) priority \(priority)"
        if !tags.isEmpty { text += " tags \(tags.joined(separator: ","))" }
        if afterNewest > 0 { text += " after the newest job" }
        if video { text += " with video" }
        if taskTimeout > 0 { text += " time limit \(taskTimeout) s" }
        if let blenderVersion { text += " Blender \(blenderVersion)" }
        if failFast { text += " fail-fast" }
        return text + " attempts \(maxAttempts)"
    }
}
