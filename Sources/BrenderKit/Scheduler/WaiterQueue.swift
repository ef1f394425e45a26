/// A slot of a worker: the unit that asks for work and runs one task at a time.
struct WorkerSlot: Hashable, Sendable {
    let clientID: Int64
    let slot: Int
}

/// Idle worker slots waiting in a long poll, first come first served.
///
/// Each wait has a token so a time-out resumes only the wait it was set for, never a later one
/// of the same slot.
struct WaiterQueue {
    struct Waiter {
        let token: UInt64
        /// The job whose file the slot's warm Blender has loaded, as it said when it asked.
        let warmJob: Int64?
        let continuation: CheckedContinuation<WorkerProtocol.Assignment?, Never>
    }

    private var bySlot: [WorkerSlot: Waiter] = [:]
    private(set) var order: [WorkerSlot] = []
    private var nextToken: UInt64 = 0

    var isEmpty: Bool { bySlot.isEmpty }
    var count: Int { bySlot.count }

    /// The wait of `slot`, if it waits.
    subscript(slot: WorkerSlot) -> Waiter? { bySlot[slot] }

    /// Adds a wait for `slot`, ending any earlier wait of the same slot with no task.
    mutating func add(
        _ slot: WorkerSlot, warmJob: Int64?, _ continuation: CheckedContinuation<WorkerProtocol.Assignment?, Never>
    ) -> UInt64 {
        if let earlier = bySlot[slot] {
            earlier.continuation.resume(returning: nil)
            order.removeAll { $0 == slot }
        }
        nextToken += 1
        bySlot[slot] = Waiter(token: nextToken, warmJob: warmJob, continuation: continuation)
        order.append(slot)
        return nextToken
    }

    /// Removes and returns the wait of `slot`, if its token matches (or no token is given).
    mutating func remove(_ slot: WorkerSlot, token: UInt64? = nil) -> Waiter? {
        guard let waiter = bySlot[slot], token == nil || waiter.token == token else { return nil }
        bySlot[slot] = nil
        order.removeAll { $0 == slot }
        return waiter
    }

    /// Removes and returns the waits of every slot of `clientID`.
    mutating func remove(clientID: Int64) -> [Waiter] {
        let slots = order.filter { $0.clientID == clientID }
        return slots.compactMap { remove($0) }
    }

    /// Removes every wait.
    mutating func removeAll() -> [Waiter] {
        let all = order.compactMap { bySlot[$0] }
        bySlot.removeAll()
        order.removeAll()
        return all
    }
}
