import BrenderTesting
import Foundation
import Testing

@testable import BrenderKit

/// A big job's delete or cancel commits in one small transaction and writes its task rows in
/// parts, so it fits a full disk's reserve, survives a restart half written, and holds meanwhile.
@Suite struct FarmChangesInPartsTests {
    let fixture: FarmFixture
    var farm: Farm { fixture.farm }
    /// More tasks than one part writes.
    let taskCount = 2 * Farm.rowsPerPart + 500

    init() throws {
        fixture = try FarmFixture()
    }

    private func submitBigJob() async throws -> Int64 {
        let values: [String: JSONValue] = ["type": "command", "argv": ["true"], "frames": .string("1-\(taskCount)")]
        return try await farm.handle(APIRequest(item: "job", action: "create", values: values)).items[0]["id"]!.intValue!
    }

    private func cancel(_ job: Int64, on farm: Farm) async throws {
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(job)], values: ["status": "canceled"]))
    }

    /// Task rows by stored status, read from the database file itself.
    private func storedStatuses(of job: Int64) throws -> [String: Int] {
        let store = try FarmStore(path: fixture.file.path)
        defer { store.database.close() }
        var counts: [String: Int] = [:]
        let rows = try store.database.query("SELECT status, count(*) FROM tasks WHERE job_id = ?1 GROUP BY status", [.integer(job)]) {
            ($0.string(0), $0.int(1))
        }
        for (status, count) in rows { counts[status] = count }
        return counts
    }

    private func changesInParts() throws -> Int {
        let store = try FarmStore(path: fixture.file.path)
        defer { store.database.close() }
        return try store.loadChangesInParts().count
    }

    @Test func aBigJobsCancelWritesEveryTaskRowAndLeavesNoRecordOfItsParts() async throws {
        let job = try await submitBigJob()
        try await cancel(job, on: farm)
        #expect(try storedStatuses(of: job) == ["canceled": taskCount])
        #expect(try changesInParts() == 0)
        let reopened = try fixture.reopen()
        let read = try await reopened.handle(APIRequest(item: "job", action: "read", filters: ["id": .int(job)])).items[0]
        #expect(read["status"] == "canceled" && read["tasks_canceled"] == .int(Int64(taskCount)))
    }

    @Test func aCancelTheDiskCannotFinishHoldsSurvivesARestartAndIsWrittenOnceThereIsRoom() async throws {
        let job = try await submitBigJob()
        // The database may not grow: the cancel's own record fits, its task rows do not.
        try await farm.capDatabase(extraPages: 0)
        try await cancel(job, on: farm)
        #expect(await farm.isBeingWritten(job))
        let read = try await farm.handle(APIRequest(item: "job", action: "read", filters: ["id": .int(job)])).items[0]
        #expect(read["status"] == "canceled" && read["tasks_canceled"] == .int(Int64(taskCount)) && read["tasks_queued"] == 0)
        // Changing the job now would be written over by the rest of the cancel: refused, nothing changed.
        await #expect(throws: APIError.self) {
            _ = try await farm.handle(
                APIRequest(item: "task", action: "update", filters: ["job": .int(job), "status": "canceled"], values: ["status": "queued"]))
        }
        #expect(try await farm.handle(APIRequest(item: "job", action: "read", filters: ["id": .int(job)])).items[0]["tasks_queued"] == 0)
        #expect(try storedStatuses(of: job)["queued", default: 0] > 0, "the test needs the rows unwritten")

        // A restart finds the cancel committed, and writes the rest (its connection has room).
        let reopened = try fixture.reopen()
        let after = try await reopened.handle(APIRequest(item: "job", action: "read", filters: ["id": .int(job)])).items[0]
        #expect(after["status"] == "canceled" && after["tasks_canceled"] == .int(Int64(taskCount)) && after["tasks_queued"] == 0)
        let task = try await reopened.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(job)], limit: 1)).items[0]
        #expect(task["error"] == "its job was canceled")
        #expect(await reopened.writeChangesInParts())
        #expect(try storedStatuses(of: job) == ["canceled": taskCount])
        #expect(try changesInParts() == 0)
        #expect(await reopened.repairInvariants().isEmpty)
        // Now it may change again.
        _ = try await reopened.handle(
            APIRequest(item: "task", action: "update", filters: ["job": .int(job), "status": "canceled"], values: ["status": "queued"]))
        #expect(try storedStatuses(of: job) == ["queued": taskCount])
    }

    @Test func aBigJobsDeleteRemovesEveryRowAndARestartHalfwayFinishesIt() async throws {
        let job = try await submitBigJob()
        let kept = try await submitBigJob()
        _ = try await farm.handle(APIRequest(item: "job", action: "delete", filters: ["id": .int(job)]))
        #expect(try storedStatuses(of: job).isEmpty)
        #expect(try changesInParts() == 0)
        #expect(try storedStatuses(of: kept) == ["queued": taskCount])

        // A delete whose record is committed but whose rows are not all removed (a crash, or a
        // full disk) is finished by the next farm, and the job never shows again.
        let store = try FarmStore(path: fixture.file.path)
        try store.transaction { try store.beginChangeInParts(JobChangeInParts(jobID: kept, kind: .delete)) }
        _ = try store.transaction { try store.deleteTasks(ofJob: kept, limit: Farm.rowsPerPart) }
        store.database.close()
        let reopened = try fixture.reopen()
        #expect(try await reopened.handle(APIRequest(item: "job", action: "read")).items.isEmpty)
        #expect(try await reopened.handle(APIRequest(item: "task", action: "read")).items.isEmpty)
        #expect(await reopened.writeChangesInParts())
        #expect(try storedStatuses(of: kept).isEmpty)
        #expect(try changesInParts() == 0)
    }
}
