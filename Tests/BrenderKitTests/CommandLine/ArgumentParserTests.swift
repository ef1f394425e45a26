import Testing

@testable import BrenderKit

/// A small command tree that exercises every form the parser accepts.
private let testRoot = CommandSpec(
    "tool", abstract: "test tool",
    subcommands: [
        CommandSpec(
            "group", abstract: "a group",
            subcommands: [
                CommandSpec(
                    "run", abstract: "runs",
                    options: [
                        .value("server", short: "s", "URL", kind: .url, environment: "TOOL_SERVER", default: "http://127.0.0.1:9999", help: "server"),
                        .value("filter", short: "f", "KEY=VALUE", kind: .keyValue, repeatable: true, help: "filter"),
                        .value("chunk", short: "c", "N", kind: .integer(1...100), help: "chunk"),
                        .value("mode", "MODE", kind: .choice(["fast", "slow"]), help: "mode"),
                        .value("listen", "HOST:PORT", kind: .hostPort, help: "listen"),
                        .flag("json", short: "j", help: "json"),
                        .flag("all", short: "a", help: "all"),
                    ],
                    positionals: [PositionalSpec("FILE", help: "file"), PositionalSpec("REST", optional: true, repeated: true, help: "rest")],
                    action: { _, _ in 0 })
            ]),
        CommandSpec("solo", abstract: "no args", action: { _, _ in 0 }),
    ])

private func parse(_ arguments: [String], environment: [String: String] = [:]) throws(UsageError) -> ParsedCommand {
    guard case .run(let parsed) = try ArgumentParser(root: testRoot).parse(arguments, environment: environment) else {
        throw UsageError("not a run", hint: "")
    }
    return parsed
}

private func usageError(_ arguments: [String]) -> UsageError? {
    do {
        _ = try ArgumentParser(root: testRoot).parse(arguments)
        return nil
    } catch {
        return error
    }
}

@Suite struct ArgumentParserTests {
    @Test func nestedSubcommandsResolveToTheLeafCommand() throws {
        let parsed = try parse(["group", "run", "scene.blend"])
        #expect(parsed.path == ["tool", "group", "run"])
        #expect(parsed.positional("FILE") == "scene.blend")
    }

    @Test func longOptionTakesTheNextArgumentOrAnAttachedValue() throws {
        #expect(try parse(["group", "run", "--server", "http://a:1", "f"]).string("server") == "http://a:1")
        #expect(try parse(["group", "run", "--server=http://b:2", "f"]).string("server") == "http://b:2")
    }

    @Test func shortOptionTakesTheNextArgumentOrTheRestOfTheToken() throws {
        #expect(try parse(["group", "run", "-s", "http://a:1", "f"]).string("server") == "http://a:1")
        #expect(try parse(["group", "run", "-c5", "f"]).int("chunk") == 5)
    }

    @Test func groupedShortFlagsAreEachSet() throws {
        let parsed = try parse(["group", "run", "-ja", "f"])
        #expect(parsed.flag("json"))
        #expect(parsed.flag("all"))
    }

    @Test func repeatedOptionKeepsEveryValueInOrder() throws {
        let parsed = try parse(["group", "run", "--filter", "status=enabled", "-f", "tags=gpu", "f"])
        #expect(parsed.strings("filter") == ["status=enabled", "tags=gpu"])
        #expect(parsed.keyValues("filter").map(\.key) == ["status", "tags"])
    }

    @Test func doubleDashEndsOptions() throws {
        let parsed = try parse(["group", "run", "f", "--", "--json", "-x"])
        #expect(!parsed.flag("json"))
        #expect(parsed.repeatedPositional("REST") == ["--json", "-x"])
    }

    @Test func negativeNumbersAreArgumentsNotOptions() throws {
        let parsed = try parse(["group", "run", "f", "-5"])
        #expect(parsed.repeatedPositional("REST") == ["-5"])
    }

    @Test func environmentVariableThenDefaultFillAnAbsentOption() throws {
        #expect(try parse(["group", "run", "f"]).string("server") == "http://127.0.0.1:9999")
        #expect(try parse(["group", "run", "f"], environment: ["TOOL_SERVER": "http://env:1"]).string("server") == "http://env:1")
        #expect(
            try parse(["group", "run", "f", "-s", "http://flag:1"], environment: ["TOOL_SERVER": "http://env:1"]).string("server") == "http://flag:1")
    }

    @Test func helpAnywhereAsksForTheDeepestCommandsHelp() throws {
        guard case .help(let chain) = try ArgumentParser(root: testRoot).parse(["group", "run", "--help"]) else {
            Issue.record("expected help")
            return
        }
        #expect(chain.map(\.name) == ["tool", "group", "run"])
        guard case .help(let viaCommand) = try ArgumentParser(root: testRoot).parse(["help", "group", "run"]) else {
            Issue.record("expected help")
            return
        }
        #expect(viaCommand.map(\.name) == ["tool", "group", "run"])
        guard case .help = try ArgumentParser(root: testRoot).parse(["group", "-h"]) else {
            Issue.record("expected help")
            return
        }
    }

    @Test func versionAtTheRoot() throws {
        guard case .version = try ArgumentParser(root: testRoot).parse(["--version"]) else {
            Issue.record("expected version")
            return
        }
    }

    @Test func mistypedCommandSuggestsTheClosest() {
        let error = usageError(["gruop", "run"])
        #expect(error?.message == "'gruop' is not a tool command")
        #expect(error?.hint.contains("did you mean 'group'?") == true)
        #expect(usageError(["group", "rnu"])?.hint.contains("did you mean 'run'?") == true)
    }

    @Test func mistypedOptionSuggestsTheClosest() {
        let error = usageError(["group", "run", "--servr", "x", "f"])
        #expect(error?.message == "unknown option '--servr' for 'tool group run'")
        #expect(error?.hint.contains("did you mean '--server'?") == true)
    }

    @Test func unknownShortOptionIsRefused() {
        #expect(usageError(["group", "run", "-z", "f"])?.message == "unknown option '-z' for 'tool group run'")
    }

    @Test func missingValueNamesTheOption() {
        let error = usageError(["group", "run", "f", "--chunk"])
        #expect(error?.message == "option '--chunk' needs a value (N)")
    }

    @Test func typedValuesNameTheOptionAndTheBadValue() {
        #expect(usageError(["group", "run", "--chunk", "abc", "f"])?.message == "option '--chunk' needs a whole number from 1 to 100, not 'abc'")
        #expect(usageError(["group", "run", "--chunk", "500", "f"])?.message == "option '--chunk' needs a whole number from 1 to 100, not '500'")
        let choice = usageError(["group", "run", "--mode", "fsat", "f"])
        #expect(choice?.message == "option '--mode' must be one of fast, slow, not 'fsat'")
        #expect(choice?.hint.contains("did you mean 'fast'?") == true)
        #expect(usageError(["group", "run", "--server", "ftp://x", "f"])?.message.contains("http:// or https:// URL") == true)
        #expect(usageError(["group", "run", "--listen", "nohost", "f"])?.message.contains("HOST:PORT") == true)
        #expect(usageError(["group", "run", "--filter", "novalue", "f"])?.message == "option '--filter' needs KEY=VALUE, not 'novalue'")
    }

    @Test func flagWithAValueIsRefused() {
        #expect(usageError(["group", "run", "--json=yes", "f"])?.message == "option '--json' is a flag and takes no value")
    }

    @Test func singleOptionGivenTwiceIsRefused() {
        #expect(usageError(["group", "run", "-c", "1", "-c", "2", "f"])?.message == "option '--chunk' was given more than once")
    }

    @Test func groupWithoutCommandListsItsCommands() {
        #expect(usageError(["group"])?.message == "'tool group' needs a command: run")
    }

    @Test func missingAndExtraArgumentsAreRefused() {
        #expect(usageError(["group", "run"])?.message == "'tool group run' needs FILE")
        #expect(usageError(["solo", "extra"])?.message == "unexpected argument 'extra' for 'tool solo'")
    }

    @Test func unknownHelpTopicIsAUsageError() {
        #expect(usageError(["help", "nope"])?.message == "'nope' is not a tool command")
    }

    @Test func hostPortParsesIPv4AndBracketedIPv6() {
        #expect(HostPort("0.0.0.0:9999") == HostPort("0.0.0.0:9999"))
        #expect(HostPort("127.0.0.1:0")?.port == 0)
        #expect(HostPort("[::1]:80")?.host == "::1")
        #expect(HostPort("host:70000") == nil)
        #expect(HostPort(":80") == nil)
    }
}

@Suite struct SuggestionTests {
    @Test func editDistanceCountsSwapsAsOne() {
        #expect(Suggestions.editDistance("list", "lsit") == 1)
        #expect(Suggestions.editDistance("kitten", "sitting") == 3)
        #expect(Suggestions.editDistance("", "abc") == 3)
    }

    @Test func farAwayWordsGetNoSuggestion() {
        #expect(Suggestions.closest(to: "zzzzzz", among: ["list", "update"]) == nil)
        #expect(Suggestions.closest(to: "upd", among: ["list", "update"]) == "update")
    }
}

@Suite struct HelpFormatterTests {
    @Test func helpShowsEveryOptionAndArgumentOfTheCommand() {
        let chain = [testRoot, testRoot.subcommands[0], testRoot.subcommands[0].subcommands[0]]
        let help = HelpFormatter.help(for: chain)
        for option in chain.last!.allOptions {
            #expect(help.contains("--\(option.long)"), "help lacks --\(option.long)")
        }
        #expect(help.contains("USAGE: tool group run"))
        #expect(help.contains("FILE"))
        #expect(help.contains("env: TOOL_SERVER"))
    }

    @Test func everyBrenderCommandHasHelpThatListsItsOptions() {
        func visit(_ chain: [CommandSpec]) {
            let help = HelpFormatter.help(for: chain)
            for option in chain.last!.options {
                #expect(help.contains("--\(option.long)"), "\(chain.map(\.name)) help lacks --\(option.long)")
            }
            for sub in chain.last!.subcommands { visit(chain + [sub]) }
        }
        visit([BrenderCLI.root])
    }
}
