import Foundation
import Logging

extension Farm {
    /// The longest a worker may wait in one long poll.
    static let maxWait = 30.0

    /// An idle worker asks for a task: it gets one at once, or waits up to `wait` seconds for one.
    ///
    /// Asking means the worker runs nothing; a task the server still counts as running on it was
    /// lost on the way (an answer that never arrived) and goes back to the queue.
    public func requestTask(clientID: Int64, wait: Double) async throws(APIError) -> WorkerProtocol.Assignment? {
        try touch(clientID)
        try releaseLostTask(of: clientID)
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

    private func endWait(clientID: Int64, token: UInt64) {
        waiters.remove(clientID, token: token)?.continuation.resume(returning: nil)
    }

    /// Ends every long poll with no task and refuses new waits: the server is stopping.
    public func beginShutdown() {
        isShuttingDown = true
        for waiter in waiters.removeAll() { waiter.continuation.resume(returning: nil) }
    }

    /// Hands out queued work to waiting workers, first come first served, while there is work.
    func dispatchToWaiters() {
        guard !waiters.isEmpty, !dispatchOrder.isEmpty else { return }
        for clientID in waiters.order {
            guard !dispatchOrder.isEmpty else { return }
            guard let assignment = try? assignTask(to: clientID) else { continue }
            // The waiter is there: `order` was read before any change, and only this loop removes.
            waiters.remove(clientID)?.continuation.resume(returning: assignment)
        }
    }

    /// Chooses the next task for a client and starts it: the first queued task of the first job in
    /// dispatch order whose tags the client has. A task goes to a client that failed it before only
    /// when no other online, enabled client with the job's tags could take it.
    func assignTask(to clientID: Int64) throws(APIError) -> WorkerProtocol.Assignment? {
        guard let client = clients[clientID], client.status == .enabled, client.connection == .online, client.currentTask == nil
        else { return nil }
        for key in dispatchOrder.keys {
            guard let runtime = jobs[key.jobID] else { continue }
            guard runtime.job.tags.allSatisfy(client.tags.contains) else { continue }
            guard let index = runtime.nextQueued(for: clientID, mayRetryOwnFailures: { self.noOtherClientCanRun($0, job: runtime.job) })
            else { continue }
            return try start(runtime, index: index, on: client)
        }
        return nil
    }

    private func noOtherClientCanRun(_ task: RenderTask, job: Job) -> Bool {
        !clients.values.contains { other in
            other.status == .enabled && other.connection == .online && !task.failedOn.contains(other.id)
                && job.tags.allSatisfy(other.tags.contains)
        }
    }

    private func start(_ runtime: JobRuntime, index: Int, on client: Client) throws(APIError) -> WorkerProtocol.Assignment {
        let time = now()
        var task = runtime.tasks[index]
        task.status = .active
        task.clientID = client.id
        task.lease += 1
        task.framesDone = 0
        task.startedAt = time
        task.finishedAt = 0
        var job = runtime.job
        if job.status == .queued { job.status = .active }
        if job.startedAt == nil { job.startedAt = time }
        var busy = client
        busy.activity = .busy
        busy.currentTask = (job.id, task.id)
        let jobChanged = job != runtime.job
        try writeThrough {
            try store.updateTask(task)
            if jobChanged { try store.updateJob(job) }
            try store.updateClient(busy)
        }
        runtime.job = job
        runtime.replace(at: index, with: task)
        if runtime.queuedCount == 0 { dispatchOrder.remove(runtime.dispatchKey) }
        clients[client.id] = busy
        logger.debug("task started", metadata: ["job": "\(job.id)", "task": "\(task.id)", "client": "\(client.id)"])
        return WorkerProtocol.Assignment(job: job, task: task)
    }

    /// Progress, log and outcome of a task from the worker running it.
    public func updateTask(_ update: WorkerProtocol.TaskUpdate) async throws(APIError) -> WorkerProtocol.TaskUpdateReply {
        try touch(update.clientID)
        guard let runtime = jobs[update.jobID], let index = runtime.index(of: update.taskID) else {
            return try await refuseStale(update)
        }
        let task = runtime.tasks[index]
        guard task.status == .active, task.clientID == update.clientID, task.lease == update.lease else {
            return try await refuseStale(update)
        }
        appendLog(update, runtime: runtime, task: task)
        let verified = Int32(min(task.chunk.count, Set(update.framesDone).filter { task.chunk.frames.contains($0) }.count))
        switch update.state {
        case .running:
            if verified != task.framesDone {
                var progressed = task
                progressed.framesDone = verified
                try writeThrough { try store.updateTask(progressed) }
                runtime.replace(at: index, with: progressed)
            }
            return .init(accepted: true, stop: false)
        case .completed:
            guard verified == task.chunk.count else {
                try finishAttempt(
                    runtime, index: index, outcome: .failed,
                    error: "the worker reported completion with \(verified) of \(task.chunk.count) frames verified")
                return try await withNext(update, accepted: true)
            }
            try finishAttempt(runtime, index: index, outcome: .completed, framesDone: verified)
        case .failed:
            try finishAttempt(runtime, index: index, outcome: .failed, error: update.error ?? "the task failed", framesDone: verified)
        case .released:
            try finishAttempt(runtime, index: index, outcome: .released)
        }
        return try await withNext(update, accepted: true)
    }

    /// The answer to an update about a task that is no longer this worker's: stop it. A final
    /// update still gets the next task, since the worker is idle now.
    private func refuseStale(_ update: WorkerProtocol.TaskUpdate) async throws(APIError) -> WorkerProtocol.TaskUpdateReply {
        if update.state != .running, let current = clients[update.clientID]?.currentTask, current.taskID == update.taskID {
            freeClient(update.clientID, taskID: update.taskID)
        }
        return try await withNext(update, accepted: false)
    }

    private func withNext(_ update: WorkerProtocol.TaskUpdate, accepted: Bool) async throws(APIError) -> WorkerProtocol.TaskUpdateReply {
        guard update.state != .running, let wait = update.nextWait else {
            return .init(accepted: accepted, stop: !accepted)
        }
        let next = try await requestTask(clientID: update.clientID, wait: wait)
        return .init(accepted: accepted, stop: !accepted, next: next)
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
        }
        let completedAfter = runtime.count(.completed) + (task.status == .completed ? 1 : 0)
        if completedAfter == runtime.tasks.count && job.status != .canceled {
            job.status = .completed
            job.finishedAt = time
        }
        var client = clients[task.clientID]
        client?.activity = .idle
        client?.currentTask = nil
        let jobChanged = job != runtime.job
        let freed = client
        try writeThrough {
            try store.updateTask(task)
            if jobChanged { try store.updateJob(job) }
            if let freed { try store.updateClient(freed) }
        }
        let oldKey = runtime.dispatchKey
        runtime.replace(at: index, with: task)
        runtime.job = job
        dispatchOrder.remove(oldKey)
        if runtime.isDispatchable { dispatchOrder.insert(runtime.dispatchKey) }
        if let freed { clients[freed.id] = freed }
        switch outcome {
        case .completed:
            logger.debug("task completed", metadata: ["job": "\(job.id)", "task": "\(task.id)"])
        case .failed:
            logger.warning(
                "task failed", metadata: ["job": "\(job.id)", "task": "\(task.id)", "attempt": "\(task.failures)", "error": "\(error ?? "")"])
        case .released:
            logger.info("task requeued", metadata: ["job": "\(job.id)", "task": "\(task.id)"])
        }
        if jobChanged && job.status.isFinished {
            logger.info("job \(job.status.rawValue)", metadata: ["job": "\(job.id)", "name": "\(job.name)"])
        }
        if task.status == .queued { dispatchToWaiters() }
    }

    /// A task a client held was lost (the worker asked for new work, restarted, or went silent):
    /// back to the queue without counting a failure.
    func releaseLostTask(of clientID: Int64) throws(APIError) {
        guard let current = clients[clientID]?.currentTask else { return }
        if let runtime = jobs[current.jobID], let index = runtime.index(of: current.taskID),
            runtime.tasks[index].status == .active, runtime.tasks[index].clientID == clientID
        {
            try finishAttempt(runtime, index: index, outcome: .released)
        } else {
            freeClient(clientID, taskID: current.taskID)
        }
    }

    /// Marks a client idle when it ran `task` (used when the task stopped being its own).
    func freeClient(_ clientID: Int64, from task: RenderTask) {
        freeClient(clientID, taskID: task.id)
    }

    func freeClient(_ clientID: Int64, taskID: Int64) {
        guard var client = clients[clientID], client.currentTask?.taskID == taskID else { return }
        client.currentTask = nil
        client.activity = .idle
        let freed = client
        do {
            try writeThrough { try store.updateClient(freed) }
        } catch {
            return  // logged; the client's activity is corrected at its next request
        }
        clients[clientID] = freed
    }

    /// Records that a worker was heard from (in memory; heartbeats persist it).
    func touch(_ clientID: Int64) throws(APIError) {
        guard clients[clientID] != nil else {
            throw APIError(.notFound, "client \(clientID) is not registered; register again", field: "client_id")
        }
        clients[clientID]!.lastSeen = now()
    }

    private func appendLog(_ update: WorkerProtocol.TaskUpdate, runtime: JobRuntime, task: RenderTask) {
        guard !update.log.isEmpty else { return }
        // After a server restart the count is unknown: take the worker's offset as the truth.
        var received = logReceived[task.id].flatMap { $0.lease == task.lease ? $0 : nil } ?? (lease: task.lease, bytes: update.logOffset)
        var text = update.log
        let end = update.logOffset + update.log.utf8.count
        if end <= received.bytes { return }  // a resent chunk we already have
        if update.logOffset < received.bytes {
            text = String(decoding: Array(update.log.utf8).dropFirst(received.bytes - update.logOffset), as: UTF8.self)
        }
        if update.logOffset == 0 && received.bytes == 0 {
            let name = clients[update.clientID]?.name ?? "?"
            text = "--- attempt \(task.lease) of task \(task.id) (frames \(task.chunk.description)) on client \(update.clientID) (\(name)), \(Timestamp.format(now())) ---\n" + text
        }
        do {
            try logs.append(text, jobID: runtime.job.id, taskID: task.id)
            received.bytes = end
            logReceived[task.id] = received
        } catch {
            logger.error("cannot write task log", metadata: ["task": "\(task.id)", "error": "\(error)"])
        }
    }
}
