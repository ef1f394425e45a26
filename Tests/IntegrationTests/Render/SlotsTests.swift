import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// Workers that run several tasks at once: `--slots N`, and `--gpus` with one slot per GPU,
/// each Blender pinned to its GPU. This machine has no GPU: the pinning is checked with a
/// stand-in `blender` that records what it was started with, and the fallback to the CPU with
/// real Blender, whose Cycles finds no CUDA device here.
@Suite(.serialized) struct SlotsTests {
    /// One stand-in invocation, as it recorded itself.
    struct Invocation {
        let arguments: [String]
        let cuda: String?
        let hip: String?
        let home: String?
        let tmpdir: String?
        let start: Double
        let end: Double
    }

    /// A stand-in `blender` (Python): says it is 3.4.1, prints what brender's device check
    /// prints on a machine with the GPU it was pinned to (GPU 9 is "broken": no device, as Cycles
    /// says then), takes `seconds` a frame, writes a real PNG per frame with Blender's `Saved:`
    /// line, and appends how it was started to `record`. While the file `hold` exists (for at
    /// most 120 s), it waits before rendering: a test holds renders to look at the farm while
    /// they run, however slow the machine.
    private func standIn(in farm: TestFarm, record: String, hold: String, seconds: Double) throws -> String {
        let path = farm.directory.appendingPathComponent("stand-in/blender").path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let script = #"""
            #!/usr/bin/env python3
            import json, os, struct, sys, time, zlib
            args = sys.argv[1:]
            if args[:1] == ["--version"]:
                print("Blender 3.4.1")
                sys.exit(0)
            own, cycles = (args[:args.index("--")], args[args.index("--") + 1:]) if "--" in args else (args, [])
            def value(flag):
                return own[own.index(flag) + 1] if flag in own else None
            def frames(spec):
                out = []
                for part in spec.split(","):
                    if ".." in part:
                        first, last = part.split("..")
                        out += range(int(first), int(last) + 1)
                    else:
                        out.append(int(part))
                return out
            def png():
                def chunk(kind, data):
                    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
                header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
                return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
            start = time.time()
            gpu = os.environ.get("CUDA_VISIBLE_DEVICES")
            print("Blender 3.4.1 (stand-in)", flush=True)
            rendering = True
            if "--cycles-device" in cycles:
                kind = cycles[cycles.index("--cycles-device") + 1]
                if gpu == "9":
                    print('BRENDER-DEVICE cpu "Cycles found no %s device (CUDA_VISIBLE_DEVICES=%s)"' % (kind, gpu), flush=True)
                    print("Error: Found no Cycles device of the specified type", flush=True)
                    rendering = False
                else:
                    print('BRENDER-DEVICE gpu "%s: Stand-in GPU %s"' % (kind, gpu), flush=True)
            while rendering and os.path.exists("\#(hold)") and time.time() - start < 120:
                time.sleep(0.05)
            if rendering:
                for frame in frames(value("-f")):
                    print("Fra:%d Mem:1M | Time:00:00.00 | Sample 1/1" % frame, flush=True)
                    time.sleep(\#(seconds))
                    path = value("-o").replace("####", "%04d" % frame) + ".png"
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "wb") as image:
                        image.write(png())
                    print("Saved: '%s'" % path, flush=True)
            record = {"argv": args, "cuda": gpu, "hip": os.environ.get("HIP_VISIBLE_DEVICES"), "home": os.environ.get("HOME"),
                      "tmpdir": os.environ.get("TMPDIR"), "start": start, "end": time.time()}
            with open("\#(record)", "a") as log:
                log.write(json.dumps(record) + "\n")
            print("Blender quit", flush=True)
            """#
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    private func invocations(_ record: String) throws -> [Invocation] {
        let text = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            let json = try JSONValue.parse(Data(line.utf8))
            return Invocation(
                arguments: json["argv"]?.arrayValue?.compactMap(\.stringValue) ?? [], cuda: json["cuda"]?.stringValue,
                hip: json["hip"]?.stringValue, home: json["home"]?.stringValue, tmpdir: json["tmpdir"]?.stringValue,
                start: json["start"]?.doubleValue ?? 0, end: json["end"]?.doubleValue ?? 0)
        }
    }

    /// A farm with its server started, the stand-in `blender`, the file its jobs name (the
    /// stand-in does not read it), where the stand-in records its invocations, and the file
    /// that holds its renders while it exists.
    private func standInFarm(seconds: Double) throws -> (farm: TestFarm, blender: String, scene: String, record: String, hold: String) {
        let farm = try TestFarm()
        let record = farm.directory.appendingPathComponent("invocations.jsonl").path
        let hold = farm.directory.appendingPathComponent("hold-renders").path
        let blender = try standIn(in: farm, record: record, hold: hold, seconds: seconds)
        let scene = farm.directory.appendingPathComponent("scene.blend").path
        try Data("BLENDER-stand-in".utf8).write(to: URL(fileURLWithPath: scene))
        try farm.startServer()
        return (farm, blender, scene, record, hold)
    }

    @Test func gpuSlotsRenderAtOnceEachPinnedToItsGPUAndTheClientShowsOnce() async throws {
        let (farm, blender, scene, record, hold) = try standInFarm(seconds: 1)
        try farm.startWorker(name: "gpu-node", ["--blender", blender, "--cold", "--gpus", "0,1", "--threads", "4"])
        #expect(await eventually { try await farm.clients()["gpu-node"]?["slots"] == 2 })

        // The first two renders are held until the client has been seen running both: on a
        // loaded machine a render may otherwise end before a look at the farm comes round.
        #expect(FileManager.default.createFile(atPath: hold, contents: nil))
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1-4", "output": .string(output + "/f_####")])
        #expect(await eventually(timeout: 60) { try await farm.clients()["gpu-node"]?["slots_busy"] == 2 })
        let list = try farm.run(["client", "list"])
        let rows = list.stdout.split(separator: "\n").filter { $0.contains("gpu-node") }
        #expect(rows.count == 1, "the client shows once: \(list.stdout)")
        #expect(rows.first?.contains("busy      2/2") == true, "\(list.stdout)")
        let shown = try farm.run(["client", "show", "gpu-node"]).stdout.split(separator: "\n")
        #expect(shown.contains("slots:         2"), "\(shown)")
        #expect(shown.contains { $0.hasPrefix("tasks:         ") && $0.split(separator: ",").count == 2 }, "both running tasks: \(shown)")
        try FileManager.default.removeItem(atPath: hold)

        #expect(await farm.waitForJob(job, timeout: 120) == "completed")
        let runs = try invocations(record)
        #expect(runs.count == 4)
        #expect(Set(runs.compactMap(\.cuda)) == ["0", "1"], "both GPUs rendered")
        for run in runs {
            #expect(run.hip == run.cuda, "HIP_VISIBLE_DEVICES pins the same GPU")
            #expect(run.arguments.suffix(3) == ["--", "--cycles-device", "CUDA"], "\(run.arguments)")
            #expect(run.arguments.contains("-t") && run.arguments[run.arguments.firstIndex(of: "-t")! + 1] == "2", "4 threads over 2 slots")
            let check = try #require(run.arguments.firstIndex(of: "--python"))
            #expect(check < run.arguments.firstIndex(of: "-f")!, "the device check runs before the render")
            #expect(run.home != nil && run.home == run.tmpdir && run.home != ProcessInfo.processInfo.environment["HOME"])
        }
        #expect(Set(runs.compactMap(\.home)).count == 4, "each Blender has its own home and temporary folder")
        // Two renders overlapped in time, one on each GPU.
        let overlapping = runs.contains { one in
            runs.contains { other in other.cuda != one.cuda && other.start < one.end && one.start < other.end }
        }
        #expect(overlapping, "\(runs.map { ($0.cuda ?? "-", $0.start, $0.end) })")
        for frame in 1...4 {
            #expect(OutputVerifier.problem(with: output + String(format: "/f_%04d.png", frame)) == nil)
        }
        for task in try await farm.tasks(of: job) {
            let log = try await farm.log(task: task["id"]!.intValue!)
            let frames = try #require(task["frames"]?.stringValue)
            let gpu = try #require(runs.first { $0.arguments[$0.arguments.firstIndex(of: "-f")! + 1] == frames }?.cuda)
            #expect(
                log.contains("[brender] slot \(gpu) (GPU \(gpu), CUDA, 2 threads): CUDA_VISIBLE_DEVICES=\(gpu) HIP_VISIBLE_DEVICES=\(gpu)"), "\(log)")
            #expect(log.contains(#"BRENDER-DEVICE gpu "CUDA: Stand-in GPU \#(gpu)""#), "\(log)")
        }
        #expect(await eventually { try await farm.clients()["gpu-node"]?["slots_busy"] == 0 })
    }

    @Test func aTaskThatWouldFallBackToTheCPUFailsSayingSo() async throws {
        let (farm, blender, scene, _, _) = try standInFarm(seconds: 0.1)
        try farm.startWorker(name: "broken", ["--blender", blender, "--cold", "--gpus", "9"])
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1", "max_attempts": 1, "output": .string(output + "/f_####")])
        #expect(await farm.waitForJob(job, timeout: 60) == "failed")
        let error = try #require(try await farm.tasks(of: job).first?["error"]?.stringValue)
        #expect(error.contains("Cycles fell back to the CPU instead of rendering on GPU 9 (CUDA with CUDA_VISIBLE_DEVICES=9)"), "\(error)")
        #expect(error.contains("Cycles found no CUDA device (CUDA_VISIBLE_DEVICES=9)"), "\(error)")
    }

    @Test func realBlenderWithoutTheGPUFailsTheTaskInsteadOfRenderingOnTheCPUWarmOrCold() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("gpu.blend", frames: 2)
        try farm.startServer()
        try farm.startWorker(name: "no-gpu", ["--gpus", "0"])
        let output = farm.directory.appendingPathComponent("out").path
        for (index, cold) in [false, true].enumerated() {
            let job = try await farm.submit([
                "file": .string(scene), "frames": .string(String(index + 1)), "max_attempts": 1, "cold": .bool(cold),
                "output": .string(output + "/f_####"),
            ])
            #expect(await farm.waitForJob(job) == "failed", cold ? "cold" : "warm")
            let task = try #require(try await farm.tasks(of: job).first)
            let error = task["error"]?.stringValue ?? ""
            #expect(error.contains("Cycles fell back to the CPU instead of rendering on GPU 0 (CUDA"), "\(cold ? "cold" : "warm"): \(error)")
            #expect(error.contains("Cycles found no CUDA device (CUDA_VISIBLE_DEVICES=0"), "\(error)")
            let log = try await farm.log(task: task["id"]!.intValue!)
            #expect(log.contains(#"BRENDER-DEVICE cpu "Cycles found no CUDA device"#), "\(log)")
            #expect(!FileManager.default.fileExists(atPath: output + String(format: "/f_%04d.png", index + 1)), "nothing rendered on the CPU")
        }
    }

    @Test func twoSlotsRenderAJobInTwoWarmBlendersAtOnce() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("slots.blend", frames: 6)
        try farm.startServer()
        try farm.startWorker(name: "two", ["--slots", "2"])
        #expect(await eventually { try await farm.clients()["two"]?["slots"] == 2 })
        let output = farm.directory.appendingPathComponent("out").path
        let job = try await farm.submit(["file": .string(scene), "frames": "1-6", "output": .string(output + "/f_####")])
        #expect(await farm.waitForJob(job) == "completed")
        for frame in 1...6 {
            #expect(pngSize(output + String(format: "/f_%04d.png", frame)).map { $0 == (64, 48) } == true, "frame \(frame)")
        }
        var logs: [String] = []
        for task in try await farm.tasks(of: job) { logs.append(try await farm.log(task: task["id"]!.intValue!)) }
        // Each slot started its own Blender (one thread each on this machine's two cores), and
        // every other task ran in one of them.
        let started = logs.filter { $0.contains("kept loaded for the job's next tasks") }
        #expect(started.count == 2, "\(logs)")
        #expect(started.contains { $0.contains("[brender] slot 0 (") } && started.contains { $0.contains("[brender] slot 1 (") }, "\(started)")
        #expect(started.allSatisfy { $0.contains(" -t ") }, "\(started)")
        #expect(logs.filter { $0.contains("rendering in the warm Blender that has") }.count == 4, "\(logs)")
    }

    @Test func theSlotAndTheWarmJobTravelWithARequestForWork() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try await SimulatedWorkerSession.register("sim", slots: 2, on: farm)
        let older = try await farm.submit(["type": "command", "argv": ["true"], "frames": "1-2"])
        let warm = try await farm.submit(["type": "command", "argv": ["true"], "frames": "1-2"])
        #expect(try await worker.takeTask(wait: 0, warmJob: warm, slot: 1)?.jobID == warm, "the warm job first among equals")
        #expect(try await worker.takeTask(wait: 0, slot: 0)?.jobID == older)
        #expect(try await farm.clients()["sim"]?["slots_busy"] == 2)
        await #expect {
            try await worker.takeTask(wait: 0, slot: 2)
        } throws: { error in
            if case .refused(400, _, _, "slot")? = error as? ClientError { return true }
            return false
        }
    }

    @Test func slotOptionsThatCannotWorkAreUsageErrors() throws {
        let farm = try TestFarm()
        for (arguments, message) in [
            (["--slots", "2", "--gpus", "0"], "--slots and --gpus both set the slots"),
            (["--cycles-device", "HIP"], "--cycles-device applies to the GPUs of --gpus"),
            (["--gpus", "0,,1"], "--gpus has an invalid GPU ''"),
            (["--slots", "0"], "--slots"),
            (["--gpus", "0", "--cycles-device", "METAL"], "--cycles-device"),
        ] {
            let result = try farm.run(["worker", "--server", "http://127.0.0.1:9"] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}
