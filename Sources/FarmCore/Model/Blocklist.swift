/// Failed tasks of one job per client. A client that failed `threshold` of them gets no more of
/// the job's tasks: a file that crashes Blender on one node stops costing that node's time.
public struct Blocklist: Sendable, Equatable {
    /// Failed attempts per client id.
    public private(set) var failures: [Int64: Int] = [:]

    public init(failures: [Int64: Int] = [:]) {
        self.failures = failures
    }

    /// Counts a failed attempt on `clientID`; returns its count.
    @discardableResult
    public mutating func recordFailure(on clientID: Int64) -> Int {
        failures[clientID, default: 0] += 1
        return failures[clientID]!
    }

    public func isBlocked(_ clientID: Int64, threshold: Int) -> Bool {
        (failures[clientID] ?? 0) >= threshold
    }

    /// The blocked clients' ids, ascending.
    public func blocked(threshold: Int) -> [Int64] {
        failures.filter { $0.value >= threshold }.map(\.key).sorted()
    }

    public mutating func clear() {
        failures = [:]
    }

    /// Forgets a client (it was deleted).
    public mutating func remove(_ clientID: Int64) {
        failures[clientID] = nil
    }
}
