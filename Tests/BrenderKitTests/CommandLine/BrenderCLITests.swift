import Testing

@testable import BrenderKit

@Suite struct BrenderCLITests {
    private func run(_ arguments: [String], environment: [String: String] = [:]) async -> (Int32, String, String) {
        let output = CapturedText()
        let errors = CapturedText()
        let status = await BrenderCLI.run(arguments, context: CommandContext(output: output, errorOutput: errors, environment: environment))
        return (status, output.text, errors.text)
    }

    @Test func usageErrorExitsTwoWithMessageAndHint() async {
        let (status, output, errors) = await run(["client", "lsit"])
        #expect(status == 2)
        #expect(output.isEmpty)
        #expect(errors == "brender: error: 'lsit' is not a brender client command\nhint: did you mean 'list'? see 'brender client --help'\n")
    }

    @Test func versionPrintsAndExitsZero() async {
        let (status, output, _) = await run(["--version"])
        #expect(status == 0)
        #expect(output == "brender \(BrenderVersion.current)\n")
    }

    @Test func helpGoesToStandardOutput() async {
        let (status, output, _) = await run(["help", "client", "update"])
        #expect(status == 0)
        #expect(output.contains("USAGE: brender client update"))
    }

    @Test func unreachableServerIsARuntimeErrorNamingTheURL() async {
        let (status, _, errors) = await run(["client", "list", "--server", "http://127.0.0.1:1"])
        #expect(status == 1)
        #expect(
            errors
                == "brender: error: cannot reach the brender server at http://127.0.0.1:1 (connection refused); is 'brender server' running there, on that port?\n"
        )
    }

    @Test func updateWithoutFiltersNeedsAll() async {
        let (status, _, errors) = await run(["client", "update", "--set", "status=disabled"])
        #expect(status == 2)
        #expect(errors.contains("no --filter given"))
    }

    @Test func invalidWorkerNameIsAUsageError() async {
        let (status, _, errors) = await run(["worker", "--name", "bad name!"])
        #expect(status == 2)
        #expect(errors.contains("--name 'bad name!' is not a valid client name"))
    }
}
