import BrenderSimulation
import Foundation

// brender-sim [--seed S] [--events N] [--settle-every K] [--shrink-seconds T]
// Drives the real farm core and SQLite store through N seeded events, checking the farm's
// invariants after each; exits 1 with the seed and a shortened failing sequence on a failure.
var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
let known = ["--seed", "--events", "--settle-every", "--shrink-seconds"]
while let name = arguments.popFirst() {
    guard known.contains(name), let value = arguments.popFirst() else {
        FileHandle.standardError.write(
            Data(
                "brender-sim: error: unknown option or missing value '\(name)'\nusage: brender-sim [--seed S] [--events N] [--settle-every K] [--shrink-seconds T]\n"
                    .utf8))
        exit(2)
    }
    options[name] = value
}
@MainActor func number<T: FixedWidthInteger>(_ name: String, default value: T) -> T {
    guard let text = options[name] else { return value }
    guard let parsed = T(text.replacingOccurrences(of: "_", with: "")), parsed > 0 else {
        FileHandle.standardError.write(Data("brender-sim: error: \(name) takes a positive whole number, not '\(text)'\n".utf8))
        exit(2)
    }
    return parsed
}
let runner = SimulationRunner(
    seed: number("--seed", default: SimulationRunner.freshSeed()), events: number("--events", default: 1_000_000),
    settleEvery: number("--settle-every", default: 20_000), shrinkSeconds: Double(number("--shrink-seconds", default: 60)),
    print: { Swift.print($0) })
do {
    exit(try await runner.run() == nil ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("brender-sim: error: \(error)\n".utf8))
    exit(1)
}
