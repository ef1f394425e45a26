import BrenderKit
import BrenderTesting

/// What one simulated worker process knows: its credentials, the tasks its slots hold, and
/// the updates it sent (to send again, or late under an old lease).
struct SimulatedWorker {
    let name: String
    /// Bumped for each new process with this name: a new key.
    var generation = 0
    var clientID: Int64?
    var slots = 1
    /// Whether the process runs (a vanished worker sends nothing until it registers again).
    var alive = false
    var held: [Int: WorkerProtocol.Assignment] = [:]
    /// Frames each held task has rendered so far.
    var framesDone: [Int: Int] = [:]
    /// Log bytes each held task has sent.
    var logSent: [Int: Int] = [:]
    var lastUpdate: WorkerProtocol.TaskUpdate?
    /// Updates of attempts it no longer holds, for late reports.
    var oldUpdates: [WorkerProtocol.TaskUpdate] = []

    init(name: String) {
        self.name = name
    }

    var key: String { WorkerProtocol.Sender.simulatedKey(generation == 0 ? name : "\(name)-\(generation)") }
    var sender: WorkerProtocol.Sender? { clientID.map { WorkerProtocol.Sender(clientID: $0, key: key) } }

    /// Forgets what its slots held (a restart, or the server took the tasks back).
    mutating func dropHeld() {
        held = [:]
        framesDone = [:]
        logSent = [:]
    }

    /// Keeps an update to resend, and to send late once the attempt is over.
    mutating func remember(_ update: WorkerProtocol.TaskUpdate) {
        lastUpdate = update
        oldUpdates.append(update)
        if oldUpdates.count > 8 { oldUpdates.removeFirst() }
    }
}
