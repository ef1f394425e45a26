import BrenderKit
import BrenderTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Warm Blender sessions with real Blender: a worker keeps Blender running with a job's file
/// loaded and renders the next tasks of that file in it.
@Suite(.serialized) struct WarmBlenderTests {
    /// The Blender processes (not their guards) whose command line names `file`.
    private func blenders(_ file: String) -> [Int32] {
        Processes.matching(file).filter { pid in
            let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { String(decoding: $0, as: UTF8.self) } ?? ""
            return !commandLine.contains(ChildGuard.command)
        }
    }

    private static let started = "--python (brender's warm-render script)"
    private static let reused = "rendering in the warm Blender that has"

    @Test func aJobAtChunkOneRendersInOneBlenderWithEachTasksOwnLog() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("warm.blend", frames: 6)
        try farm.startServer()
        try farm.startWorker(name: "w")
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1-6", "output": .string(output + "/f_####")])
        #expect(await farm.waitForJob(job) == "completed")
        for frame in 1...6 {
            let path = output + String(format: "/f_%04d.png", frame)
            #expect(OutputVerifier.problem(with: path) == nil, "frame \(frame)")
        }
        let tasks = try await farm.tasks(of: job)
        var logs: [String] = []
        for task in tasks { logs.append(try await farm.log(task: task["id"]!.intValue!)) }
        #expect(logs[0].contains(Self.started), "\(logs[0])")
        #expect(logs.dropFirst().allSatisfy { $0.contains(Self.reused) && !$0.contains(Self.started) }, "\(logs)")
        // Only its own frame in each task's log.
        for (index, log) in logs.enumerated() {
            let saved = log.split(separator: "\n").filter { $0.hasPrefix("Saved: ") }
            #expect(saved == ["Saved: '\(output)/f_\(String(format: "%04d", index + 1)).png'"], "\(log)")
        }
        // Still running, ready for the job's next task.
        #expect(blenders(scene).count == 1)
    }

    @Test func aFileChangedSinceItWasLoadedIsLoadedAfreshNotServedStale() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("changing.blend", frames: 2, size: "64x48")
        try farm.startServer()
        try farm.startWorker(name: "w")
        let output = farm.directory.appendingPathComponent("out").path
        let first = try await farm.submit(["file": .string(scene), "frames": "1", "output": .string(output + "/a_####")])
        #expect(await farm.waitForJob(first) == "completed")
        #expect(pngSize(output + "/a_0001.png").map { $0 == (64, 48) } == true)

        // The same path, a new scene in it.
        _ = try farm.makeScene("changing.blend", frames: 2, size: "80x60")
        let second = try await farm.submit(["file": .string(scene), "frames": "2", "output": .string(output + "/b_####")])
        #expect(await farm.waitForJob(second) == "completed")
        #expect(pngSize(output + "/b_0002.png").map { $0 == (80, 60) } == true, "rendered from the file as it was loaded first")
        let log = try await farm.log(task: try #require(try await farm.tasks(of: second).first?["id"]?.intValue))
        #expect(log.contains(Self.started))
    }

    @Test func twoFilesAlternatingOnOneWorkerEachRenderTheirOwnScene() async throws {
        let farm = try TestFarm()
        let small = try farm.makeScene("small.blend", frames: 3, size: "64x48")
        let large = try farm.makeScene("large.blend", frames: 3, size: "96x72")
        try farm.startServer()
        try farm.startWorker(name: "w")
        let output = farm.directory.appendingPathComponent("out").path
        for (index, (scene, frame)) in [(small, 1), (large, 1), (small, 2), (large, 2)].enumerated() {
            let job = try await farm.submit(["file": .string(scene), "frames": .string(String(frame)), "output": .string(output + "/\(index)_####")])
            #expect(await farm.waitForJob(job) == "completed")
            let expected = scene == small ? (64, 48) : (96, 72)
            #expect(pngSize(output + String(format: "/\(index)_%04d.png", frame)).map { $0 == expected } == true, "job \(index)")
        }
        #expect(blenders(small).count + blenders(large).count == 1, "one warm Blender at a time")
    }

    @Test func aWarmBlenderIdleForItsTimeIsClosedAndTheNextTaskStartsAFreshOne() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("idle.blend", frames: 2)
        try farm.startServer()
        let worker = try farm.startWorker(name: "w", ["--warm-idle", "3"])
        let output = farm.directory.appendingPathComponent("out").path
        let first = try await farm.submit(["file": .string(scene), "frames": "1", "output": .string(output + "/f_####")])
        #expect(await farm.waitForJob(first) == "completed")
        #expect(await eventually(timeout: 30, interval: 0.1) { blenders(scene).isEmpty }, "closed once idle")
        #expect(worker.standardError.contains("closing the warm Blender after 3 s idle"), "\(worker.standardError)")

        let second = try await farm.submit(["file": .string(scene), "frames": "2", "output": .string(output + "/f_####")])
        #expect(await farm.waitForJob(second) == "completed")
        let log = try await farm.log(task: try #require(try await farm.tasks(of: second).first?["id"]?.intValue))
        #expect(log.contains(Self.started), "a fresh Blender: \(log)")
    }

    @Test func aCancelStopsAWarmRenderAndTheNextTaskStartsAFreshBlender() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("long.blend", frames: 2, samples: 3000, size: "320x240")
        try farm.startServer()
        try farm.startWorker(name: "w")
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1-2", "output": .string(output + "/f_####")])
        #expect(
            await eventually(timeout: 120, interval: 0.1) {
                guard let task = try await farm.tasks(of: job).first(where: { $0["status"] == "active" }) else { return false }
                return try await farm.log(task: task["id"]!.intValue!).contains("Fra:1")
            })
        let cancel = try farm.run(["job", "cancel", String(job)])
        #expect(cancel.status == 0)
        let canceledAt = Date()
        #expect(await eventually(timeout: 15, interval: 0.05) { blenders(scene).isEmpty }, "the warm Blender still runs after the cancel")
        print("warm cancel: Blender gone \(String(format: "%.2f", Date().timeIntervalSince(canceledAt))) s after the cancel was acknowledged")
        #expect(await eventually { try await farm.clients()["w"]?["activity"] == "idle" })

        let quick = try farm.makeScene("quick.blend", frames: 1)
        let next = try await farm.submit(["file": .string(quick), "frames": "1", "output": .string(output + "/q_####")])
        #expect(await farm.waitForJob(next) == "completed")
    }

    @Test func aWarmBlenderKilledMidTaskFailsOnlyThatAttemptAndTheRetryStartsAFreshOne() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("fragile.blend", frames: 3, samples: 400, size: "160x120")
        try farm.startServer()
        try farm.startWorker(name: "w")
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1-3", "output": .string(output + "/f_####"), "max_attempts": 3])
        // The second task runs in the warm Blender the first one started; kill it mid-render.
        var victim: Int64?
        #expect(
            await eventually(timeout: 120, interval: 0.05) {
                guard let task = try await farm.tasks(of: job).first(where: { $0["status"] == "active" && $0["frames"] == "2" }),
                    let id = task["id"]?.intValue
                else { return false }
                victim = id
                return try await farm.log(task: id).contains("Fra:2")
            })
        let pids = blenders(scene)
        try #require(pids.count == 1)
        kill(pids[0], SIGKILL)
        #expect(await farm.waitForJob(job) == "completed")
        let task = try #require(try await farm.tasks(of: job).first { $0["id"]?.intValue == victim })
        #expect(task["attempts"] == 2)
        #expect(task["failures"] == 1)
        let log = try await farm.log(task: try #require(victim))
        #expect(log.contains("Blender was killed by signal 9") || log.contains("Blender ended with"), "\(log)")
        let retry = try #require(log.components(separatedBy: "--- attempt 2").last)
        #expect(retry.contains(Self.started), "the retry did not start a fresh Blender: \(retry)")
        for frame in 1...3 { #expect(OutputVerifier.problem(with: output + String(format: "/f_%04d.png", frame)) == nil) }
    }

    @Test func aColdJobOrAColdWorkerStartsBlenderForEveryTask() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("cold.blend", frames: 4)
        try farm.startServer()
        try farm.startWorker(name: "w")
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1-2", "cold": true, "output": .string(output + "/a_####")])
        #expect(await farm.waitForJob(job) == "completed")
        #expect(try await farm.job(job)?["cold"] == true)
        for task in try await farm.tasks(of: job) {
            let log = try await farm.log(task: task["id"]!.intValue!)
            #expect(log.contains("-b -noaudio \(scene) -o ") && !log.contains("warm"), "\(log)")
        }

        let coldFarm = try TestFarm()
        try coldFarm.startServer()
        try coldFarm.startWorker(name: "c", ["--cold"])
        let other = try await coldFarm.submit(["file": .string(scene), "frames": "3-4", "output": .string(output + "/b_####")])
        #expect(await coldFarm.waitForJob(other) == "completed")
        for task in try await coldFarm.tasks(of: other) {
            let log = try await coldFarm.log(task: task["id"]!.intValue!)
            #expect(log.contains("-b -noaudio \(scene) -o ") && !log.contains("warm"), "\(log)")
        }
    }
}
