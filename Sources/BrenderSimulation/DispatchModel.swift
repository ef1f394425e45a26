import BrenderKit
import FarmCore

/// The dispatch rules written again, small and plain, to judge each task the farm hands out
/// against the state it was handed out from.
enum DispatchModel {
    /// Whether `client` may run the job's tasks at all: tags, blocklist, commands, Blender version.
    static func canRun(_ state: FarmSnapshot.JobState, on client: Client) -> Bool {
        let job = state.job
        return job.tags.allSatisfy(client.tags.contains) && (state.blocklist[client.id] ?? 0) < job.blocklistThreshold
            && (job.kind != .command || client.capabilities.contains("commands"))
            && (job.blenderVersion.map { BlenderVersions.satisfies(client.capabilities, requested: $0) } ?? true)
    }

    /// Whether `client` may take this queued task now: a video task only once every frame is
    /// rendered and on a client with ffmpeg; a task that failed on the client only when no other
    /// client could take it.
    static func mayTake(_ task: RenderTask, of state: FarmSnapshot.JobState, client: Client, in farm: FarmSnapshot) -> Bool {
        guard task.status == .queued, canRun(state, on: client) else { return false }
        if task.role == .video {
            let rendered = state.tasks.allSatisfy { $0.role != .render || $0.status == .completed }
            guard rendered && client.capabilities.contains("ffmpeg") else { return false }
        }
        guard task.failedOn.contains(client.id) else { return true }
        return !farm.clients.values.contains { other in
            other.id != client.id && other.status == .enabled && other.connection == .online && !task.failedOn.contains(other.id)
                && canRun(state, on: other) && (task.role == .render || other.capabilities.contains("ffmpeg"))
        }
    }
}

extension FarmInvariants {
    /// What is wrong with handing `assignment` to `clientID`'s `slot`, judged on the state
    /// before: the job could start (every job it waits for completed), the client may run it,
    /// and no job of higher priority had a task the client could take.
    static func checkDispatch(_ assignment: WorkerProtocol.Assignment, to clientID: Int64, slot: Int, before: FarmSnapshot) -> [String] {
        // A slot asking again while it holds a task gets that task's place back first; judged
        // on the state in between, not this one.
        guard before.running[clientID]?[slot] == nil, var client = before.clients[clientID] else { return [] }
        client.connection = .online
        guard let job = before.jobs[assignment.jobID], let task = job.tasks.first(where: { $0.id == assignment.taskID }) else {
            return ["task \(assignment.taskID) was handed out from job \(assignment.jobID), which did not exist"]
        }
        var problems: [String] = []
        let what = "task \(task.id) of job \(job.job.id) went to client \(clientID) slot \(slot)"
        if !job.job.status.isDispatchable { problems.append("\(what) while the job was \(job.job.status.rawValue)") }
        if client.status != .enabled { problems.append("\(what), which is disabled") }
        // A job that started goes on when a job it waited for comes back (requeued); one that has
        // not started waits again.
        if job.job.startedAt == nil, let pending = job.job.after.first(where: { before.jobs[$0]?.job.status != .completed }) {
            problems.append("\(what) before job \(pending), which it waits for, completed")
        }
        if !DispatchModel.mayTake(task, of: job, client: client, in: before) {
            problems.append("\(what), which may not take it (tags, blocklist, capabilities, Blender version, video or earlier failure)")
        }
        for other in before.jobs.values.sorted(by: { $0.job.id < $1.job.id })
        where other.job.priority > job.job.priority && other.job.status.isDispatchable {
            if let waiting = other.tasks.first(where: { DispatchModel.mayTake($0, of: other, client: client, in: before) }) {
                problems.append(
                    "\(what) at priority \(job.job.priority) while task \(waiting.id) of job \(other.job.id) waited at priority \(other.job.priority)"
                )
            }
        }
        return problems
    }
}
