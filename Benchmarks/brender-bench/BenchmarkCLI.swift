import BrenderKit
import BrenderTesting
import Foundation

/// `brender-bench`: starts real brender processes on loopback, drives them, prints a summary and
/// writes the figures as JSON. It measures; it never decides pass or fail on speed.
enum BenchmarkCLI {
    static let spec = CommandSpec(
        "brender-bench", abstract: "Measure brender on this machine.",
        discussion: "Each scenario starts its own brender server with a fresh data directory on 127.0.0.1 and stops everything it started.",
        options: [
            .value(
                "scenario", "NAME", kind: .choice(["all"] + BenchmarkScenarios.names), repeatable: true,
                help: "Run only this scenario (default: all)."),
            .value("scale", "FACTOR", kind: .seconds, default: "1", help: "Multiply every size by this factor (0.01 for a quick check)."),
            .value("output", short: "o", "FILE", default: "bench-results.json", help: "Where to write the JSON results."),
        ],
        action: { parsed, context in
            let chosen = parsed.strings("scenario").filter { $0 != "all" }
            let names = chosen.isEmpty ? BenchmarkScenarios.names : chosen
            let scale = parsed.seconds("scale") ?? 1
            var results: [String: JSONValue] = [
                "date": .string(Timestamp.format(Timestamp.now)), "version": .string(BrenderVersion.current), "scale": .double(scale),
            ]
            for name in names {
                context.print("== \(name)")
                let figures = try await BenchmarkScenarios.run(name, scale: scale, log: { context.print("   " + $0) })
                results[name] = .object(figures)
            }
            let output = parsed.string("output")!
            try JSONValue.object(results).prettyPrinted().write(toFile: output, atomically: true, encoding: .utf8)
            context.print("results written to \(output)")
            return 0
        })

    static func run(_ arguments: [String]) async -> Int32 {
        let context = CommandContext.standard
        do {
            switch try ArgumentParser(root: spec).parse(arguments, environment: context.environment) {
            case .help(let chain):
                context.output.write(HelpFormatter.help(for: chain))
                return 0
            case .version:
                context.print(BrenderVersion.current)
                return 0
            case .run(let parsed):
                return try await spec.action!(parsed, context)
            }
        } catch let error as UsageError {
            context.printError("brender-bench: error: \(error.message)\nhint: \(error.hint)")
            return 2
        } catch {
            context.printError("brender-bench: error: \(error)")
            return 1
        }
    }
}
