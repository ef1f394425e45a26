import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// `brender server backup` while a job runs, and the restore the README describes.
@Suite struct BackupTests {
    @Test func aBackupTakenDuringARunningJobHoldsItAndRestoresIntoAWorkingServer() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try await SimulatedWorkerSession.register("sim", on: farm)
        let job = try await farm.submit(["file": "/tmp/backed-up.blend", "frames": "1-6", "chunk": 2, "name": "kept"])
        #expect(try await worker.takeTask() != nil)
        #expect(try await farm.job(job)?["status"] == "active")

        let copy = farm.directory.appendingPathComponent("backup.sqlite").path
        let backup = try farm.run(["server", "backup", copy, "--data", farm.dataDirectory.path])
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("1 jobs, 3 tasks, 1 clients; check ok"), "\(backup.stdout)")
        #expect(try farm.run(["server", "backup", copy, "--data", farm.dataDirectory.path]).status == 1, "never overwrites")
        #expect(try await farm.job(job)?["status"] == "active", "the server went on")

        // The restore: a data directory whose database is the copy, and its tokens.
        let restored = try TestFarm()
        try FileManager.default.createDirectory(at: restored.dataDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: copy, toPath: DataDirectory.databasePath(in: restored.dataDirectory))
        try FileManager.default.copyItem(
            at: ServerTokens.directory(of: farm.dataDirectory), to: ServerTokens.directory(of: restored.dataDirectory))
        try restored.startServer()
        let back = try #require(try await restored.job(job))
        #expect(back["name"] == "kept" && back["frames_total"] == 6 && back["tasks_total"] == 3)
        #expect(try await restored.clients()["sim"] != nil)
    }
}
