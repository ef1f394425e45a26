import BrenderKit
import BrenderTesting
import Foundation

/// Scenarios with real Blender (Debian's package) and the scene `brender demo-scene` makes.
enum BlenderScenarios {
    /// One worker renders `frames` frames at chunk 1, Blender started for every task (`--cold`)
    /// and kept warm, against one Blender rendering the same frames in a single Python loop;
    /// with short frames (16 samples, about 0.2 s here) and long ones (about 2 s).
    static func warm(frames: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        var figures: [String: JSONValue] = ["frames": .int(Int64(frames))]
        for (label, samples) in [("short", 16), ("long", 200)] {
            let farm = try TestFarm()
            let scene = try farm.makeScene("bench-\(label).blend", frames: frames, samples: samples, size: "320x240")
            let loop = try oneBlenderLoop(scene: scene, frames: frames, output: farm.directory.appendingPathComponent("loop").path, in: farm)
            try farm.startServer(["--log-level", "warning"])
            var seconds: [String: Double] = ["loop": loop]
            for mode in ["cold", "warm"] {
                seconds[mode] = try await timeJob(
                    on: farm, worker: "\(mode)-\(label)", mode == "cold" ? ["--cold"] : [], scene: scene, frames: frames)
            }
            let (cold, warm) = (seconds["cold"]!, seconds["warm"]!)
            log(
                "\(label) frames (\(samples) samples, 320x240), \(frames) at chunk 1 on one worker: cold \(formatDuration(cold)) (\(formatDuration(cold / Double(frames))) a task), warm \(formatDuration(warm)) (\(formatDuration(warm / Double(frames))) a task), one Blender in a Python loop \(formatDuration(loop)); warm / loop = \(String(format: "%.2f", warm / loop)), cold / warm = \(String(format: "%.1f", cold / warm))"
            )
            for (mode, value) in seconds { figures["\(label)_\(mode)_seconds"] = .double(value) }
            figures["\(label)_warm_over_loop"] = .double(warm / loop)
        }
        return figures
    }

    /// One worker renders `frames` frames at chunk 1 warm, with one slot (Blender's own threads)
    /// and with two (half the cores each), with short frames (16 samples) and long ones (200).
    static func slots(frames: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        var figures: [String: JSONValue] = ["frames": .int(Int64(frames)), "cores": .int(Int64(ProcessInfo.processInfo.activeProcessorCount))]
        for (label, samples) in [("short", 16), ("long", 200)] {
            let farm = try TestFarm()
            let scene = try farm.makeScene("bench-\(label).blend", frames: frames, samples: samples, size: "320x240")
            try farm.startServer(["--log-level", "warning"])
            var seconds: [Int: Double] = [:]
            for slots in [1, 2] {
                seconds[slots] = try await timeJob(
                    on: farm, worker: "slots-\(slots)-\(label)", ["--slots", String(slots)], scene: scene, frames: frames)
            }
            let (one, two) = (seconds[1]!, seconds[2]!)
            log(
                "\(label) frames (\(samples) samples, 320x240), \(frames) at chunk 1, warm, one worker: 1 slot \(formatDuration(one)) (\(formatDuration(one / Double(frames))) a frame), 2 slots \(formatDuration(two)) (\(formatDuration(two / Double(frames))) a frame); 2 slots / 1 slot throughput = \(String(format: "%.2f", one / two))x"
            )
            figures["\(label)_one_slot_seconds"] = .double(one)
            figures["\(label)_two_slots_seconds"] = .double(two)
            figures["\(label)_speedup"] = .double(one / two)
        }
        return figures
    }

    /// Starts a worker named `name` with `arguments`, times one job of frames 1...`frames` of
    /// `scene` at chunk 1 on it, from submission to completion, and stops the worker.
    static func timeJob(on farm: TestFarm, worker name: String, _ arguments: [String], scene: String, frames: Int) async throws -> Double {
        let worker = try farm.startWorker(name: name, ["--log-level", "warning"] + arguments)
        defer {
            worker.send(SIGTERM)
            worker.waitForExit(timeout: 30)
        }
        guard await eventually(timeout: 60, { try await farm.clients()[name]?["connection"] == "online" }) else {
            throw CommandFailure("the worker \(name) did not come online")
        }
        let start = monotonicSeconds()
        let job = try await farm.submit([
            "file": .string(scene), "frames": .string("1-\(frames)"),
            "output": .string(farm.directory.appendingPathComponent(name).path + "/f_####"),
        ])
        guard await eventually(timeout: 3600, interval: 0.02, { try await farm.job(job)?["status"] == "completed" }) else {
            throw CommandFailure("the job on worker \(name) did not complete")
        }
        return monotonicSeconds() - start
    }

    /// One Blender rendering frames 1...`frames` of `scene` in one Python loop: the floor a farm's
    /// per-task cost is measured against. Returns the wall time of the whole process.
    static func oneBlenderLoop(scene: String, frames: Int, output: String, in farm: TestFarm) throws -> Double {
        let script = """
            import bpy
            scene = bpy.context.scene
            for frame in range(1, \(frames) + 1):
                scene.frame_set(frame)
                scene.render.filepath = "\(output)/f_%04d.png" % frame
                bpy.ops.render.render(write_still=True)
            """
        let start = monotonicSeconds()
        let result = try ChildProcess.run(
            "/usr/bin/env", ["blender", "-b", "-noaudio", scene, "--python-expr", script], logDirectory: farm.directory, name: "blender-loop",
            timeout: 3600)
        guard result.status == 0 else { throw CommandFailure("the one-Blender loop failed: \(result.stderr.suffix(500))") }
        return monotonicSeconds() - start
    }

    /// 4 real workers and 4 jobs of 4 different files, all of one priority: the share of tasks
    /// that ran in a Blender that already had their file loaded (read from each task's log).
    static func warmShare(framesPerJob: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        var scenes: [String] = []
        for index in 0..<4 { scenes.append(try farm.makeScene("share-\(index).blend", frames: framesPerJob, size: "64x48")) }
        try farm.startServer(["--log-level", "warning"])
        for index in 0..<4 { try farm.startWorker(name: "w\(index)", ["--log-level", "warning"]) }
        guard await eventually(timeout: 60, { try await farm.clients().values.filter { $0["connection"] == "online" }.count == 4 }) else {
            throw CommandFailure("the workers did not come online")
        }
        var jobs: [Int64] = []
        for (index, scene) in scenes.enumerated() {
            jobs.append(
                try await farm.submit([
                    "file": .string(scene), "frames": .string("1-\(framesPerJob)"),
                    "output": .string(farm.directory.appendingPathComponent("job\(index)").path + "/f_####"),
                ]))
        }
        for job in jobs {
            guard await eventually(timeout: 3600, interval: 0.1, { try await farm.job(job)?["status"] == "completed" }) else {
                throw CommandFailure("job \(job) did not complete")
            }
        }
        var warm = 0
        var total = 0
        for job in jobs {
            for task in try await farm.tasks(of: job) {
                total += 1
                if try await farm.log(task: task["id"]!.intValue!).contains("rendering in the warm Blender") { warm += 1 }
            }
        }
        let share = Double(warm) / Double(max(1, total))
        log("4 workers, 4 jobs of 4 files, \(total) tasks: \(warm) ran warm (\(String(format: "%.0f", share * 100)) %)")
        return ["tasks": .int(Int64(total)), "warm_tasks": .int(Int64(warm)), "warm_share": .double(share)]
    }

    /// One worker renders `tasks` one-frame tasks warm (its Blender replaced every 200 tasks),
    /// then cold: the largest resident memory any of its Blender processes reached, sampled twice
    /// a second from /proc. Warm must grow no further than cold.
    static func warmMemory(tasks: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        let scene = try farm.makeScene("memory.blend", frames: tasks, samples: 4, size: "64x48")
        try farm.startServer(["--log-level", "warning"])
        var figures: [String: JSONValue] = ["tasks": .int(Int64(tasks))]
        for mode in ["warm", "cold"] {
            let count = mode == "warm" ? tasks : min(tasks, 30)
            let worker = try farm.startWorker(name: mode, ["--log-level", "warning"] + (mode == "cold" ? ["--cold"] : []))
            guard await eventually(timeout: 60, { try await farm.clients()[mode]?["connection"] == "online" }) else {
                throw CommandFailure("the \(mode) worker did not come online")
            }
            let job = try await farm.submit([
                "file": .string(scene), "frames": .string("1-\(count)"),
                "output": .string(farm.directory.appendingPathComponent(mode).path + "/f_####"),
            ])
            var peak = 0
            var samples: [(Int, Int)] = []  // (frames done, RSS) for the warm run's growth
            while try await farm.job(job)?["status"] != "completed" {
                // One reading per sample, so the peak and the per-stage figures agree.
                let resident = Processes.matching(scene).map(residentKilobytes).max() ?? 0
                peak = max(peak, resident)
                if mode == "warm", let done = try await farm.job(job)?["frames_done"]?.intValue { samples.append((Int(done), resident)) }
                try await Task.sleep(for: .milliseconds(500))
            }
            worker.send(SIGTERM)
            worker.waitForExit(timeout: 30)
            figures["\(mode)_peak_rss_mb"] = .double(Double(peak) / 1024)
            if mode == "warm" {
                let firstHundred = samples.filter { $0.0 <= 100 }.map(\.1).max() ?? 0
                let lastHundred = samples.filter { $0.0 >= count - 100 }.map(\.1).max() ?? 0
                figures["warm_rss_first_100_tasks_mb"] = .double(Double(firstHundred) / 1024)
                figures["warm_rss_last_100_tasks_mb"] = .double(Double(lastHundred) / 1024)
                log(
                    "warm: \(count) one-frame tasks, Blender's resident memory at most \(peak / 1024) MB (\(firstHundred / 1024) MB in the first 100 tasks, \(lastHundred / 1024) MB in the last 100)"
                )
            } else {
                log("cold: \(count) one-frame tasks, each Blender's resident memory at most \(peak / 1024) MB")
            }
        }
        return figures
    }

    /// VmRSS of a process in kB (0 when it is gone).
    static func residentKilobytes(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
}
