import Testing

@testable import BrenderKit

@Suite struct ConfigurationTests {
    @Test func anEnvironmentFileIsReadAsSystemdReadsIt() throws {
        let file = try ConfigurationFile(
            path: "/etc/default/brender-server",
            text: """
                # the farm's server
                ; also a comment
                BRENDER_LISTEN = 0.0.0.0:9000

                BRENDER_DATA="/srv/brender data"
                BRENDER_LOG_LEVEL='debug'
                BRENDER_TAGS="a \\"quoted\\" value"
                BRENDER_LISTEN=127.0.0.1:9001
                """)
        #expect(file.entry("BRENDER_LISTEN") == .init(key: "BRENDER_LISTEN", value: "127.0.0.1:9001", line: 8), "the last one counts")
        #expect(file.entry("BRENDER_DATA")?.value == "/srv/brender data")
        #expect(file.entry("BRENDER_LOG_LEVEL")?.value == "debug")
        #expect(file.entry("BRENDER_TAGS")?.value == "a \"quoted\" value")
    }

    @Test func aLineThatIsNotAnAssignmentIsRefusedWithItsLine() {
        #expect(throws: ConfigurationFile.Malformed.self) { try ConfigurationFile(path: "f", text: "BRENDER_DATA=/x\nlisten on 9999\n") }
        do {
            _ = try ConfigurationFile(path: "f", text: "BRENDER_DATA=/x\n\nBRENDER_LISTEN=\"unclosed\n")
        } catch {
            #expect(error.description == "f:3: the value's quote \" is not closed")
        }
        #expect(throws: ConfigurationFile.Malformed.self) { try ConfigurationFile(path: "f", text: "export BRENDER_DATA=/x\n") }
    }

    private func parse(_ arguments: [String], environment: [String: String] = [:], file: String? = nil) throws -> ParsedCommand {
        guard case .run(var parsed) = try ArgumentParser(root: BrenderCLI.root).parse(arguments, environment: environment) else {
            throw CommandFailure("not a command")
        }
        if let file { parsed.configuration = try ConfigurationFile(path: "conf", text: file) }
        return parsed
    }

    @Test func theCommandLineWinsOverTheEnvironmentWhichWinsOverTheFile() throws {
        let file = "BRENDER_LISTEN=10.0.0.1:1\nBRENDER_DATA=/from/file\nBRENDER_SYNC=full\n"
        let parsed = try parse(
            ["server", "--listen", "10.0.0.3:3"], environment: ["BRENDER_LISTEN": "10.0.0.2:2", "BRENDER_DATA": "/from/env"], file: file)
        #expect(parsed.resolve("listen") == ("10.0.0.3:3", .commandLine))
        #expect(parsed.resolve("data") == ("/from/env", .environment(variable: "BRENDER_DATA")))
        #expect(parsed.resolve("sync") == ("full", .file(path: "conf", line: 3)))
        #expect(parsed.resolve("worker-timeout") == ("60", .defaultValue))
        #expect(parsed.resolve("tls-cert") == (nil, .unset))
    }

    @Test func aFlagComesFromItsVariableToo() throws {
        #expect(try parse(["worker"], environment: ["BRENDER_ALLOW_COMMANDS": "yes"]).flag("allow-commands"))
        #expect(try !parse(["worker"], environment: ["BRENDER_ALLOW_COMMANDS": "0"]).flag("allow-commands"))
        #expect(try parse(["worker"], file: "BRENDER_ALLOW_COMMANDS=true\n").flag("allow-commands"))
        #expect(try !parse(["worker"]).flag("allow-commands"))
    }

    @Test func badValuesFromTheEnvironmentOrTheFileStopTheStartNamingTheKey() throws {
        #expect(throws: CommandFailure.self) { try Settings.load(parse(["server"], environment: ["BRENDER_LISTEN": "nowhere"])) }
        do {
            _ = try Settings.load(parse(["server"], file: "BRENDER_WORKER_TIMEOUT=soon\n"))
            Issue.record("a bad value was accepted")
        } catch {
            #expect("\(error)".contains("BRENDER_WORKER_TIMEOUT in conf:1"))
        }
        do {
            _ = try Settings.load(parse(["worker"], environment: ["BRENDER_ALLOW_COMMANDS": "maybe"]))
            Issue.record("a bad switch was accepted")
        } catch {
            #expect("\(error)".contains("BRENDER_ALLOW_COMMANDS in the environment must be 1, true, yes or on"))
        }
    }

    @Test func theEffectiveSettingsSayWhereEachCameFromAndHideSecrets() throws {
        let parsed = try parse(["worker"], environment: ["BRENDER_JOIN_TOKEN": "s3cret", "BRENDER_TAGS": "gpu,cuda"])
        let lines = Settings.describe(parsed)
        #expect(lines.contains { $0.hasPrefix("BRENDER_TAGS=gpu,cuda") && $0.hasSuffix("# environment (BRENDER_TAGS)") })
        #expect(lines.contains { $0.hasPrefix("BRENDER_BLENDER=blender") && $0.hasSuffix("# default") })
        #expect(!lines.joined().contains("s3cret"))
    }
}
