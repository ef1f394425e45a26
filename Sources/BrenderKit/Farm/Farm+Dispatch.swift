import Foundation
import Logging

extension Farm {
    /// The longest a worker may wait in one long poll.
    static let maxWait = 30.0

    /// An idle worker asks for a task: it gets one at once, or waits up to `wait` seconds for one.
    ///
    /// Asking means the worker runs nothing; a task the server still counts as running on it was
    /// lost on the way (an answer that never arrived) and goes back to the queue.
    public func requestTask(_ sender: WorkerProtocol.Sender, wait: Double) async throws(APIError) -> WorkerProtocol.Assignment? {
        try authenticate(sender)
        let clientID = sender.clientID
        try releaseLostTask(of: clientID, reason: "its worker asked for new work without reporting it (an answer was lost)")
        if let assignment = try assignTask(to: clientID) { return assignment }
        let wait = min(Farm.maxWait, max(0, wait))
        guard wait > 0, !isShuttingDown else { return nil }
        return await withCheckedContinuation { continuation in
            let token = waiters.add(clientID, continuation)
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(wait))
                await self?.endWait(clientID: clientID, token: token)
            }
        }
    }

    /// Ends a worker's long poll with no task: the one set with `token`, or whichever it has.
    func endWait(clientID: Int64, token: UInt64? = nil) {
        waiters.remove(clientID, token: token)?.continuation.resume(returning: nil)
    }

    /// Ends every long poll with no task and refuses new waits: the server is stopping.
    public func beginShutdown() {
        isShuttingDown = true
        for waiter in waiters.removeAll() { waiter.continuation.resume(returning: nil) }
    }

    /// Hands out queued work to waiting workers, first come first served, while there is work:
    /// all in one transaction, and each waiter answered only after it is committed.
    func dispatchToWaiters() {
        guard !waiters.isEmpty, !dispatchOrder.isEmpty else { return }
        var started: [(clientID: Int64, start: TaskStart)] = []
        for clientID in waiters.order {
            guard !dispatchOrder.isEmpty else { break }
            guard let client = clients[clientID], let (runtime, index) = chooseTask(for: client) else { continue }
            started.append((clientID, beginTask(runtime, index: index, on: client)))
        }
        guard !started.isEmpty else { return }
        do {
            try persist(started.map(\.start))
        } catch {
            for (_, start) in started.reversed() { undo(start) }
            return  // logged by writeThrough; the waiters keep waiting
        }
        for (clientID, start) in started {
            waiters.remove(clientID)?.continuation.resume(returning: start.assignment)
        }
    }

    /// Chooses the next task for a client and starts it (committed before it returns).
    func assignTask(to clientID: Int64) throws(APIError) -> WorkerProtocol.Assignment? {
        guard let client = clients[clientID], let (runtime, index) = chooseTask(for: client) else { return nil }
        let start = beginTask(runtime, index: index, on: client)
        do {
            try persist([start])
        } catch {
            undo(start)
            throw error
        }
        return start.assignment
    }

    /// Which task `client` would get next, without starting it: the first queued task of the first
    /// job in dispatch order whose tags the client has. A task goes to a client that failed it
    /// before only when no other online, enabled client with the job's tags could take it.
    func chooseTask(for client: Client) -> (JobRuntime, Int)? {
        guard client.status == .enabled, client.connection == .online, client.currentTask == nil else { return nil }
        for key in dispatchOrder.keys {
            guard let runtime = jobs[key.jobID] else { continue }
            guard runtime.job.tags.allSatisfy(client.tags.contains) else { continue }
            if let index = runtime.nextQueued(for: client.id, mayRetryOwnFailures: { self.noOtherClientCanRun($0, job: runtime.job) }) {
                return (runtime, index)
            }
        }
        return nil
    }

    /// The task `clientID` would be given next, as (job, task), without starting it.
    public func previewNextTask(for clientID: Int64) -> (jobID: Int64, taskID: Int64)? {
        guard let client = clients[clientID], let (runtime, index) = chooseTask(for: client) else { return nil }
        return (runtime.job.id, runtime.tasks[index].id)
    }

    private func noOtherClientCanRun(_ task: RenderTask, job: Job) -> Bool {
        !clients.values.contains { other in
            other.status == .enabled && other.connection == .online && !task.failedOn.contains(other.id)
                && job.tags.allSatisfy(other.tags.contains)
        }
    }

    /// A task started in memory but not yet committed, with what it takes to undo it.
    struct TaskStart {
        let runtime: JobRuntime
        let index: Int
        let previousTask: RenderTask
        let previousJob: Job
        let previousClient: Client
        let assignment: WorkerProtocol.Assignment
    }

    /// Starts a task in memory. The caller persists it with ``persist(_:)`` before anyone hears of
    /// it, or undoes it. (The client's busy activity is derived from its task; it is not stored.)
    private func beginTask(_ runtime: JobRuntime, index: Int, on client: Client) -> TaskStart {
        let time = now()
        let previousTask = runtime.tasks[index]
        let previousJob = runtime.job
        var task = previousTask
        task.status = .active
        task.clientID = client.id
        task.lease += 1
        task.framesDone = 0
        task.startedAt = time
        task.finishedAt = 0
        var job = previousJob
        if job.status == .queued { job.status = .active }
        if job.startedAt == nil { job.startedAt = time }
        var busy = client
        busy.activity = .busy
        busy.currentTask = (job.id, task.id)
        runtime.job = job
        runtime.replace(at: index, with: task)
        if runtime.queuedCount == 0 { dispatchOrder.remove(runtime.dispatchKey) }
        clients[client.id] = busy
        // A new lease has no log yet: known without asking the disk on every update.
        logAttempts[task.id] = LogAttempt(lease: task.lease, stored: 0, hasHead: false)
        logger.debug("task started", metadata: ["job": "\(job.id)", "task": "\(task.id)", "client": "\(client.id)"])
        return TaskStart(
            runtime: runtime, index: index, previousTask: previousTask, previousJob: previousJob, previousClient: client,
            assignment: WorkerProtocol.Assignment(job: job, task: task))
    }

    private func persist(_ starts: [TaskStart]) throws(APIError) {
        let tasks = starts.map { $0.runtime.tasks[$0.index] }
        var jobsChanged: [Int64: Job] = [:]
        for start in starts where start.runtime.job != start.previousJob { jobsChanged[start.runtime.job.id] = start.runtime.job }
        let jobRows = Array(jobsChanged.values)
        try writeThrough {
            for task in tasks { try store.updateTask(task) }
            for job in jobRows { try store.updateJob(job) }
        }
    }

    private func undo(_ start: TaskStart) {
        let runtime = start.runtime
        reindex(runtime) {
            runtime.replace(at: start.index, with: start.previousTask)
            runtime.job = start.previousJob
        }
        clients[start.previousClient.id] = start.previousClient
    }

    /// Changes a job's tasks or record and keeps its place in the dispatch order right: out of
    /// the order under its old key, back in under its new one while it has tasks to hand out.
    func reindex(_ runtime: JobRuntime, _ change: () -> Void) {
        dispatchOrder.remove(runtime.dispatchKey)
        change()
        if runtime.isDispatchable { dispatchOrder.insert(runtime.dispatchKey) }
    }

    /// Progress, log and outcome of a task from the worker running it.
    ///
    /// An update about a task that is no longer the worker's is refused and changes nothing. A
    /// task that was only put back in the queue (its worker went silent) and given to no one
    /// since is still the worker's: the lease decides, and the work goes on.
    public func updateTask(_ update: WorkerProtocol.TaskUpdate) async throws(APIError) -> WorkerProtocol.TaskUpdateReply {
        try authenticate(update.sender)
        guard let runtime = jobs[update.jobID], let index = runtime.index(of: update.taskID) else {
            return refuse(update, reason: "task \(update.taskID) of job \(update.jobID) no longer exists (its job was deleted)")
        }
        if isReclaimable(runtime, index: index, by: update) {
            try reclaim(runtime, index: index)
        }
        let task = runtime.tasks[index]
        guard task.status == .active, task.clientID == update.clientID, task.lease == update.lease else {
            return refuse(update, reason: staleReason(task, update))
        }
        let log = try storeLog(update, job: runtime.job, task: task)
        let chunk = task.chunk
        let verified = Int32(min(chunk.count, Set(update.framesDone).filter { chunk.contains($0) }.count))
        // A final state counts only once the attempt's whole log is stored.
        switch (update.state, log.whole) {
        case (.running, _), (_, false):
            if verified != task.framesDone {
                var progressed = task
                progressed.framesDone = verified
                try writeThrough { try store.updateTask(progressed) }
                runtime.replace(at: index, with: progressed)
            }
            return .init(accepted: true, stop: false, logOffset: log.stored)
        case (.completed, true):
            guard verified == task.chunk.count else {
                try finishAttempt(
                    runtime, index: index, outcome: .failed,
                    error: "the worker reported completion with \(verified) of \(task.chunk.count) frames verified")
                return try await withNext(update, logOffset: log.stored)
            }
            try finishAttempt(runtime, index: index, outcome: .completed, framesDone: verified)
        case (.failed, true):
            try finishAttempt(runtime, index: index, outcome: .failed, error: update.error ?? "the task failed", framesDone: verified)
        case (.released, true):
            try finishAttempt(
                runtime, index: index, outcome: .released,
                error: "attempt \(task.lease) was handed back by its worker (\(update.error ?? "no reason given"))")
        }
        return try await withNext(update, logOffset: log.stored)
    }

    /// Whether `update` may take back its task: put back in the queue under the same lease, so
    /// given to no one since, last run by this client, which runs nothing else now.
    private func isReclaimable(_ runtime: JobRuntime, index: Int, by update: WorkerProtocol.TaskUpdate) -> Bool {
        let task = runtime.tasks[index]
        return task.status == .queued && task.lease == update.lease && task.clientID == update.clientID
            && clients[update.clientID]?.currentTask == nil && !runtime.job.status.isFinished
            && update.state != .released
    }

    /// Makes a requeued task active again on the client that ran it, under the same lease.
    private func reclaim(_ runtime: JobRuntime, index: Int) throws(APIError) {
        var task = runtime.tasks[index]
        task.status = .active
        let reclaimed = task
        var job = runtime.job
        if job.status == .queued { job.status = .active }
        let changedJob = job != runtime.job ? job : nil
        try writeThrough {
            try store.updateTask(reclaimed)
            if let changedJob { try store.updateJob(changedJob) }
        }
        reindex(runtime) {
            runtime.replace(at: index, with: reclaimed)
            runtime.job = job
        }
        clients[task.clientID]!.currentTask = (job.id, task.id)
        clients[task.clientID]!.activity = .busy
        logger.info(
            "task taken back by its worker",
            metadata: ["job": "\(job.id)", "task": "\(task.id)", "client": "\(task.clientID)", "lease": "\(task.lease)"])
    }

    /// The answer to an update about a task that is no longer this worker's: stop it. Nothing
    /// changes; the worker asks for new work as usual.
    private func refuse(_ update: WorkerProtocol.TaskUpdate, reason: String) -> WorkerProtocol.TaskUpdateReply {
        if update.state != .running {
            logger.notice(
                "late result refused",
                metadata: [
                    "task": "\(update.taskID)", "client": "\(update.clientID)", "lease": "\(update.lease)", "state": "\(update.state.rawValue)",
                    "reason": "\(reason)",
                ])
        }
        return .init(accepted: false, stop: true, reason: reason)
    }

    /// Why a task is no longer the sender's, in words the worker's log can show.
    private func staleReason(_ task: RenderTask, _ update: WorkerProtocol.TaskUpdate) -> String {
        let holder = clients[task.clientID].map { "client \($0.id) (\($0.name))" } ?? "client \(task.clientID)"
        if task.lease != update.lease {
            let why = task.lease > update.lease ? (task.error.map { " after \($0)" } ?? "") : ""
            return "task \(task.id) was given to \(holder) as attempt \(task.lease)\(why)"
        }
        switch task.status {
        case .canceled: return "task \(task.id) was canceled"
        case .completed: return "task \(task.id) is already completed"
        case .failed: return "task \(task.id) failed for good: \(task.error ?? "")"
        case .queued: return "task \(task.id) was put back in the queue: \(task.error ?? "requeued")"
        case .active: return "task \(task.id) runs on \(holder)"
        }
    }

    private func withNext(_ update: WorkerProtocol.TaskUpdate, logOffset: Int) async throws(APIError) -> WorkerProtocol.TaskUpdateReply {
        guard let wait = update.nextWait else { return .init(accepted: true, stop: false, logOffset: logOffset) }
        let next = try await requestTask(update.sender, wait: wait)
        return .init(accepted: true, stop: false, logOffset: logOffset, next: next)
    }

    enum AttemptOutcome { case completed, failed, released }

    /// Ends the current attempt of an active task and frees its client.
    func finishAttempt(
        _ runtime: JobRuntime, index: Int, outcome: AttemptOutcome, error: String? = nil, framesDone: Int32 = 0
    ) throws(APIError) {
        let time = now()
        var task = runtime.tasks[index]
        var job = runtime.job
        switch outcome {
        case .completed:
            task.status = .completed
            task.framesDone = framesDone
            task.finishedAt = time
            task.error = nil
        case .failed:
            task.failures += 1
            task.error = error
            task.framesDone = 0
            task.finishedAt = time
            if !task.failedOn.contains(task.clientID) { task.failedOn.append(task.clientID) }
            if Int(task.failures) >= job.maxAttempts {
                task.status = .failed
                if !job.status.isFinished {
                    job.status = .failed
                    job.finishedAt = time
                }
            } else {
                task.status = .queued
            }
        case .released:
            task.status = .queued
            task.framesDone = 0
            task.error = error
        }
        let completedAfter = runtime.count(.completed) + (task.status == .completed ? 1 : 0)
        if completedAfter == runtime.tasks.count && job.status != .canceled {
            job.status = .completed
            job.finishedAt = time
        }
        let jobChanged = job != runtime.job
        let changedJob = job
        let changedTask = task
        try writeThrough {
            try store.updateTask(changedTask)
            if jobChanged { try store.updateJob(changedJob) }
        }
        reindex(runtime) {
            runtime.replace(at: index, with: task)
            runtime.job = job
        }
        freeClient(task.clientID, taskID: task.id)
        if task.status != .queued { logAttempts[task.id] = nil }
        switch outcome {
        case .completed:
            logger.debug("task completed", metadata: ["job": "\(job.id)", "task": "\(task.id)"])
        case .failed:
            logger.warning(
                "task failed", metadata: ["job": "\(job.id)", "task": "\(task.id)", "attempt": "\(task.failures)", "error": "\(error ?? "")"])
        case .released:
            logger.info("task requeued", metadata: ["job": "\(job.id)", "task": "\(task.id)", "reason": "\(error ?? "")"])
        }
        if jobChanged && job.status.isFinished {
            logger.info("job \(job.status.rawValue)", metadata: ["job": "\(job.id)", "name": "\(job.name)"])
        }
        if task.status == .queued { dispatchToWaiters() }
    }

    /// A task a client held was lost (the worker asked for new work, restarted, or went silent):
    /// back to the queue without counting a failure.
    func releaseLostTask(of clientID: Int64, reason: String) throws(APIError) {
        guard let current = clients[clientID]?.currentTask else { return }
        if let runtime = jobs[current.jobID], let index = runtime.index(of: current.taskID),
            runtime.tasks[index].status == .active, runtime.tasks[index].clientID == clientID
        {
            try finishAttempt(runtime, index: index, outcome: .released, error: "attempt \(runtime.tasks[index].lease) was requeued: \(reason)")
        } else {
            freeClient(clientID, taskID: current.taskID)
        }
    }

    /// Marks a client idle if it still runs `taskID` (its task ended or stopped being its own).
    /// Activity is derived from the client's task, so nothing is written.
    func freeClient(_ clientID: Int64, taskID: Int64) {
        guard clients[clientID]?.currentTask?.taskID == taskID else { return }
        clients[clientID]!.currentTask = nil
        clients[clientID]!.activity = .idle
    }
}
