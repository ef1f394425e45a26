import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// Real Blender (Debian's package) rendering scenes the tests generate, driven by real
/// `brender server` and `brender worker` processes. Serialized: each render wants the CPU.
@Suite(.serialized) struct BlenderJobTests {
    /// Waits until Blender is rendering the job's first task (its log shows a frame line).
    private func waitUntilRendering(_ farm: TestFarm, job: Int64) async throws -> Int64? {
        var active: Int64?
        let started = await eventually(timeout: 120, interval: 0.1) {
            guard let task = try await farm.tasks(of: job).first(where: { $0["status"] == "active" }), let id = task["id"]?.intValue else {
                return false
            }
            active = id
            return try await farm.log(task: id).contains("Fra:")
        }
        return started ? active : nil
    }

    @Test func twelveFrameCyclesSceneInChunksOfFiveByTwoWorkers() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("twelve.blend", frames: 12)
        try farm.startServer()
        try farm.startWorker(name: "w1")
        try farm.startWorker(name: "w2")
        #expect(await eventually { try await farm.clients().values.filter { $0["connection"] == "online" }.count == 2 })

        let output = farm.directory.appendingPathComponent("out").path
        let submitted = try farm.run(
            ["job", "submit", scene, "--frames", "1-12", "--chunk", "5", "--output", output + "/frame_#####", "--wait"], timeout: 300)
        #expect(submitted.status == 0, "submit --wait failed: \(submitted.stderr)")
        #expect(submitted.stdout.contains("job 1 completed: 12 frames in \(output)"))

        let files = try FileManager.default.contentsOfDirectory(atPath: output).sorted()
        #expect(files == (1...12).map { String(format: "frame_%05d.png", $0) })
        for file in files {
            let path = output + "/" + file
            #expect(OutputVerifier.problem(with: path) == nil, "\(file) is not a complete PNG")
            #expect(pngSize(path).map { $0 == (64, 48) } == true, "\(file) is not 64x48")
        }
        let tasks = try await farm.tasks(of: 1)
        #expect(tasks.map { $0["frames"] } == ["1-5", "6-10", "11-12"])
        #expect(tasks.allSatisfy { $0["status"] == "completed" && $0["attempts"] == 1 })
        #expect(Set(tasks.compactMap { $0["client"]?.intValue }).count == 2, "both workers should have rendered")
        let job = try #require(try await farm.job(1))
        #expect(job["frames_done"] == 12)
        #expect(try await farm.log(task: tasks[0]["id"]!.intValue!).contains("Saved: '\(output)/frame_00001.png'"))
    }

    @Test func cancelStopsARunningBlender() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("long.blend", frames: 1, samples: 3000, size: "320x240")
        try farm.startServer()
        let worker = try farm.startWorker(name: "w")
        let job = try await farm.submit(["file": .string(scene), "frames": "1", "output": .string(farm.directory.path + "/out/f_####")])
        _ = try #require(try await waitUntilRendering(farm, job: job))
        #expect(!Processes.matching(scene).isEmpty)

        let cancel = try farm.run(["job", "cancel", String(job)])
        #expect(cancel.stdout == "job \(job) canceled (now canceled)\n")
        let cancelledAt = Date()
        #expect(await eventually(timeout: 15, interval: 0.05) { Processes.matching(scene).isEmpty }, "Blender still runs after cancel")
        print("cancel: Blender gone \(String(format: "%.2f", Date().timeIntervalSince(cancelledAt))) s after the cancel was acknowledged")
        #expect(try await farm.job(job)?["status"] == "canceled")
        #expect(await eventually { try await farm.clients()["w"]?["activity"] == "idle" })
        #expect(!worker.hasExited)
    }

    @Test func aWorkerKilledMidTaskHasItsTaskRequeuedAndCompletedElsewhere() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("slow.blend", frames: 3, samples: 256, size: "160x120")
        try farm.startServer(["--worker-timeout", "2"])
        let doomed = try farm.startWorker(name: "doomed")
        #expect(await eventually { try await farm.clients()["doomed"]?["connection"] == "online" })
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1-3", "chunk": 3, "output": .string(output + "/f_####")])
        _ = try #require(try await waitUntilRendering(farm, job: job))

        #expect(Processes.matching(scene).count == 2, "Blender and the guard between it and its worker")
        doomed.send(SIGKILL)
        doomed.waitForExit(timeout: 10)
        // Its Blender does not outlive it: the guard stops it.
        #expect(await eventually(timeout: 10) { Processes.matching(scene).isEmpty }, "Blender outlived its killed worker")
        try farm.startWorker(name: "rescuer")

        #expect(await farm.waitForJob(job, toBe: ["completed", "failed"]) != nil)
        #expect(try await farm.job(job)?["status"] == "completed")
        let task = try #require(try await farm.tasks(of: job).first)
        #expect(task["attempts"] == 2)
        #expect(task["failures"] == 0, "a lost worker is not the task's failure")
        #expect(task["client"] == (try await farm.clients()["rescuer"]?["id"]))
        for frame in 1...3 {
            #expect(OutputVerifier.problem(with: output + String(format: "/f_%04d.png", frame)) == nil)
        }
    }

    @Test func aServerKilledMidJobFinishesItAfterRestartWithEveryFrameOnce() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("steady.blend", frames: 12, samples: 128)
        try farm.startServer(["--log-level", "debug", "--worker-timeout", "20"])
        try farm.startWorker(name: "w1")
        try farm.startWorker(name: "w2")
        #expect(await eventually { try await farm.clients().values.filter { $0["connection"] == "online" }.count == 2 })
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1-12", "chunk": 2, "output": .string(output + "/f_####")])
        #expect(await eventually(timeout: 120, interval: 0.05) { (try await farm.job(job)?["tasks_completed"]?.intValue ?? 0) >= 1 })

        let firstServer = try #require(farm.server)
        firstServer.send(SIGKILL)
        #expect(firstServer.waitForExit(timeout: 10) == 128 + SIGKILL)
        try await Task.sleep(for: .milliseconds(500))  // workers keep rendering while it is away
        try farm.restartServer()

        #expect(await farm.waitForJob(job) != nil)
        let finished = try #require(try await farm.job(job))
        #expect(finished["status"] == "completed")
        #expect(finished["frames_done"] == 12)
        let tasks = try await farm.tasks(of: job)
        #expect(tasks.count == 6 && tasks.allSatisfy { $0["status"] == "completed" })
        for frame in 1...12 {
            #expect(OutputVerifier.problem(with: output + String(format: "/f_%04d.png", frame)) == nil, "frame \(frame)")
        }
        // The server records one result per task, across both of its lives.
        let serverLog = firstServer.standardError + (farm.server?.standardError ?? "")
        for task in tasks {
            let id = task["id"]!.intValue!
            let completions = serverLog.split(separator: "\n").filter { $0.contains("task completed") && $0.contains("task=\(id) ") }
            #expect(completions.count == 1, "task \(id) recorded \(completions.count) times")
        }
    }

    @Test func aWorkerStoppedWithSIGTERMStopsBlenderAndHandsTheTaskBack() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("interrupted.blend", frames: 1, samples: 3000, size: "320x240")
        try farm.startServer()
        let worker = try farm.startWorker(name: "leaving")
        let job = try await farm.submit(["file": .string(scene), "frames": "1", "output": .string(farm.directory.path + "/out/f_####")])
        let taskID = try #require(try await waitUntilRendering(farm, job: job))

        worker.send(SIGTERM)
        #expect(worker.waitForExit(timeout: 20) == 0)
        #expect(Processes.matching(scene).isEmpty, "Blender outlived its worker")
        let task = try #require(try await farm.tasks(of: job).first { $0["id"]?.intValue == taskID })
        #expect(task["status"] == "queued")
        #expect(task["failures"] == 0)
        #expect(try await farm.clients()["leaving"]?["connection"] == "offline")
    }

    @Test func aBrokenBlendFailsTheJobWithBlendersErrorInTheLog() async throws {
        let farm = try TestFarm()
        let broken = farm.directory.appendingPathComponent("broken.blend").path
        _ = FileManager.default.createFile(atPath: broken, contents: Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        try farm.startServer()
        try farm.startWorker(name: "w")
        let result = try farm.run(["job", "submit", broken, "--frames", "1-2", "--chunk", "2", "--max-attempts", "2", "--wait"], timeout: 120)
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "brender: error: job 1 failed: frames 1-2 failed; task 1: Blender exited with code 1: File format is not supported in file '\(broken)'; see 'brender task log 1'"
            ))
        let log = try farm.run(["task", "log", "1"])
        #expect(log.stdout.contains("Error: File format is not supported in file '\(broken)'"))
        #expect(log.stdout.contains("--- attempt 2 of task 1"))
        #expect(try await farm.job(1)?["status"] == "failed")
    }
}
