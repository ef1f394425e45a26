import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// The production scheduling rules end to end: a real server, real workers, the real command
/// line, and (for the video) real Blender and ffmpeg.
@Suite(.serialized) struct SchedulingTests {
    private func onlineIDs(_ farm: TestFarm, count: Int) async throws -> [String: Int64] {
        #expect(await eventually { try await farm.clients().values.filter { $0["connection"] == "online" }.count == count })
        return try await farm.clients().compactMapValues { $0["id"]?.intValue }
    }

    @Test func aTaggedJobRunsOnlyOnTheTaggedWorker() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "plain")
        try farm.startWorker(name: "gpu-01", ["--tags", "gpu"])
        let ids = try await onlineIDs(farm, count: 2)
        let result = try farm.run(
            ["job", "submit", "--type", "command", "--frames", "1-8", "--tags", "gpu", "--wait", "--", "sh", "-c", "sleep 0.05"], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try await farm.tasks(of: 1).allSatisfy { $0["client"] == .int(ids["gpu-01"]!) })
        // A tag no worker has is refused at once, saying so.
        let refused = try farm.run(["job", "submit", "--type", "command", "--frames", "1", "--tags", "cuda", "--", "true"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("no client can run this job: no client has the tags cuda"))
    }

    @Test func commandJobsRunOnlyOnWorkersStartedWithAllowCommands() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let lent = try farm.startWorker(name: "lent-workstation", allowCommands: false)
        _ = try await onlineIDs(farm, count: 1)
        let refused = try farm.run(["job", "submit", "--type", "command", "--frames", "1", "--", "true"])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("no client runs command jobs: a worker runs them only when started with --allow-commands"), "\(refused.stderr)")
        try farm.startWorker(name: "farm-node")
        let ids = try await onlineIDs(farm, count: 2)
        let result = try farm.run(["job", "submit", "--type", "command", "--frames", "1-6", "--wait", "--", "sh", "-c", "sleep 0.05"], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try await farm.tasks(of: 1).allSatisfy { $0["client"] == .int(ids["farm-node"]!) })
        #expect(!lent.hasExited)
    }

    @Test func aJobAfterAnotherStartsOnlyOnceItCompletesAndNeverAfterAFailure() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "a")
        try farm.startWorker(name: "b")
        _ = try await onlineIDs(farm, count: 2)
        let first = try farm.run(["job", "submit", "--type", "command", "--frames", "1-4", "--", "sh", "-c", "sleep 0.5"])
        #expect(first.stdout == "1\n")
        let second = try farm.run(["job", "submit", "--type", "command", "--frames", "1-4", "--after", "1", "--wait", "--", "true"], timeout: 120)
        #expect(second.status == 0, "\(second.stderr)")
        let firstEnded = try await farm.tasks(of: 1).compactMap { $0["finished_at"]?.stringValue.flatMap(Timestamp.parse) }.max()!
        let secondStarted = try await farm.tasks(of: 2).compactMap { $0["started_at"]?.stringValue.flatMap(Timestamp.parse) }.min()!
        #expect(secondStarted >= firstEnded)

        let failing = try farm.run([
            "job", "submit", "--type", "command", "--frames", "1", "--max-attempts", "1", "--", "sh", "-c", "sleep 0.5; exit 1",
        ])
        let failingID = Int64(failing.stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
        let dependent = try farm.run(
            ["job", "submit", "--type", "command", "--frames", "1-3", "--after", String(failingID), "--wait", "--", "true"], timeout: 120)
        #expect(dependent.status == 1)
        #expect(dependent.stderr.contains("failed: job \(failingID), which it waits for, failed"), "\(dependent.stderr)")
        let dependentID = failingID + 1
        #expect(try await farm.tasks(of: dependentID).allSatisfy { $0["status"] == "canceled" && $0["attempts"] == 0 })
        let shown = try farm.run(["job", "show", String(dependentID)])
        #expect(shown.stdout.contains("reason:              job \(failingID), which it waits for, failed"))
    }

    @Test func aTaskThatAlwaysFailsIsTriedOnBothWorkersThenFailsTheJobWithItsLogAndBlocklist() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "a")
        try farm.startWorker(name: "b")
        _ = try await onlineIDs(farm, count: 2)
        let result = try farm.run(
            [
                "job", "submit", "--type", "command", "--frames", "1-4", "--max-attempts", "2", "--blocklist-threshold", "2", "--wait", "--",
                "sh", "-c", "echo cannot render frame {frame}; exit 3",
            ], timeout: 120)
        #expect(result.status == 1)
        #expect(result.stderr.contains("brender: error: job 1 failed"), "\(result.stderr)")
        let tasks = try await farm.tasks(of: 1)
        #expect(tasks.allSatisfy { $0["status"] != "queued" && $0["status"] != "active" }, "no open task in a finished job")
        let tried = try #require(tasks.first { $0["status"] == "failed" })
        #expect(tried["attempts"] == 2)
        let log = try await farm.log(task: tried["id"]!.intValue!)
        #expect(log.contains("cannot render frame"))
        #expect(log.contains("--- attempt 2 of task"))
        let shown = try farm.run(["job", "show", "1"])
        #expect(shown.stdout.contains("blocklist:"), "\(shown.stdout)")
        #expect(shown.stdout.contains("failed_frames:"))
        // Clearing the blocklist and requeueing runs only the failed frames again.
        let requeued = try farm.run(["job", "requeue", "1", "--clear-blocklist"])
        #expect(requeued.stdout.hasPrefix("job 1: blocklist cleared\n"), "\(requeued.stdout)")
        #expect(await farm.waitForJob(1) == "failed")
    }

    @Test func aHungTaskIsStoppedByItsTimeLimit() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try farm.startWorker(name: "patient")
        let marker = "sleep 62.\(getpid() % 1000)"  // a command line no other test runs
        let start = Timestamp.now
        let result = try farm.run(
            [
                "job", "submit", "--type", "command", "--frames", "1", "--max-attempts", "1", "--task-timeout", "2", "--wait", "--", "sh", "-c",
                "echo started; \(marker)",
            ], timeout: 120)
        #expect(result.status == 1)
        #expect(result.stderr.contains("past the job's task time limit (--task-timeout 2)"), "\(result.stderr)")
        #expect(Timestamp.now - start < 60)
        #expect(await eventually(timeout: 15) { Processes.matching(marker).isEmpty }, "the process was stopped on its worker")
        #expect(!worker.hasExited)
    }

    @Test func aVideoJobMakesAnMP4WithEveryFrame() async throws {
        let farm = try TestFarm()
        // Odd dimensions: H.264 in yuv420p needs even ones, so the encoder rounds them.
        let scene = try farm.makeScene("clip.blend", frames: 6, samples: 1, size: "65x49")
        try farm.startServer()
        try farm.startWorker(name: "w")
        let video = farm.directory.appendingPathComponent("out/clip.mp4").path
        let result = try farm.run(
            ["job", "submit", scene, "--frames", "1-6", "--chunk", "3", "--format", "PNG", "--video", video, "--fps", "12", "--wait"],
            timeout: 300)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("; video \(video)"), "\(result.stdout)")
        let probe = try farm.runTool(
            "ffprobe",
            [
                "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames,width,height,codec_name,pix_fmt",
                "-of", "default=noprint_wrappers=1", video,
            ])
        #expect(probe.contains("nb_read_frames=6"), "\(probe)")
        #expect(probe.contains("codec_name=h264") && probe.contains("pix_fmt=yuv420p"))
        #expect(probe.contains("width=64") && probe.contains("height=48"))
        let videoTask = try #require(try await farm.tasks(of: 1).first { $0["role"] == "video" })
        #expect(videoTask["status"] == "completed")
        #expect(try await farm.log(task: videoTask["id"]!.intValue!).contains("verified with ffprobe"))
    }

    @Test func withoutFramesTheScenesOwnRangeAndFormatAreRenderedAndSaidWhereTheyCameFrom() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("own-range.blend", frames: 3, samples: 1)
        try farm.startServer()
        try farm.startWorker(name: "w")
        let result = try farm.run(["job", "submit", scene, "--wait"], timeout: 300)
        #expect(result.status == 0, "\(result.stderr)")
        let job = try #require(try await farm.job(1))
        #expect(job["frames"] == "1-3" && job["format"] == "PNG" && job["frames_done"] == 3)
        #expect(job["settings_from"]?.stringValue?.hasPrefix("scene 'Scene' (frames 1-3, format PNG, read by Blender") == true, "\(job)")
        // With frames given and no Blender here to read the format, PNG is used and so noted.
        let fallback = try farm.run(["job", "submit", scene, "--frames", "1", "--blender", "/nonexistent/blender"])
        #expect(fallback.status == 0, "\(fallback.stderr)")
        #expect(try await farm.job(2)?["settings_from"] == "submitted; format PNG (Blender could not read the scene here)")
        // With neither, the submission says what to do.
        let refused = try farm.run(["job", "submit", scene, "--blender", "/nonexistent/blender"])
        #expect(refused.status == 1 && refused.stderr.contains("give --frames, or --blender PATH"), "\(refused.stderr)")
    }

    @Test func aVideoWithAMissingFrameFailsNamingIt() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("gap.blend", frames: 3, samples: 1)
        try farm.startServer()
        let output = farm.directory.appendingPathComponent("gap").path
        // Submitted before any worker: the renders go to one without ffmpeg, so the video waits.
        let id = try await farm.submit([
            "file": .string(scene), "frames": "1-3", "format": "PNG", "output": .string(output + "/f_####"), "max_attempts": 1,
            "video": ["path": .string(output + "/gap.mp4")],
        ])
        try farm.startWorker(name: "renderer", ["--ffmpeg", "/nonexistent/ffmpeg"])
        #expect(await eventually(timeout: 120) { try await farm.job(id)?["frames_done"] == 3 })
        try FileManager.default.removeItem(atPath: output + "/f_0002.png")
        try farm.startWorker(name: "encoder")
        #expect(await farm.waitForJob(id) == "failed")
        let videoTask = try #require(try await farm.tasks(of: id).first { $0["role"] == "video" })
        #expect(videoTask["error"]?.stringValue?.hasPrefix("frames 2 are missing, so the video would have gaps") == true, "\(videoTask)")
        #expect(!FileManager.default.fileExists(atPath: output + "/gap.mp4"))
    }
}

extension TestFarm {
    /// Runs a tool such as ffprobe and returns its standard output.
    func runTool(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
