import BrenderKit
import BrenderTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A job of 100,000 tasks on a data directory that filled up: its cancel and its delete touch
/// more rows than the reserve has journal for, and must still work, so that the advice a full
/// disk gives (delete jobs) can be followed.
@Suite(.serialized) struct FullDiskBigJobTests {
    @Test(.enabled(if: getuid() == 0, "mounts a small tmpfs: run as root"))
    func aJobOf100000TasksIsCanceledAndDeletedOnAFullDiskAndStaysSoAcrossARestart() async throws {
        let farm = try TestFarm()
        try FileManager.default.createDirectory(at: farm.dataDirectory, withIntermediateDirectories: true)
        guard mount("tmpfs", farm.dataDirectory.path, "tmpfs", 0, "size=48m") == 0 else {
            Issue.record("cannot mount a tmpfs at \(farm.dataDirectory.path): \(String(cString: strerror(errno)))")
            return
        }
        defer { umount2(farm.dataDirectory.path, Int32(MNT_DETACH)) }
        try farm.startServer()
        let tasks = 100_000
        let big = try await farm.submit(["type": "command", "frames": .string("1-\(tasks)"), "argv": ["true"]])
        #expect(try await farm.job(big)?["tasks_queued"] == .int(Int64(tasks)))

        // Fill the filesystem, until even a small job is refused.
        let filler = farm.dataDirectory.appendingPathComponent("filler").path
        func fill() {
            let descriptor = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            var block = [UInt8](repeating: 7, count: 65536)
            while write(descriptor, &block, block.count) > 0 {}
            var small = [UInt8](repeating: 7, count: 512)
            while write(descriptor, &small, small.count) > 0 {}
            close(descriptor)
        }
        fill()
        var refused = false
        for _ in 0..<50 where !refused {
            do {
                _ = try await farm.submit(["type": "command", "frames": "1-2000", "argv": ["true"]])
            } catch ClientError.refused(let status, _, _, _) where status == 507 {
                refused = true
            }
            fill()
        }
        #expect(refused, "the full disk took every job")

        // Both commands work on the full disk, and say what they did.
        let cancel = try farm.run(["job", "cancel", "\(big)"])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        let canceled = try #require(try await farm.job(big))
        #expect(canceled["status"] == "canceled" && canceled["tasks_canceled"] == .int(Int64(tasks)) && canceled["tasks_queued"] == 0)
        let delete = try farm.run(["job", "delete", "\(big)"])
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(try await farm.job(big) == nil)

        // Killed and started again (the disk still full): the job stays deleted.
        farm.server?.send(SIGKILL)
        _ = farm.server?.waitForExit(timeout: 30)
        try farm.restartServer()
        #expect(try await farm.job(big) == nil)
        #expect(try await farm.api(APIRequest(item: "task", action: "read", filters: ["job": .int(big)], limit: 1)).items.isEmpty)

        // Space back: new work is accepted again, without a restart.
        unlink(filler)
        #expect(await eventually(timeout: 30) { try await farm.client().get("/health")["storage"]?["low"] == false })
        let next = try await farm.submit(["type": "command", "frames": "1-10", "argv": ["true"]])
        #expect(try await farm.job(next)?["status"] == "queued")
    }
}
