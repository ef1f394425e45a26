import Foundation
import Logging
import Subprocess
import Synchronization

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// One Blender process kept alive between tasks with a job's file loaded, so that a task costs
/// what its frames cost to render, not Blender's start-up and the scene's load again.
///
/// Blender runs `-b FILE --python SCRIPT` (``WarmBlenderScript``); the script reads one JSON line
/// per task from standard input (the frames, each frame's file, the format, the scene), renders
/// each frame with `render.render(write_still=True)` and says `BRENDER-WARM begin/done/error
/// TASK` around it. Blender's own output (its `Saved:` and `Error:` lines) is read as on the cold
/// path, so every frame is verified the same way. The process runs under the ``ChildGuard`` and
/// in the worker's record of process groups, like a cold Blender.
final class WarmBlenderProcess: Sendable {
    /// What a warm process holds: a task may use it only when all of these are the same.
    struct Key: Equatable, Sendable, CustomStringConvertible {
        let blender: String
        let file: String
        /// The file's modification time and size when it was loaded: a file changed since is
        /// loaded afresh.
        let modified: Double
        let size: UInt64
        let scene: String?
        let allowScripts: Bool

        /// The key for a task's file as it is on disk now; nil when it cannot be read.
        init?(blender: String, file: String, scene: String?, allowScripts: Bool = false) {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970,
                let size = (attributes[.size] as? NSNumber)?.uint64Value
            else { return nil }
            self.blender = blender
            self.file = file
            self.modified = modified
            self.size = size
            self.scene = scene
            self.allowScripts = allowScripts
        }

        var description: String { "\(file) (scene \(scene ?? "active"))" }
    }

    let key: Key
    /// Blender's arguments as a task's log shows them (brender's script named, not its path).
    let shownArguments: String
    /// Output lines, in order; finishes when the process has ended.
    let lines: AsyncStream<String>
    private let requests: AsyncStream<[UInt8]>.Continuation
    private let shared = Shared()
    private let runner: Task<Void, Never>

    /// What the process's own task and its users share.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private struct State {
        var group: pid_t?
        var exit: ProcessExit?
        var served = 0
        var lastUsed = Timestamp.now
        var killed = false
    }

    /// Starts Blender with the file loaded and the script reading requests.
    /// - Parameters:
    ///   - script: the path of the script's file.
    ///   - scratch: its TMPDIR and HOME, made and removed by the caller.
    ///   - slot: the worker's slot it renders for: its threads and GPU.
    init(key: Key, script: String, scratch: URL, slot: RenderSlot, groups: WorkerStateDirectory?, logger: Logger) throws {
        guard let program = ProcessRunner.resolve(key.blender) else { throw ProcessRunnerError.notFound(key.blender) }
        self.key = key
        var arguments = ["-b", "-noaudio", key.file]
        if key.allowScripts { arguments.insert("-y", at: 0) }
        arguments += slot.threadArguments + ["--python", script] + slot.cyclesArguments
        shownArguments = arguments.map { $0 == script ? "(brender's warm-render script)" : $0 }.joined(separator: " ")
        var executable = program
        if let wrapped = ChildGuard.arguments(program: program, arguments: arguments) { (executable, arguments) = wrapped }
        let (lines, output) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let (requests, input) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .unbounded)
        self.lines = lines
        self.requests = input
        var environment: [Environment.Key: String?] = ["TMPDIR": scratch.path, "HOME": scratch.path]
        for (name, value) in slot.environment { environment[Environment.Key(stringLiteral: name)] = value }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSTemporaryDirectory()
        environment["XDG_CACHE_HOME"] = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? home + "/.cache"
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(2))]
        let shared = self.shared
        let target: Executable = .path(FilePath(executable))
        runner = Task {
            do {
                let result = try await Subprocess.run(
                    target, arguments: Arguments(arguments), environment: .inherit.updating(environment), platformOptions: options,
                    input: .inputWriter, output: .sequence, error: .combinedWithOutput
                ) { execution in
                    let pid = execution.processIdentifier.value
                    shared.state.withLock { $0.group = pid }
                    groups?.recordChild(group: pid)
                    defer { groups?.forgetChild(group: pid) }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await request in requests {
                                _ = try await execution.standardInputWriter.write(request)
                            }
                            try await execution.standardInputWriter.finish()
                        }
                        // The reader ends when Blender (and anything holding its output) is gone.
                        for try await line in execution.standardOutput.strings() { output.yield(line) }
                        group.cancelAll()
                    }
                }
                let exit: ProcessExit =
                    switch result.terminationStatus {
                    case .exited(let code): .exited(code)
                    case .signaled(let signal): .signaled(signal)
                    }
                shared.state.withLock { $0.exit = exit }
            } catch {
                logger.warning("the warm Blender process could not run", metadata: ["error": "\(error)"])
                shared.state.withLock { $0.exit = .exited(-1) }
            }
            output.finish()
        }
    }

    /// Tasks sent to it so far.
    var served: Int { shared.state.withLock { $0.served } }
    /// When it last finished a task (or started).
    var lastUsed: Double { shared.state.withLock { $0.lastUsed } }
    /// How it ended, once it has.
    var exit: ProcessExit? { shared.state.withLock { $0.exit } }
    var isRunning: Bool { shared.state.withLock { $0.exit == nil && !$0.killed } }

    /// Sends one task's request line.
    func send(_ request: JSONValue) {
        shared.state.withLock {
            $0.served += 1
            $0.lastUsed = Timestamp.now
        }
        var bytes = request.serializedBytes()
        bytes.append(UInt8(ascii: "\n"))
        requests.yield(bytes)
    }

    func markUsed() { shared.state.withLock { $0.lastUsed = Timestamp.now } }

    /// Stops the process group at once (SIGKILL): a render that must stop, or a process that can
    /// no longer be trusted. Its output then ends.
    func kill() {
        let group = shared.state.withLock { state -> pid_t? in
            state.killed = true
            return state.exit == nil ? state.group : nil
        }
        requests.finish()
        if let group { Glibc.kill(-group, SIGKILL) }
    }

    /// Ends it quietly: standard input closes, the script's loop ends and Blender quits; killed
    /// if it has not within `grace`.
    func close(grace: Duration = .seconds(5)) async {
        requests.finish()
        let runner = self.runner
        let finished = Task {
            await runner.value
        }
        let timer = Task {
            try? await Task.sleep(for: grace)
            if !Task.isCancelled { self.kill() }
        }
        await finished.value
        timer.cancel()
    }
}

/// A slot's warm Blender: one process at a time, kept for the next task of the same file and
/// replaced for anything else, after ``maxTasks`` tasks, or when idle for `idleSeconds`.
actor WarmBlender {
    /// Tasks one process serves before it is replaced: a bound on what a long-lived Blender may
    /// accumulate (memory, state a scene's scripts keep).
    static let maxTasks = 200
    /// The default of `idleSeconds` (`worker --warm-idle`): ten minutes.
    static let defaultIdleSeconds: Double = 600
    /// Seconds idle after which the process is closed, giving its memory back.
    let idleSeconds: Double

    private let scriptPath: String
    private let slot: RenderSlot
    private let scratchDirectory: URL
    private let groups: WorkerStateDirectory?
    private let logger: Logger
    private var process: WarmBlenderProcess?
    private var processScratch: URL?
    private var idleWatch: Task<Void, Never>?

    init(
        scratchDirectory: URL, slot: RenderSlot = RenderSlot(index: 0), idleSeconds: Double = defaultIdleSeconds, groups: WorkerStateDirectory?,
        logger: Logger
    ) throws {
        self.scratchDirectory = scratchDirectory
        self.idleSeconds = idleSeconds
        self.slot = slot
        self.groups = groups
        self.logger = logger
        try FileManager.default.createDirectory(at: scratchDirectory, withIntermediateDirectories: true)
        let script = scratchDirectory.appendingPathComponent("brender-warm-\(getpid())-\(slot.index).py")
        try Data(WarmBlenderScript.source.utf8).write(to: script)
        scriptPath = script.path
    }

    /// The job whose file the running process has loaded (the last it rendered for), for the
    /// server's choice of the next task; nil when none runs.
    var loadedJob: Int64? { process?.isRunning == true ? lastJob : nil }
    private var lastJob: Int64?

    /// A process with `key` loaded for a task of `jobID`: the running one when it holds it, else
    /// a new one.
    /// - Returns: the process and whether it was already running (warm).
    func process(for key: WarmBlenderProcess.Key, jobID: Int64) throws -> (WarmBlenderProcess, warm: Bool) {
        lastJob = jobID
        if let process, process.isRunning, process.key == key, process.served < Self.maxTasks {
            return (process, true)
        }
        retire()
        let scratch = scratchDirectory.appendingPathComponent("brender-warm-\(getpid())-\(slot.index)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let fresh = try WarmBlenderProcess(key: key, script: scriptPath, scratch: scratch, slot: slot, groups: groups, logger: logger)
        process = fresh
        processScratch = scratch
        watchIdle()
        return (fresh, false)
    }

    /// Ends the current process (if any) at once: a task it was running was stopped, failed in a
    /// way that leaves Blender's state unknown, or the next task needs another file.
    func retire() {
        guard let process else { return }
        self.process = nil
        let scratch = processScratch
        processScratch = nil
        Task {
            if process.isRunning { await process.close() } else { process.kill() }
            if let scratch { try? FileManager.default.removeItem(at: scratch) }
        }
    }

    private func watchIdle() {
        idleWatch?.cancel()
        // Looked at a few times within the idle time, at most every 30 s.
        let interval = min(30, max(0.25, idleSeconds / 4))
        idleWatch = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                guard let self else { return }
                await self.closeIfIdle()
            }
        }
    }

    private func closeIfIdle() {
        guard let process, Timestamp.now - process.lastUsed > idleSeconds else { return }
        logger.info(
            "closing the warm Blender after \(Int(idleSeconds)) s idle (worker --warm-idle)",
            metadata: ["file": "\(process.key.file)", "slot": "\(slot.index)"])
        retire()
    }

    /// Closes everything (the worker is stopping).
    func shutdown() async {
        idleWatch?.cancel()
        if let process {
            self.process = nil
            await process.close(grace: .seconds(2))
        }
        if let processScratch { try? FileManager.default.removeItem(at: processScratch) }
        try? FileManager.default.removeItem(atPath: scriptPath)
    }
}
