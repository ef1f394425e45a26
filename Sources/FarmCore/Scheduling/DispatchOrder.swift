/// The jobs that have queued tasks to hand out, in the order they get workers:
/// higher priority first, then older first (by submission time, then id).
///
/// A sorted array: insertion and removal find their place by binary search, and choosing work
/// walks from the front, so the common case (the first job fits) costs a few comparisons.
public struct DispatchOrder: Sendable, Equatable {
    /// What orders a job.
    public struct Key: Sendable, Equatable, Comparable {
        public let priority: Int
        public let createdAt: Double
        public let jobID: Int64

        public init(priority: Int, createdAt: Double, jobID: Int64) {
            self.priority = priority
            self.createdAt = createdAt
            self.jobID = jobID
        }

        /// True when `lhs` goes before `rhs`.
        public static func < (lhs: Key, rhs: Key) -> Bool {
            if lhs.priority != rhs.priority { return lhs.priority > rhs.priority }
            if lhs.createdAt != rhs.createdAt { return lhs.createdAt < rhs.createdAt }
            return lhs.jobID < rhs.jobID
        }
    }

    public private(set) var keys: [Key] = []

    public init() {}

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }

    /// Job ids in dispatch order.
    public var jobIDs: [Int64] { keys.map(\.jobID) }

    public func contains(_ key: Key) -> Bool {
        let index = insertionIndex(of: key)
        return index < keys.count && keys[index] == key
    }

    /// Adds `key` if absent.
    public mutating func insert(_ key: Key) {
        let index = insertionIndex(of: key)
        if index < keys.count && keys[index] == key { return }
        keys.insert(key, at: index)
    }

    /// Removes `key` if present.
    public mutating func remove(_ key: Key) {
        let index = insertionIndex(of: key)
        if index < keys.count && keys[index] == key { keys.remove(at: index) }
    }

    private func insertionIndex(of key: Key) -> Int {
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
