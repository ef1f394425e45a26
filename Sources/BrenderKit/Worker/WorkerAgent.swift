import FarmCore
import Foundation
import Logging

/// What a `brender worker` process is.
public struct WorkerOptions: Sendable {
    public var server: String
    public var name: String
    /// nil keeps the tags the server has for this node.
    public var tags: [String]?
    /// The Blender executable: a path, or a name looked up in `PATH`; the default for jobs that
    /// ask for no version.
    public var blender: String
    /// Every Blender this node offers: executables, or directories of builds (each `*/blender`
    /// in them); their versions are found by running them. Empty: `blender` alone.
    public var blenders: [String] = []
    /// Where per-task temporary folders are made.
    public var scratchDirectory: URL
    /// How long one request for work waits on the server.
    public var pollWait: Double
    /// Seconds a task's process may print nothing before it is stopped as hung.
    public var silenceTimeout: Double
    /// Whether the name was given (false: the host's name, which gets a suffix when taken).
    public var nameGiven: Bool
    /// The worker's own directory: its key, lock, and record of running process groups.
    public var stateDirectory: URL
    /// ffmpeg for video tasks: a path, or a name looked up in `PATH`.
    public var ffmpeg: String = "ffmpeg"
    /// The server's join token, sent to register.
    public var joinToken: String?
    /// Whether this node runs command jobs (arbitrary programs); off unless asked for.
    public var allowCommands: Bool = false
    /// Start Blender afresh for every task instead of keeping one warm (`--cold`).
    public var cold: Bool = false
    /// Seconds a warm Blender may stay idle before it is closed (`--warm-idle`).
    public var warmIdleSeconds: Double = WarmBlender.defaultIdleSeconds
    /// Tasks run at once, each in its own slot (`--slots`); ignored with `gpus`.
    public var slots: Int = 1
    /// One slot per GPU, each Blender pinned to its GPU (`--gpus 0,1`).
    public var gpus: [String] = []
    /// CPU threads shared out among the slots (`--threads`); nil: every core, or Blender's own
    /// choice with one slot.
    public var threads: Int?
    /// The Cycles device type of the GPUs (`--cycles-device`).
    public var cyclesDevice: RenderSlot.CyclesDevice = .cuda
    /// For an `https://` server: a PEM file of the certificate authorities to trust instead of
    /// the system's.
    public var certificateAuthorities: String?

    public init(
        server: String, name: String, tags: [String]?, blender: String = "blender",
        scratchDirectory: URL = FileManager.default.temporaryDirectory, pollWait: Double = 20, silenceTimeout: Double = 1800,
        nameGiven: Bool = true, stateDirectory: URL? = nil
    ) {
        self.server = server
        self.name = name
        self.nameGiven = nameGiven
        self.stateDirectory = stateDirectory ?? WorkerStateDirectory.defaultURL(name: name)
        self.tags = tags
        self.blender = blender
        self.scratchDirectory = scratchDirectory
        self.pollWait = pollWait
        self.silenceTimeout = silenceTimeout
    }
}

/// The render node's side of the farm: registers with the server, keeps its record online, and
/// runs the tasks it is given, one at a time in each of its slots.
///
/// It never gives up on the server: when it cannot be reached the agent retries with backoff
/// (0.5 s doubling to 10 s) and keeps rendering, and when the server no longer knows it
/// (restarted on a fresh database) it registers again; when its client was deleted, its key is revoked and it stops.
public actor WorkerAgent {
    let options: WorkerOptions
    /// Every request after registering: it carries the worker's key in its body, no token.
    let client: BrenderClient
    /// Registering, with the join token: the join token travels only when it is needed.
    let registrar: BrenderClient
    let logger: Logger
    let state: WorkerStateDirectory
    private(set) var clientID: Int64?
    private var heartbeatInterval: Double = 5
    private var serverReachable = true
    /// ffmpeg and ffprobe, when this node has them: it then takes video tasks.
    let videoEncoder: VideoEncoder?
    /// Its slots: each runs one task at a time.
    let slots: [RenderSlot]
    /// Each slot's Blender kept running between tasks of one file (none with `--cold`).
    let warm: [WarmBlender]
    /// The device check a GPU slot's cold Blender runs (nil without GPUs).
    private let deviceCheck: URL?
    /// The Blender builds found, with their versions (found before the first registration).
    private var builds: [BlenderBuild]?
    /// Set when this worker must stop: another process holds its name.
    private var mustStopBecause: String?
    /// Tells systemd when the worker is registered, what it does, and that it is alive.
    let notifier = SystemdNotifier()
    private var toldReady = false

    /// Takes the state directory (refused when another worker holds it) and stops whatever
    /// process groups a killed earlier run of this worker left behind.
    public init(options: WorkerOptions, logger: Logger) throws {
        self.options = options
        self.client = try BrenderClient(server: options.server, trust: options.certificateAuthorities)
        self.registrar = client.carrying(options.joinToken)
        self.logger = logger
        self.state = try WorkerStateDirectory(url: options.stateDirectory)
        self.videoEncoder = VideoEncoder.find(options.ffmpeg)
        let slots = RenderSlot.plan(
            count: options.slots, gpus: options.gpus, threads: options.threads, cyclesDevice: options.cyclesDevice,
            cores: ProcessInfo.processInfo.activeProcessorCount)
        self.slots = slots
        let state = self.state
        self.warm =
            options.cold
            ? []
            : try slots.map {
                try WarmBlender(
                    scratchDirectory: options.scratchDirectory, slot: $0, idleSeconds: options.warmIdleSeconds, groups: state, logger: logger)
            }
        if slots.contains(where: { $0.gpu != nil }) {
            let check = options.scratchDirectory.appendingPathComponent("brender-device-check-\(getpid()).py")
            try FileManager.default.createDirectory(at: options.scratchDirectory, withIntermediateDirectories: true)
            try Data(BlenderDeviceCheck.script.utf8).write(to: check)
            deviceCheck = check
        } else {
            deviceCheck = nil
        }
        if slots.count > 1 || slots[0].gpu != nil {
            logger.info("\(slots.count) slot\(slots.count == 1 ? "" : "s"): \(slots.map(\.description).joined(separator: "; "))")
        }
        if videoEncoder == nil {
            logger.notice("no ffmpeg and ffprobe found ('\(options.ffmpeg)'): this worker takes no video tasks; give --ffmpeg PATH to enable them")
        }
        let leftovers = state.stopLeftoverChildren()
        if !leftovers.isEmpty {
            logger.warning(
                "stopped \(leftovers.count) task process group(s) that an earlier run of this worker left running",
                metadata: ["groups": "\(leftovers.map(String.init).joined(separator: ","))"])
        }
    }

    private var sender: WorkerProtocol.Sender? { clientID.map { WorkerProtocol.Sender(clientID: $0, key: state.key) } }

    /// Makes the previews of the frames this worker renders, when it has ffmpeg; one per registration.
    private var previews: (sender: WorkerProtocol.Sender, maker: FramePreviewMaker)?

    private func previewMaker(for sender: WorkerProtocol.Sender) -> FramePreviewMaker? {
        guard let videoEncoder else { return nil }
        if let previews, previews.sender == sender { return previews.maker }
        let maker = FramePreviewMaker(
            ffmpeg: videoEncoder.ffmpeg, client: client, sender: sender, scratchDirectory: options.scratchDirectory, logger: logger)
        previews = (sender, maker)
        return maker
    }

    /// Runs until the calling task is cancelled (a task in progress is then stopped and handed
    /// back), or until the worker must stop because another process holds its name.
    /// - Returns: why it had to stop, or nil when it was cancelled.
    public func run() async -> String? {
        // Either ends only when cancelled, or (staying connected) when the worker must stop.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.stayConnected() }
            for slot in slots {
                group.addTask { await self.takeWork(in: slot) }
            }
            if let interval = notifier.watchdogInterval {
                group.addTask { await self.pingWatchdog(every: interval / 2) }
            }
            await group.next()
            group.cancelAll()
        }
        for blender in warm { await blender.shutdown() }
        if let deviceCheck { try? FileManager.default.removeItem(at: deviceCheck) }
        return mustStopBecause
    }

    /// Registers, then sends heartbeats; registers again when the server forgets the worker.
    private func stayConnected() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                if clientID == nil {
                    try await register()
                } else {
                    try await Task.sleep(for: .seconds(heartbeatInterval))
                    try await heartbeat()
                }
                backoff.reset()
                noteReachable(true)
            } catch is CancellationError {
                return
            } catch let error as ClientError {
                if error.status == 404 {
                    logger.warning("the server does not know this worker any more; registering again")
                    clientID = nil
                    continue
                }
                if error.status == 401 {
                    // A wrong join token will not become right by trying again.
                    mustStopBecause =
                        "the server refused this worker's join token (\(error)); give the server's join token with --join-token, BRENDER_JOIN_TOKEN or --join-token-file ('brender server token show join' prints it on the server machine)"
                    return
                }
                if error.status == 403 {
                    // Revoked: its client was deleted by an admin.
                    mustStopBecause = "the server refused this worker: \(error)"
                    return
                }
                if error.status == 409 {
                    if clientID == nil {
                        mustStopBecause = "the server refused this worker: \(error)"
                        return
                    }
                    logger.warning("\(error); registering again")
                    clientID = nil
                    continue
                }
                noteReachable(false, error)
                do { try await Task.sleep(for: .seconds(backoff.next())) } catch { return }
            } catch {
                logger.error("unexpected error: \(error)")
                do { try await Task.sleep(for: .seconds(backoff.next())) } catch { return }
            }
        }
    }

    /// The slot's warm Blender (nil with `--cold`).
    private func warm(for slot: RenderSlot) -> WarmBlender? {
        warm.isEmpty ? nil : warm[slot.index]
    }

    /// Asks for work for a slot and runs it, one task at a time, until cancelled.
    private func takeWork(in slot: RenderSlot) async {
        var next: WorkerProtocol.Assignment?
        var backoff = Backoff()
        while !Task.isCancelled {
            guard let sender else {
                do { try await Task.sleep(for: .milliseconds(50)) } catch { return }
                continue
            }
            if next == nil {
                do {
                    next = try await client.post(
                        "/worker/task",
                        WorkerProtocol.TaskRequest(
                            sender: sender, wait: options.pollWait, warmJob: await warm(for: slot)?.loadedJob, slot: slot.index),
                        as: WorkerProtocol.TaskReply.self, timeout: options.pollWait + 15
                    ).task
                    backoff.reset()
                } catch {
                    if Task.isCancelled { return }
                    do { try await Task.sleep(for: .seconds(backoff.next())) } catch { return }
                    continue
                }
            }
            guard let assignment = next else { continue }
            next = await execute(assignment, sender: sender, in: slot)
        }
    }

    /// Runs one task in a slot and reports its outcome.
    /// - Returns: the slot's next task, when the server handed one out with the report.
    private func execute(_ assignment: WorkerProtocol.Assignment, sender: WorkerProtocol.Sender, in slot: RenderSlot) async
        -> WorkerProtocol.Assignment?
    {
        logger.info(
            "task started",
            metadata: [
                "job": "\(assignment.jobID)", "task": "\(assignment.taskID)", "frames": "\(assignment.chunk.description)", "slot": "\(slot.index)",
            ])
        let warm = warm(for: slot)
        status(
            "rendering job \(assignment.jobID) (\(assignment.jobName)), task \(assignment.taskID), frames \(assignment.chunk.description)",
            slot: slot)
        let stop = StopSignal()
        let reporter = TaskReporter(
            client: client, sender: sender, assignment: assignment, stop: stop, logger: logger, silenceTimeout: options.silenceTimeout)
        let chosen = blender(for: assignment)
        let runner = TaskRunner(
            blender: chosen ?? options.blender, logger: logger, scratchDirectory: options.scratchDirectory, groups: state, video: videoEncoder,
            allowCommands: options.allowCommands, previews: previewMaker(for: sender), warm: warm, slot: slot,
            deviceCheck: deviceCheck?.path)
        let outcome = await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self, returning: TaskOutcome.self) { group in
                group.addTask { await reporter.runPeriodicFlush() }
                let outcome: TaskOutcome
                if chosen == nil, let requested = assignment.blenderVersion {
                    // Never render with another Blender than the job asked for.
                    let offered = (builds ?? []).map(\.version).joined(separator: ", ")
                    outcome = TaskOutcome(
                        state: .failed, error: "this worker has no Blender \(requested) (it has \(offered.isEmpty ? "none it could run" : offered))")
                } else {
                    outcome = await runner.run(assignment, reporter: reporter, stop: stop)
                }
                group.cancelAll()
                return outcome
            }
        } onCancel: {
            stop.stop(reason: "the worker is stopping")
        }
        let stopping = Task.isCancelled
        if let error = outcome.error {
            logger.warning("task \(outcome.state.rawValue): \(error)", metadata: ["task": "\(assignment.taskID)"])
        } else {
            logger.info("task \(outcome.state.rawValue)", metadata: ["task": "\(assignment.taskID)"])
        }
        status("task \(assignment.taskID) \(outcome.state.rawValue); waiting for work", slot: slot)
        // Reported from a task of its own so a stopping worker still reports, within a few seconds;
        // otherwise the report waits for the server as long as it takes.
        let pollWait = options.pollWait
        let warmJob = await warm?.loadedJob
        let report = Task {
            await reporter.finish(
                outcome.state, error: outcome.error, nextWait: stopping ? nil : pollWait, deadline: stopping ? Timestamp.now + 3 : nil,
                warmJob: warmJob)
        }
        let reply = await withTaskCancellationHandler {
            await report.value
        } onCancel: {
            Task { await reporter.setDeadline(Timestamp.now + 3) }
        }
        return stopping || Task.isCancelled ? nil : reply?.next
    }

    /// Tells systemd what a slot does, naming the slot when there are several.
    private func status(_ text: String, slot: RenderSlot) {
        notifier.status(slots.count > 1 ? "slot \(slot.index): \(text)" : text)
    }

    /// Tells the server this worker is stopping. Best effort, bounded to two seconds.
    public func signOff() async {
        guard let sender else { return }
        do {
            _ = try await client.post(
                "/worker/signoff", WorkerProtocol.ClientReference(sender: sender), as: WorkerProtocol.Acknowledgement.self, timeout: 2)
            logger.info("signed off", metadata: ["client": "\(sender.clientID)"])
        } catch {
            logger.warning("could not sign off: \(error)")
        }
    }

    /// Pings systemd's watchdog for as long as this actor answers (a stuck worker stops pinging
    /// and is restarted).
    private func pingWatchdog(every interval: Duration) async {
        while !Task.isCancelled {
            notifier.watchdog()
            try? await Task.sleep(for: interval)
        }
    }

    /// The Blender that runs a task: the first build of the version its job asks for, else the
    /// first one offered; nil when the job asks for a version this node does not have.
    private func blender(for assignment: WorkerProtocol.Assignment) -> String? {
        let found = builds ?? []
        guard let requested = assignment.blenderVersion else { return found.first?.path ?? options.blender }
        return found.first { BlenderVersions.matches($0.version, requested: requested) }?.path
    }

    private func register() async throws {
        var registration = WorkerProtocol.Registration(
            name: options.name, hostname: WorkerAgent.hostname, platform: WorkerAgent.platform, tags: options.tags,
            version: BrenderVersion.current, key: state.key, pid: getpid(), nameGiven: options.nameGiven)
        registration.timeZone = TimeZone.current.identifier
        if builds == nil {
            builds = await BlenderBuild.find(options.blenders.isEmpty ? [options.blender] : options.blenders, logger: logger)
        }
        registration.capabilities =
            (videoEncoder == nil ? [] : ["ffmpeg"]) + (options.allowCommands ? ["commands"] : [])
            + (builds ?? []).map { BlenderVersions.capability($0.version) }
        registration.slots = slots.count
        let registered = try await registrar.post("/worker/register", registration, as: WorkerProtocol.Registered.self)
        clientID = registered.clientID
        heartbeatInterval = registered.heartbeatInterval
        logger.info(
            "registered with \(options.server) as client \(registered.clientID) (\(registered.name))",
            metadata: ["client": "\(registered.clientID)"])
        if registered.name != options.name {
            logger.notice("the name '\(options.name)' is taken by another worker that is online; this one is '\(registered.name)'")
        }
        let status = "registered with \(options.server) as \(registered.name) (client \(registered.clientID)); waiting for work"
        if toldReady {
            notifier.status(status)
        } else {
            toldReady = true
            notifier.ready(status: status)
        }
    }

    private func heartbeat() async throws {
        guard let sender else { return }
        let reply = try await client.post(
            "/worker/heartbeat", WorkerProtocol.ClientReference(sender: sender), as: WorkerProtocol.HeartbeatReply.self,
            timeout: max(5, heartbeatInterval * 2))
        heartbeatInterval = reply.heartbeatInterval
    }

    private func noteReachable(_ reachable: Bool, _ error: (any Error)? = nil) {
        if reachable && !serverReachable {
            logger.info("the server is reachable again")
            notifier.status("the server is reachable again")
        } else if !reachable && serverReachable {
            logger.warning("\(error.map { "\($0)" } ?? "server unreachable"); retrying")
            notifier.status("cannot reach the server; retrying (\(error.map { "\($0)" } ?? "unreachable"))")
        }
        serverReachable = reachable
    }

    /// This machine's host name.
    public static var hostname: String {
        ProcessInfo.processInfo.hostName
    }

    /// `linux-x86_64`, `linux-aarch64`, ...
    public static var platform: String {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #if os(Linux)
            return "linux-\(machine)"
        #else
            return "darwin-\(machine)"
        #endif
    }

    /// A valid client name made from the host name (the part before the first dot, other characters replaced).
    public static var defaultName: String {
        let short = hostname.split(separator: ".").first.map(String.init) ?? "worker"
        let cleaned = String(short.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" })
        return FieldType.isValidName(cleaned) ? cleaned : "worker"
    }
}

/// Exponential backoff: 0.5 s, 1 s, 2 s, ... up to a ceiling.
struct Backoff {
    var initial = 0.5
    var ceiling = 10.0
    private var current: Double?

    mutating func next() -> Double {
        let delay = current.map { min(ceiling, $0 * 2) } ?? initial
        current = delay
        return delay
    }

    mutating func reset() {
        current = nil
    }
}
