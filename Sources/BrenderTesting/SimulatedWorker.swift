import BrenderKit
import FarmCore

extension WorkerProtocol.Registration {
    /// A registration for a simulated worker whose key follows from its name, so a test can
    /// register the same worker again (a restart) or another with its name (a second process).
    public static func simulated(_ name: String, tags: [String]? = nil, key: String? = nil) -> Self {
        .init(
            name: name, hostname: "sim-host", platform: "linux-x86_64", tags: tags, version: "test",
            key: key ?? WorkerProtocol.Sender.simulatedKey(name), capabilities: ["commands"])
    }
}

extension WorkerProtocol.Sender {
    /// The key ``WorkerProtocol/Registration/simulated(_:tags:key:)`` gives a worker named `name`.
    public static func simulatedKey(_ name: String) -> String {
        let cleaned = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return String(("simulated-key-" + cleaned).prefix(128))
    }

    /// The sender of a simulated worker named `name`, registered as client `clientID`.
    public static func simulated(_ clientID: Int64, name: String) -> Self {
        .init(clientID: clientID, key: simulatedKey(name))
    }
}

/// A worker the test speaks for through the worker protocol, on a real server: it registers,
/// takes tasks and reports on them as `brender worker` would, without running anything.
public struct SimulatedWorkerSession: Sendable {
    public let client: BrenderClient
    public let sender: WorkerProtocol.Sender

    /// Registers a simulated worker named `name` with `slots` slots with the farm (using its
    /// admin token, which may register workers).
    public static func register(_ name: String, slots: Int = 1, on farm: TestFarm) async throws -> SimulatedWorkerSession {
        let client = try farm.client()
        var registration = WorkerProtocol.Registration.simulated(name)
        registration.slots = slots
        let registered = try await client.post("/worker/register", registration, as: WorkerProtocol.Registered.self)
        return SimulatedWorkerSession(client: client, sender: .simulated(registered.clientID, name: name))
    }

    /// Asks for a task for one of its slots, waiting up to `wait` seconds.
    public func takeTask(wait: Double = 5, warmJob: Int64? = nil, slot: Int = 0) async throws -> WorkerProtocol.Assignment? {
        try await client.post(
            "/worker/task", WorkerProtocol.TaskRequest(sender: sender, wait: wait, warmJob: warmJob, slot: slot), as: WorkerProtocol.TaskReply.self
        ).task
    }

    /// Reports on a task: its state, the frames done, and log text from `logOffset`.
    @discardableResult
    public func report(
        _ task: WorkerProtocol.Assignment, _ state: WorkerProtocol.TaskState, frames: [Int] = [], log: String = "", logOffset: Int = 0
    ) async throws -> WorkerProtocol.TaskUpdateReply {
        try await client.post(
            "/worker/task/update",
            WorkerProtocol.TaskUpdate(
                sender: sender, taskID: task.taskID, jobID: task.jobID, lease: task.lease, state: state, framesDone: frames, log: log,
                logOffset: logOffset), as: WorkerProtocol.TaskUpdateReply.self)
    }

    /// Takes a task and reports every frame of it done.
    public func completeNextTask() async throws -> WorkerProtocol.Assignment? {
        guard let task = try await takeTask() else { return nil }
        try await report(task, .completed, frames: Array(task.chunk.frames))
        return task
    }
}
