import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// The committed completions run in real shells, and the manual pages are clean under groff.
@Suite struct ShellIntegrationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let directory = FileManager.default.temporaryDirectory

    private func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String)? {
        guard let path = ["/usr/bin/\(tool)", "/bin/\(tool)"].first(where: FileManager.default.isExecutableFile(atPath:)) else { return nil }
        return try ChildProcess.run(path, arguments, logDirectory: Self.directory, name: "shell-\(tool)-\(UUID().uuidString.prefix(6))", timeout: 60)
    }

    @Test func theCompletionScriptsParseInTheirShells() throws {
        for (shell, file) in [("bash", "brender.bash"), ("zsh", "_brender"), ("fish", "brender.fish")] {
            guard let result = try run(shell, ["-n", Self.repository.appendingPathComponent("completions/\(file)").path]) else { continue }
            #expect(result.status == 0, "\(shell) -n \(file): \(result.stderr)")
        }
    }

    /// Completes `words` (the last one being typed) with the bash script and returns the offers.
    private func bashComplete(_ words: [String]) throws -> [String] {
        let script = Self.repository.appendingPathComponent("completions/brender.bash").path
        let array = words.map { "'\($0)'" }.joined(separator: " ")
        let program = "source '\(script)'; COMP_WORDS=(\(array)); COMP_CWORD=\(words.count - 1); _brender; printf '%s\\n' \"${COMPREPLY[@]}\""
        let result = try #require(try run("bash", ["-c", program]))
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func bashCompletesCommandsOptionsAndValues() throws {
        #expect(try bashComplete(["brender", "jo"]) == ["job"])
        #expect(try bashComplete(["brender", "job", "su"]) == ["submit"])
        #expect(try Set(bashComplete(["brender", "server", "--sync", ""])) == ["normal", "full"])
        #expect(try bashComplete(["brender", "job", "submit", "--pri"]) == ["--priority"])
        #expect(try Set(bashComplete(["brender", "server", "token", "create", "alice", "--role", ""])) == ["read-only", "submit", "admin"])
        #expect(try bashComplete(["brender", "--data", "x", "serv"]).contains("server"), "an option's value is not a command")
        #expect(try bashComplete(["brender", "job", "list", "--filter", "status"]).contains("status=paused"), "statuses are offered")
    }

    @Test func theManualPagesAreCleanUnderGroff() throws {
        let folder = Self.repository.appendingPathComponent("man")
        let pages = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".1") }
        #expect(!pages.isEmpty)
        for page in pages {
            guard let result = try run("groff", ["-man", "-ww", "-z", folder.appendingPathComponent(page).path]) else { return }
            #expect(result.status == 0 && result.stderr.isEmpty, "\(page): \(result.stderr)")
        }
    }
}
