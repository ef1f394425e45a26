import Foundation

/// Runs a simulation for the `brender-sim` command and the test: the seed first (so a run
/// stopped from outside can be replayed too), then its events, and on a failure the seed, the
/// command that replays it, and a shortened sequence of events that still fails.
public struct SimulationRunner {
    public var seed: UInt64
    public var events: Int
    public var settleEvery: Int
    /// How long shortening a failing sequence may take.
    public var shrinkSeconds: Double
    public var print: (String) -> Void

    public init(seed: UInt64, events: Int, settleEvery: Int = 20_000, shrinkSeconds: Double = 60, print: @escaping (String) -> Void) {
        self.seed = seed
        self.events = events
        self.settleEvery = settleEvery
        self.shrinkSeconds = shrinkSeconds
        self.print = print
    }

    /// A new seed from the system's randomness.
    public static func freshSeed() -> UInt64 { UInt64.random(in: 1...UInt64.max) }

    /// Runs; returns the failure, if any.
    public func run() async throws -> SimulationFailure? {
        print("brender-sim: seed \(seed), \(events) events (brender-sim --seed \(seed) --events \(events) runs them again)")
        let start = ContinuousClock.now
        let (ran, failure) = try await FarmSimulation.run(seed: seed, events: events, settleEvery: settleEvery)
        let seconds = (ContinuousClock.now - start) / .milliseconds(1) / 1000
        let rate = Int(Double(ran.count) / max(seconds, 0.001))
        guard let failure else {
            print(
                "brender-sim: seed \(seed): \(ran.count) events in \(String(format: "%.1f", seconds)) s (\(rate) events/s), trace \(Self.digest(ran)): every invariant held"
            )
            return nil
        }
        print("brender-sim: seed \(seed): FAILED \(failure)")
        // The last event of a run is always the settling one: one more than the failing event's
        // count keeps that event as it was (unless it was that last one).
        let replayed = failure.eventIndex == events - 1 ? events : failure.eventIndex + 2
        print("replay: brender-sim --seed \(seed) --events \(replayed)")
        let shortened = try await shrink(Array(ran.prefix(failure.eventIndex + 1)), failing: failure)
        print("a shortened sequence of \(shortened.events.count) events that still fails (\(shortened.failure)):")
        // A long one is shown by its end; the replay command above gives it whole.
        let shown = shortened.events.suffix(200)
        if shown.count < shortened.events.count { print("  (the first \(shortened.events.count - shown.count) events left out)") }
        for (index, event) in zip(shown.indices, shown) { print(String(format: "%6d  ", index) + event.description) }
        return failure
    }

    /// Removes events while the rest still fails, halving the pieces it tries, until time is up.
    func shrink(_ events: [SimulationEvent], failing: SimulationFailure) async throws -> (events: [SimulationEvent], failure: SimulationFailure) {
        let deadline = ContinuousClock.now + .seconds(shrinkSeconds)
        var current = events
        var failure = failing
        var piece = max(1, current.count / 2)
        while ContinuousClock.now < deadline {
            var removed = false
            var start = 0
            while start < current.count && ContinuousClock.now < deadline {
                var candidate = current
                candidate.removeSubrange(start..<min(current.count, start + piece))
                if let found = try await FarmSimulation.replay(candidate) {
                    current = Array(candidate.prefix(found.eventIndex + 1))
                    failure = found
                    removed = true
                } else {
                    start += piece
                }
            }
            if piece == 1 && !removed { break }
            if !removed { piece = max(1, piece / 2) }
        }
        return (current, failure)
    }

    /// A short fingerprint of an event sequence: two runs of one seed must print the same.
    static func digest(_ events: [SimulationEvent]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for event in events {
            for byte in event.description.utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        return String(hash, radix: 16)
    }
}
