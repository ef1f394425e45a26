import BrenderTesting

/// The simulation's one source of chance: seeded, so a run repeats exactly.
struct SimulationRandom {
    private var generator: SeededGenerator

    init(seed: UInt64) {
        generator = SeededGenerator(seed: seed)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
    mutating func int(below bound: Int) -> Int { bound <= 1 ? 0 : Int.random(in: 0..<bound, using: &generator) }
    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < p }
    mutating func pick<T>(_ items: [T]) -> T { items[int(below: items.count)] }
}
