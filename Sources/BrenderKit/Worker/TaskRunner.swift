import FarmCore
import Foundation
import Logging
import Synchronization

/// How one attempt at a task ended, as the worker reports it.
public struct TaskOutcome: Sendable, Equatable {
    public var state: WorkerProtocol.TaskState
    public var error: String?
}

/// Runs one task on this node: Blender for a blender job, the argv for a command job.
///
/// A Blender frame counts only when its file exists, is non-empty and complete; an `Error:` line
/// fails the task even when Blender exits 0 (it often does).
struct TaskRunner: Sendable {
    let blender: String
    let logger: Logger
    /// Where private per-task temporary folders are made.
    let scratchDirectory: URL
    /// Where running process groups are recorded (nil: not recorded).
    var groups: WorkerStateDirectory? = nil
    /// ffmpeg for video tasks (nil: not found on this node).
    var video: VideoEncoder? = nil
    /// Whether command jobs may run here (`--allow-commands`).
    var allowCommands: Bool = false
    /// Makes and sends a preview of each verified frame (nil: this node has no ffmpeg).
    var previews: FramePreviewMaker? = nil
    /// The Blender kept warm between tasks (nil: every task starts its own, `--cold`).
    var warm: WarmBlender? = nil
    /// The slot that runs the task: its CPU threads and GPU.
    var slot = RenderSlot(index: 0)
    /// The path of ``BlenderDeviceCheck/script``, for a slot with a GPU.
    var deviceCheck: String? = nil

    func run(_ assignment: WorkerProtocol.Assignment, reporter: TaskReporter, stop: StopSignal) async -> TaskOutcome {
        let scratch = scratchDirectory.appendingPathComponent("brender-task-\(assignment.taskID)-\(assignment.lease)-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        } catch {
            return TaskOutcome(state: .failed, error: "cannot create a temporary folder \(scratch.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outcome: TaskOutcome
        switch (assignment.role, assignment.kind) {
        case (.video, _):
            guard var encoder = video else {
                return TaskOutcome(state: .failed, error: "this worker has no ffmpeg for the video task; install ffmpeg or give --ffmpeg PATH")
            }
            encoder.groups = groups
            outcome = await encoder.run(assignment, reporter: reporter, stop: stop, scratch: scratch)
        case (.render, .blender):
            if let warm, !assignment.cold,
                let key = WarmBlenderProcess.Key(
                    blender: blender, file: assignment.file, scene: assignment.scene, allowScripts: assignment.allowScripts)
            {
                outcome = await runWarm(assignment, key: key, warm: warm, reporter: reporter, stop: stop)
            } else {
                outcome = await runBlender(assignment, reporter: reporter, stop: stop, scratch: scratch)
            }
        case (.render, .command):
            // The server gives command tasks only to workers that allow them; this is the node's own word.
            guard allowCommands else {
                return TaskOutcome(state: .failed, error: "this worker does not run command jobs; start it with --allow-commands to let it")
            }
            outcome = await runCommand(assignment, reporter: reporter, stop: stop, scratch: scratch)
        }
        if await reporter.stoppedAsHung {
            // A hung process is this attempt's failure: retried elsewhere like any other.
            return TaskOutcome(state: .failed, error: "\(stop.reason ?? "no output"); stopped as hung (worker --silence-timeout)")
        }
        if stop.isStopped {
            return TaskOutcome(state: .released, error: stop.reason)
        }
        return outcome
    }

    private func runBlender(_ assignment: WorkerProtocol.Assignment, reporter: TaskReporter, stop: StopSignal, scratch: URL) async
        -> TaskOutcome
    {
        let frames = RenderedFrames(assignment, slot: slot, deviceCheck: deviceCheck, reporter: reporter, previews: previews)
        let invocation = frames.invocation
        let errors = frames.errors
        await logSlot(reporter)
        await reporter.log("[brender] \(blender) \(invocation.arguments.joined(separator: " "))")
        let exit: ProcessExit
        do {
            var environment = slot.environment.merging(["TMPDIR": scratch.path, "HOME": scratch.path]) { $1 }
            let home = ProcessInfo.processInfo.environment["HOME"] ?? NSTemporaryDirectory()
            environment["XDG_CACHE_HOME"] = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? home + "/.cache"
            exit = try await ProcessRunner.run(
                blender, arguments: invocation.arguments, environment: environment, stop: stop, guarded: true, groups: groups
            ) { line in
                await frames.read(line)
            }
        } catch {
            return TaskOutcome(state: .failed, error: "cannot run Blender '\(blender)': \(error); install it or pass --blender PATH")
        }
        await reporter.log("[brender] Blender ended with \(exit)")
        if let why = frames.fallback.first {
            return TaskOutcome(state: .failed, error: slot.cpuFallback(why))
        }
        if case .exited(let code) = exit, code != 0 {
            return TaskOutcome(state: .failed, error: "Blender exited with code \(code)" + (errors.first.map { ": \($0)" } ?? ""))
        }
        if case .signaled(let signal) = exit {
            return TaskOutcome(state: .failed, error: "Blender was killed by signal \(signal)")
        }
        if let first = errors.first {
            return TaskOutcome(state: .failed, error: "Blender reported an error: \(first)")
        }
        if let problem = await frames.verifyAll() { return TaskOutcome(state: .failed, error: problem) }
        return TaskOutcome(state: .completed, error: nil)
    }

    /// Renders a task in the warm Blender that has its file loaded (started for it when none
    /// has). The same checks as the cold path: every frame's file verified, an `Error:` line
    /// fails the task. A stop kills the process; a failure, an error or a process that ended
    /// retires it, so the next task starts a fresh one.
    private func runWarm(
        _ assignment: WorkerProtocol.Assignment, key: WarmBlenderProcess.Key, warm: WarmBlender, reporter: TaskReporter, stop: StopSignal
    ) async -> TaskOutcome {
        let rendered = RenderedFrames(assignment, slot: slot, deviceCheck: deviceCheck, reporter: reporter, previews: previews)
        let invocation = rendered.invocation
        let process: WarmBlenderProcess
        let wasWarm: Bool
        do {
            (process, wasWarm) = try await warm.process(for: key, jobID: assignment.jobID)
        } catch {
            return TaskOutcome(state: .failed, error: "cannot run Blender '\(blender)': \(error); install it or pass --blender PATH")
        }
        await logSlot(reporter)
        await reporter.log(
            wasWarm
                ? "[brender] rendering in the warm Blender that has \(key.file) loaded (task \(process.served + 1) of its tasks)"
                : "[brender] \(blender) \(process.shownArguments): kept loaded for the job's next tasks"
        )
        let frames = assignment.chunk.frames.map { frame -> JSONValue in [.int(Int64(frame)), .string(invocation.expectedFiles[frame]!)] }
        process.send([
            "task": .int(assignment.taskID), "scene": assignment.scene.map(JSONValue.string) ?? .null, "format": .string(assignment.format),
            "frames": .array(frames),
        ])
        let errors = rendered.errors
        let marker = "BRENDER-WARM "
        var begun = false
        var ending: (ok: Bool, error: String?)?
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await stop.wait()
                if stop.isStopped { process.kill() }
            }
            for await line in process.lines {
                if line.hasPrefix(marker) {
                    let words = line.dropFirst(marker.count).split(separator: " ", maxSplits: 2).map(String.init)
                    guard words.count >= 2, Int64(words[1]) == assignment.taskID else { continue }
                    switch words[0] {
                    case "begin": begun = true
                    case "done": ending = (true, nil)
                    case "error": ending = (false, words.count > 2 ? (try? JSONValue.parse(Data(words[2].utf8)))?.stringValue ?? words[2] : "unknown")
                    default: break
                    }
                    if ending != nil { break }
                    continue
                }
                // Before the task begins: Blender's start-up lines belong to the task that started it.
                guard begun || !wasWarm else { continue }
                await rendered.read(line)
            }
            group.cancelAll()
        }
        if let why = rendered.fallback.first {
            await warm.retire()
            return TaskOutcome(state: .failed, error: slot.cpuFallback(why))
        }
        guard let ending else {
            await warm.retire()
            if stop.isStopped { return TaskOutcome(state: .released, error: stop.reason) }
            // Blender quit before the task was done: said as the cold path says it (a file it
            // cannot read exits 1 with its Error: line).
            await reporter.log("[brender] Blender ended with \(process.exit.map { "\($0)" } ?? "no exit status") before the task was done")
            switch process.exit {
            case .signaled(let signal)?: return TaskOutcome(state: .failed, error: "Blender was killed by signal \(signal)")
            case .exited(let code)?:
                return TaskOutcome(state: .failed, error: "Blender exited with code \(code)" + (errors.first.map { ": \($0)" } ?? ""))
            case nil: return TaskOutcome(state: .failed, error: "Blender ended before the task was done" + (errors.first.map { ": \($0)" } ?? ""))
            }
        }
        if let problem = ending.error ?? errors.first {
            await warm.retire()
            return TaskOutcome(state: .failed, error: "Blender reported an error: \(problem)")
        }
        if let problem = await rendered.verifyAll() {
            await warm.retire()
            return TaskOutcome(state: .failed, error: problem)
        }
        process.markUsed()
        return TaskOutcome(state: .completed, error: nil)
    }

    /// Names the slot in the task's log when it is one of several or has a GPU or a thread count.
    private func logSlot(_ reporter: TaskReporter) async {
        guard slot.index > 0 || slot.gpu != nil || slot.threads != nil else { return }
        let pin = slot.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        await reporter.log("[brender] \(slot)" + (pin.isEmpty ? "" : ": \(pin)"))
    }

    private func runCommand(_ assignment: WorkerProtocol.Assignment, reporter: TaskReporter, stop: StopSignal, scratch: URL) async
        -> TaskOutcome
    {
        let chunk = assignment.chunk
        let perFrame = assignment.argv.contains { $0.contains("{frame}") }
        let runs: [(argv: [String], frames: [Int])] =
            perFrame
            ? chunk.frames.map { frame in (CommandTemplate.expand(assignment.argv, start: chunk.start, end: chunk.end, frame: frame), [frame]) }
            : [(CommandTemplate.expand(assignment.argv, start: chunk.start, end: chunk.end, frame: chunk.start), Array(chunk.frames))]
        for run in runs {
            guard !stop.isStopped else { break }
            let exit: ProcessExit
            do {
                exit = try await ProcessRunner.run(
                    run.argv[0], arguments: Array(run.argv.dropFirst()), environment: slot.environment.merging(["TMPDIR": scratch.path]) { $1 },
                    stop: stop, groups: groups
                ) { line in await reporter.log(line) }
            } catch {
                return TaskOutcome(state: .failed, error: "cannot run '\(run.argv[0])': \(error)")
            }
            guard exit == .exited(0) else {
                return TaskOutcome(state: .failed, error: "'\(run.argv.joined(separator: " "))' ended with \(exit)")
            }
            for frame in run.frames { await reporter.frameDone(frame) }
        }
        return TaskOutcome(state: .completed, error: nil)
    }
}

/// Fills `{start}`, `{end}` and `{frame}` in a command job's argv.
public enum CommandTemplate {
    public static func expand(_ argv: [String], start: Int, end: Int, frame: Int) -> [String] {
        argv.map {
            $0.replacingOccurrences(of: "{start}", with: String(start)).replacingOccurrences(of: "{end}", with: String(end))
                .replacingOccurrences(of: "{frame}", with: String(frame))
        }
    }
}

/// The frames a Blender task must produce, read the one way for a Blender started for the task
/// and a warm one: its output folders made, each line logged, a frame counted when its `Saved:`
/// line names a complete file (and its preview made), `Error:` lines kept, and at the end every
/// frame's file checked, whatever Blender printed.
private struct RenderedFrames: Sendable {
    let assignment: WorkerProtocol.Assignment
    let invocation: BlenderInvocation
    let reporter: TaskReporter
    let previews: FramePreviewMaker?
    let errors = OutputLines()
    /// Why Cycles would render on the CPU though the slot is pinned to a GPU, as Blender or
    /// brender's device check said it.
    let fallback = OutputLines()
    private let expectedByPath: [String: Int]

    init(
        _ assignment: WorkerProtocol.Assignment, slot: RenderSlot, deviceCheck: String?, reporter: TaskReporter, previews: FramePreviewMaker?
    ) {
        self.assignment = assignment
        self.reporter = reporter
        self.previews = previews
        invocation = BlenderInvocation(assignment, slot: slot, deviceCheck: deviceCheck)
        expectedByPath = Dictionary(uniqueKeysWithValues: invocation.expectedFiles.map { ($0.value, $0.key) })
        for path in Set(invocation.expectedFiles.values.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }) {
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }

    /// One line of Blender's output.
    func read(_ line: String) async {
        await reporter.log(line)
        switch BlenderOutputParser.parse(line) {
        case .saved(let path):
            if let frame = expectedByPath[path], OutputVerifier.problem(with: path) == nil { await rendered(frame, at: path) }
        case .error(let message): errors.add(message)
        case .cpuFallback(let why): fallback.add(why)
        default: break
        }
    }

    /// Checks every frame's file once Blender is done: why the first missing one failed the
    /// task, or nil when all are there (each reported).
    func verifyAll() async -> String? {
        for frame in assignment.chunk.frames {
            let path = invocation.expectedFiles[frame]!
            if let problem = OutputVerifier.problem(with: path) { return "frame \(frame) was not rendered: \(problem)" }
            await rendered(frame, at: path)
        }
        return nil
    }

    /// A frame is verified: reported, and its preview made (once per frame and attempt).
    private func rendered(_ frame: Int, at path: String) async {
        await reporter.frameDone(frame)
        await previews?.add(.init(taskID: assignment.taskID, lease: assignment.lease, frame: frame, path: path))
    }
}

/// Lines of one kind seen in Blender's output (its `Error:` lines, say), in order.
private final class OutputLines: Sendable {
    private let lines = Mutex<[String]>([])

    func add(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    var first: String? { lines.withLock { $0.first } }
}
