import Foundation

/// Who gets which task: the farm's dispatch rules, as plain functions of the farm's state in
/// memory. No I/O; the ``Farm`` starts the task it chooses and persists it.
///
/// A client takes work when it is enabled, online, has a free slot and is outside its working hours. It is
/// given the first queued task of the first job in dispatch order (priority, then age) whose
/// tags it has and whose blocklist does not hold it. A task that failed on a client goes to
/// other clients first, and back to that one only when no other could take it.
public enum DispatchPolicy {
    /// Whether `client` may be given a new task at `time` (in a slot that runs nothing).
    public static func takesWork(_ client: Client, at time: Double) -> Bool {
        client.status == .enabled && client.connection == .online && client.running.count < client.slots
            && !isInWorkingHours(client, at: time)
    }

    /// Whether `time` falls in the client's working hours (its user's time: no new tasks).
    public static func isInWorkingHours(_ client: Client, at time: Double) -> Bool {
        guard let schedule = client.schedule else { return false }
        let zone = TimeZone(identifier: client.timeZone) ?? TimeZone(secondsFromGMT: 0)!
        return schedule.contains(time, timeZone: zone)
    }

    /// Whether the client may take the job's tasks at all: it has the job's tags, the job's
    /// blocklist does not hold it, and for a command job its worker allows commands.
    public static func canRun(_ runtime: JobRuntime, on client: Client) -> Bool {
        runtime.job.tags.allSatisfy(client.tags.contains) && !runtime.blocklist.isBlocked(client.id, threshold: runtime.job.blocklistThreshold)
            && (runtime.job.kind != .command || runsCommands(client)) && hasBlender(for: runtime.job, client)
    }

    /// Whether the client has the Blender version the job asks for (any job that asks for none).
    public static func hasBlender(for job: Job, _ client: Client) -> Bool {
        guard let requested = job.blenderVersion else { return true }
        return BlenderVersions.satisfies(client.capabilities, requested: requested)
    }

    /// Whether the client's worker runs command jobs (started with `--allow-commands`).
    public static func runsCommands(_ client: Client) -> Bool {
        client.capabilities.contains("commands")
    }

    /// Whether the client can run a video task (its worker found ffmpeg).
    public static func canEncodeVideo(_ client: Client) -> Bool {
        client.capabilities.contains("ffmpeg")
    }

    /// How many jobs of the same priority a worker starting a fresh Blender looks at for one that
    /// nobody renders yet.
    public static let spreadLookahead = 16

    /// The task `client` gets next, as (job, task index), or nil.
    /// - Parameter warmJob: the job whose file the asking slot's Blender has loaded.
    public static func choose(
        for client: Client, warmJob: Int64? = nil, order: DispatchOrder, jobs: [Int64: JobRuntime], clients: [Int64: Client], at time: Double
    ) -> (JobRuntime, Int)? {
        guard takesWork(client, at: time) else { return nil }
        func next(in runtime: JobRuntime) -> Int? {
            guard runtime.isDispatchable, canRun(runtime, on: client) else { return nil }
            return runtime.nextQueued(for: client) { task in
                !clients.values.contains { other in
                    other.id != client.id && other.status == .enabled && other.connection == .online && !task.failedOn.contains(other.id)
                        && canRun(runtime, on: other) && (task.role == .render || canEncodeVideo(other))
                }
            }
        }
        for (position, key) in order.keys.enumerated() {
            guard let runtime = jobs[key.jobID], let chosen = next(in: runtime) else { continue }
            // The job whose file this worker's Blender has loaded goes first among equals: its
            // task costs the render alone, another's Blender's start and the scene's load too.
            if let warmID = warmJob, warmID != runtime.job.id, let warm = jobs[warmID], warm.job.priority == runtime.job.priority,
                let warmNext = next(in: warm)
            {
                return (warm, warmNext)
            }
            // A worker that must start Blender anyway takes, among Blender jobs of this priority,
            // one nobody renders yet (looking a few ahead), so that each Blender stays on one file.
            if runtime.job.kind == .blender && runtime.count(.active) > 0 {
                for other in order.keys.dropFirst(position + 1).prefix(Self.spreadLookahead) {
                    guard other.priority == key.priority else { break }
                    guard let idle = jobs[other.jobID], idle.job.kind == .blender, idle.count(.active) == 0, let idleNext = next(in: idle)
                    else { continue }
                    return (idle, idleNext)
                }
            }
            return (runtime, chosen)
        }
        return nil
    }

    /// Why no client could ever run the job, or nil when one could. Only clients that exist
    /// count (offline or disabled ones may come back); a farm with no clients yet waits.
    public static func whyNoClientCanRun(_ runtime: JobRuntime, clients: some Collection<Client>) -> String? {
        guard !clients.isEmpty else { return nil }
        let job = runtime.job
        let needsVideo = runtime.count(.queued, role: .video) > 0
        func capable(_ client: Client) -> Bool {
            job.tags.allSatisfy(client.tags.contains) && (job.kind != .command || runsCommands(client))
                && !runtime.blocklist.isBlocked(client.id, threshold: job.blocklistThreshold) && (!needsVideo || canEncodeVideo(client))
                && hasBlender(for: job, client)
        }
        // The usual answer, found at the first capable client: no list of the farm is made.
        if clients.contains(where: capable) { return nil }
        if let requested = job.blenderVersion, !clients.contains(where: { hasBlender(for: job, $0) }) {
            let offered = Set(clients.flatMap { BlenderVersions.offered(in: $0.capabilities) }).sorted()
            return
                "no client has Blender \(requested) (the clients have \(offered.isEmpty ? "no Blender they reported" : offered.joined(separator: ", "))); start a worker with --blender PATH to that build"
        }
        if job.kind == .command && !clients.contains(where: runsCommands) {
            return
                "no client runs command jobs: a worker runs them only when started with --allow-commands (command jobs run any program on the node)"
        }
        let tagged = clients.filter { client in job.tags.allSatisfy(client.tags.contains) && (job.kind != .command || runsCommands(client)) }
        if tagged.isEmpty {
            return
                "no client has the tags \(job.tags.joined(separator: ",")) (see 'brender client list'; tag one with 'brender client update --set tags=...')"
        }
        let unblocked = tagged.filter { !runtime.blocklist.isBlocked($0.id, threshold: job.blocklistThreshold) }
        if unblocked.isEmpty {
            let names = tagged.map(\.name).sorted().joined(separator: ", ")
            return
                "every client that could run it failed \(job.blocklistThreshold) of its tasks and is blocklisted (\(names)); fix the cause, then 'brender job requeue \(job.id) --clear-blocklist'"
        }
        if needsVideo && !unblocked.contains(where: canEncodeVideo) {
            return "no client can encode its video: none has ffmpeg (install Debian's ffmpeg on a worker, or start it with --ffmpeg PATH)"
        }
        return nil
    }
}
