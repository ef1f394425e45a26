import BrenderTesting
import Testing

@testable import BrenderKit
@testable import FarmCore

/// A stored value this brender does not know stops the farm's load with an error naming the
/// table, row and column: nothing becomes a guess.
@Suite struct StoredValueTests {
    /// A farm with a client, a job with a video and its tasks, then `column` of `table`'s first
    /// row set to `value` behind its back; what loading it again says.
    private func loadAfterStoring(_ value: String, in table: String, column: String) async throws -> String {
        let fixture = try FarmFixture()
        var node = WorkerProtocol.Registration.simulated("node")
        node.capabilities.append("ffmpeg")
        _ = try await fixture.farm.register(node)
        _ = try await fixture.farm.handle(
            APIRequest(
                item: "job", action: "create",
                values: ["file": "/scenes/a.blend", "frames": "1-2", "video": ["path": "/renders/a.mp4"], "chunk": 2]))
        // The schema's CHECKs refuse such values; a hand edit can still get them in.
        let database = try SQLiteDatabase(path: fixture.file.path)
        try database.run("PRAGMA ignore_check_constraints = ON")
        try database.run("UPDATE \(table) SET \(column) = ?1 WHERE rowid = (SELECT MIN(rowid) FROM \(table))", [.text(value)])
        database.close()
        do {
            _ = try fixture.reopen()
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [
        ("jobs", "status"), ("jobs", "kind"), ("jobs", "video"), ("tasks", "status"), ("tasks", "role"), ("clients", "status"),
        ("clients", "connection"), ("clients", "schedule"),
    ])
    func anUnknownValueStopsTheLoadNamingWhereItIs(table: String, column: String) async throws {
        let said = try await loadAfterStoring("exploded", in: table, column: column)
        #expect(said.contains("the database holds 'exploded' in \(table).\(column) of row 1, which this brender does not know"), "\(said)")
    }

    @Test func knownValuesLoad() async throws {
        #expect(try await loadAfterStoring("paused", in: "jobs", column: "status") == "loaded")
    }
}
