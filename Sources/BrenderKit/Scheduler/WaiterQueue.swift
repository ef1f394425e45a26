/// Idle workers waiting in a long poll, first come first served.
///
/// Each wait has a token so a time-out resumes only the wait it was set for, never a later one
/// of the same worker.
struct WaiterQueue {
    struct Waiter {
        let token: UInt64
        let continuation: CheckedContinuation<WorkerProtocol.Assignment?, Never>
    }

    private var byClient: [Int64: Waiter] = [:]
    private(set) var order: [Int64] = []
    private var nextToken: UInt64 = 0

    var isEmpty: Bool { byClient.isEmpty }
    var count: Int { byClient.count }

    /// Adds a wait for `clientID`, ending any earlier wait of the same worker with no task.
    mutating func add(_ clientID: Int64, _ continuation: CheckedContinuation<WorkerProtocol.Assignment?, Never>) -> UInt64 {
        if let earlier = byClient[clientID] {
            earlier.continuation.resume(returning: nil)
            order.removeAll { $0 == clientID }
        }
        nextToken += 1
        byClient[clientID] = Waiter(token: nextToken, continuation: continuation)
        order.append(clientID)
        return nextToken
    }

    /// Removes and returns the wait of `clientID`, if its token matches (or no token is given).
    mutating func remove(_ clientID: Int64, token: UInt64? = nil) -> Waiter? {
        guard let waiter = byClient[clientID], token == nil || waiter.token == token else { return nil }
        byClient[clientID] = nil
        order.removeAll { $0 == clientID }
        return waiter
    }

    /// Removes every wait.
    mutating func removeAll() -> [Waiter] {
        let all = order.compactMap { byClient[$0] }
        byClient.removeAll()
        order.removeAll()
        return all
    }
}
