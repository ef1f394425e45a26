import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// `--sort` and `--search` of the list commands, against a real server.
@Suite struct ListCommandTests {
    @Test func jobListSortsAndSearchesOnTheServer() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        for (name, priority) in [("sh010 light", 20), ("sh020 fx", 90), ("SH030 light", 50)] {
            _ = try await farm.submit(["file": "/tmp/a.blend", "frames": "1", "name": .string(name), "priority": .int(Int64(priority))])
        }
        let sorted = try farm.run(["job", "list", "--sort", "-priority"])
        #expect(sorted.status == 0, "\(sorted.stderr)")
        let names = sorted.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true)[1] }
        #expect(names == ["sh020", "SH030", "sh010"])
        let searched = try farm.run(["job", "list", "--search", "LIGHT", "--sort", "name", "--json"])
        let found = try JSONValue.parse(Data(searched.stdout.utf8)).arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(found == ["sh010 light", "SH030 light"])

        let wrong = try farm.run(["job", "list", "--sort", "colour"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.hasPrefix("brender: error: --sort 'colour' is not a field of a job\nhint: sort by one of id, name,"))
    }
}
