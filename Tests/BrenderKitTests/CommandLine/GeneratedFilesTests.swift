import Foundation
import Testing

@testable import BrenderKit

/// The completions and manual pages committed in the repository are what the command tree
/// generates now.
@Suite struct GeneratedFilesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func committed(_ path: String) -> String? {
        try? String(contentsOf: Self.repository.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func theCommittedCompletionsAreUpToDate() {
        for (shell, file) in [(Completions.Shell.bash, "brender.bash"), (.zsh, "_brender"), (.fish, "brender.fish")] {
            #expect(
                committed("completions/\(file)") == Completions.script(for: shell), "completions/\(file) is out of date: run scripts/generate-docs.sh"
            )
        }
    }

    @Test func theCommittedManualPagesAreUpToDate() throws {
        let pages = ManPages.pages()
        #expect(pages.map(\.name) == ["brender.1"] + ManPages.groups.map { "brender-\($0).1" })
        for page in pages {
            #expect(committed("man/\(page.name)") == page.text, "man/\(page.name) is out of date: run scripts/generate-docs.sh")
        }
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("man").path)
            .filter { $0.hasSuffix(".1") }
        #expect(Set(onDisk) == Set(pages.map(\.name)), "no stale pages")
    }

    @Test func everyCommandAndOptionIsInTheCompletionsAndThePages() {
        let bash = Completions.script(for: .bash)
        let manual = ManPages.pages().map(\.text).joined()
        for node in Completions.nodes() {
            #expect(bash.contains("'\(node.path)')"), "\(node.path) has no entry")
            for option in node.spec.options {
                #expect(bash.contains("'--\(option.long)'"), "--\(option.long) of '\(node.path)' is not completed")
                #expect(manual.contains("\\-\\-\(ManPages.escape(option.long))"), "--\(option.long) of '\(node.path)' is not in a page")
            }
        }
    }
}
