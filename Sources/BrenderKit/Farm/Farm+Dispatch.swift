import FarmCore
import Foundation
import Logging

extension Farm {
    /// The longest a worker may wait in one long poll.
    static let maxWait = 30.0

    /// An idle slot of a worker asks for a task: it gets one at once, or waits up to `wait`
    /// seconds for one.
    ///
    /// Asking means the slot runs nothing; a task the server still counts as running in it was
    /// lost on the way (an answer that never arrived) and goes back to the queue.
    /// - Parameters:
    ///   - warmJob: the job whose file the slot's Blender has loaded (preferred among jobs of the
    ///     same priority).
    ///   - slot: which of the client's slots asks (0 for a worker with one).
    public func requestTask(_ sender: WorkerProtocol.Sender, wait: Double, warmJob: Int64? = nil, slot: Int = 0) async throws(APIError)
        -> WorkerProtocol.Assignment?
    {
        try await answering { () async throws(FarmError) in try await requestWork(sender, slot: slot, wait: wait, warmJob: warmJob) }
    }

    func requestWork(_ sender: WorkerProtocol.Sender, slot: Int, wait: Double, warmJob: Int64? = nil) async throws(FarmError)
        -> WorkerProtocol.Assignment?
    {
        let client = try authenticate(sender)
        guard slot >= 0 && slot < client.slots else {
            throw FarmError.invalid(
                "client \(client.id) (\(client.name)) has \(client.slots) slot\(client.slots == 1 ? "" : "s"); slot \(slot) is not one of them",
                field: "slot")
        }
        let asking = WorkerSlot(clientID: sender.clientID, slot: slot)
        // One transaction: a request refused (a full disk) hands nothing back either.
        let assignment = try change { batch throws(FarmError) in
            try handBackTasks(
                of: sender.clientID, slot: slot, reason: "its worker asked for new work without reporting it (an answer was lost)", in: batch)
            return try startNextTask(for: asking, warmJob: warmJob, in: batch)
        }
        if let assignment { return assignment }
        let wait = min(Farm.maxWait, max(0, wait))
        guard wait > 0, !isShuttingDown else { return nil }
        return await withCheckedContinuation { continuation in
            let token = waiters.add(asking, warmJob: warmJob, continuation)
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(wait))
                await self?.endWait(asking, token: token)
            }
        }
    }

    /// Ends a slot's long poll with no task: the one set with `token`, or whichever it has.
    func endWait(_ slot: WorkerSlot, token: UInt64? = nil) {
        waiters.remove(slot, token: token)?.continuation.resume(returning: nil)
    }

    /// Ends the long polls of every slot of a client with no task.
    func endWait(clientID: Int64) {
        for waiter in waiters.remove(clientID: clientID) { waiter.continuation.resume(returning: nil) }
    }

    /// Ends every long poll with no task and every event stream, and refuses new ones: the
    /// server is stopping.
    public func beginShutdown() {
        isShuttingDown = true
        for waiter in waiters.removeAll() { waiter.continuation.resume(returning: nil) }
        events.close()
    }

    /// Hands out queued work to waiting workers, first come first served, while there is work:
    /// all in one transaction, and each waiter answered only after it is committed. Called on
    /// every change that may free work, and periodically (for clients whose working hours ended).
    func dispatchToWaiters() {
        guard !waiters.isEmpty, !dispatchOrder.isEmpty else { return }
        let start = ContinuousClock.now
        defer { metrics.observeDispatchRound(seconds: (ContinuousClock.now - start).inSeconds) }
        let started: [(slot: WorkerSlot, assignment: WorkerProtocol.Assignment)]
        do {
            started = try change { batch throws(FarmError) in
                var started: [(WorkerSlot, WorkerProtocol.Assignment)] = []
                for slot in waiters.order {
                    guard !dispatchOrder.isEmpty else { break }
                    guard let assignment = try startNextTask(for: slot, warmJob: waiters[slot]?.warmJob, in: batch) else { continue }
                    started.append((slot, assignment))
                }
                return started
            }
        } catch {
            return  // logged by writeThrough; the waiters keep waiting
        }
        for (slot, assignment) in started {
            waiters.remove(slot)?.continuation.resume(returning: assignment)
        }
    }

    /// Starts the task ``DispatchPolicy`` chooses for the slot, in `batch`.
    private func startNextTask(for slot: WorkerSlot, warmJob: Int64?, in batch: ChangeBatch) throws(FarmError) -> WorkerProtocol.Assignment? {
        guard let client = clients[slot.clientID], client.isFree(slot: slot.slot),
            let (runtime, index) = chooseTask(for: client, warmJob: warmJob)
        else { return nil }
        let task = try apply(.start(clientID: client.id, slot: slot.slot), to: runtime, at: index, in: batch).task
        try apply(.taskStarted, to: runtime, in: batch)
        occupy(slot, jobID: runtime.job.id, taskID: task.id, in: batch)
        return assignment(runtime.job, task, for: client)
    }

    /// Which task `client` would get next (see ``DispatchPolicy``), without starting it.
    func chooseTask(for client: Client, warmJob: Int64? = nil) -> (JobRuntime, Int)? {
        DispatchPolicy.choose(for: client, warmJob: warmJob, order: dispatchOrder, jobs: jobs, clients: clients, at: now())
    }

    /// The task `clientID` would be given next, as (job, task), without starting it.
    public func previewNextTask(for clientID: Int64) -> (jobID: Int64, taskID: Int64)? {
        guard let client = clients[clientID], let (runtime, index) = chooseTask(for: client) else { return nil }
        return (runtime.job.id, runtime.tasks[index].id)
    }

    /// What a worker is told to run, its paths rewritten for the client's platform.
    func assignment(_ job: Job, _ task: RenderTask, for client: Client) -> WorkerProtocol.Assignment {
        var assignment = WorkerProtocol.Assignment(job: job, task: task)
        guard !pathMaps.isEmpty else { return assignment }
        let platform = PathPlatform(clientPlatform: client.platform)
        assignment.file = PathMapping.rewrite(assignment.file, for: platform, maps: pathMaps)
        assignment.output = PathMapping.rewrite(assignment.output, for: platform, maps: pathMaps)
        if let video = assignment.video { assignment.video?.path = PathMapping.rewrite(video.path, for: platform, maps: pathMaps) }
        return assignment
    }

    /// Progress, log and outcome of a task from the worker running it.
    ///
    /// An update about a task that is no longer the worker's is refused and changes nothing. A
    /// task that was only put back in the queue (its worker went silent) and given to no one
    /// since is still the worker's: the lease decides, and the work goes on.
    public func updateTask(_ update: WorkerProtocol.TaskUpdate) async throws(APIError) -> WorkerProtocol.TaskUpdateReply {
        try await answering { () async throws(FarmError) in try await report(update) }
    }

    private func report(_ update: WorkerProtocol.TaskUpdate) async throws(FarmError) -> WorkerProtocol.TaskUpdateReply {
        try authenticate(update.sender)
        guard let runtime = jobs[update.jobID], let index = runtime.index(of: update.taskID) else {
            return refuse(update, reason: "task \(update.taskID) of job \(update.jobID) no longer exists (its job was deleted)")
        }
        if isReclaimable(runtime, index: index, by: update) {
            try reclaim(runtime, index: index)
        }
        let task = runtime.tasks[index]
        let slot = Int(task.slot)
        guard task.status == .active, task.clientID == update.clientID, task.lease == update.lease else {
            return refuse(update, reason: staleReason(task, update))
        }
        let log = try storeLog(update, job: runtime.job, task: task)
        let chunk = task.chunk
        let verified = task.role == .render ? Int32(min(chunk.count, Set(update.framesDone).filter { chunk.contains($0) }.count)) : 0
        // A final state counts only once the attempt's whole log is stored.
        switch (update.state, log.whole) {
        case (.running, _), (_, false):
            if verified != task.framesDone {
                try change { batch throws(FarmError) in _ = try apply(.progress(framesDone: verified), to: runtime, at: index, in: batch) }
            }
            return .init(accepted: true, stop: false, logOffset: log.stored)
        case (.completed, true):
            guard verified == task.frameCount else {
                try finishAttempt(
                    runtime, index: index,
                    .fail(
                        error: "the worker reported completion with \(verified) of \(task.frameCount) frames verified",
                        maxAttempts: runtime.job.maxAttempts))
                return try await withNext(update, slot: slot, logOffset: log.stored)
            }
            try finishAttempt(runtime, index: index, .complete(framesDone: verified))
        case (.failed, true):
            try finishAttempt(runtime, index: index, .fail(error: update.error ?? "the task failed", maxAttempts: runtime.job.maxAttempts))
        case (.released, true):
            try finishAttempt(
                runtime, index: index, .release(reason: "attempt \(task.lease) was handed back by its worker (\(update.error ?? "no reason given"))"))
        }
        return try await withNext(update, slot: slot, logOffset: log.stored)
    }

    /// Whether `update` may take back its task: put back in the queue only because its worker
    /// went silent, under the same lease, so given to no one since, last run by this client,
    /// whose slot that ran it runs nothing else now.
    private func isReclaimable(_ runtime: JobRuntime, index: Int, by update: WorkerProtocol.TaskUpdate) -> Bool {
        let task = runtime.tasks[index]
        return task.isResumable && task.lease == update.lease && task.clientID == update.clientID
            && clients[update.clientID]?.isFree(slot: Int(task.slot)) == true && runtime.job.status.isDispatchable
            && update.state != .released
    }

    /// Makes a requeued task active again on the client that ran it, under the same lease.
    private func reclaim(_ runtime: JobRuntime, index: Int) throws(FarmError) {
        let task = runtime.tasks[index]
        try change { batch throws(FarmError) in
            try apply(.reclaim, to: runtime, at: index, in: batch)
            try apply(.taskStarted, to: runtime, in: batch)
            occupy(WorkerSlot(clientID: task.clientID, slot: Int(task.slot)), jobID: runtime.job.id, taskID: task.id, in: batch)
        }
        logger.info(
            "task taken back by its worker",
            metadata: ["job": "\(runtime.job.id)", "task": "\(task.id)", "client": "\(task.clientID)", "lease": "\(task.lease)"])
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
        case .canceled: return "task \(task.id) was canceled" + (task.error.map { ": \($0)" } ?? "")
        case .completed: return "task \(task.id) is already completed"
        case .failed: return "task \(task.id) failed for good: \(task.error ?? "")"
        case .queued: return "task \(task.id) was put back in the queue: \(task.error ?? "requeued")"
        case .active: return "task \(task.id) runs on \(holder)"
        }
    }

    /// The reply to a final update, with the slot's next task when the worker asked for one.
    private func withNext(_ update: WorkerProtocol.TaskUpdate, slot: Int, logOffset: Int) async throws(FarmError)
        -> WorkerProtocol.TaskUpdateReply
    {
        guard let wait = update.nextWait else { return .init(accepted: true, stop: false, logOffset: logOffset) }
        let next = try await requestWork(update.sender, slot: slot, wait: wait, warmJob: update.warmJob)
        return .init(accepted: true, stop: false, logOffset: logOffset, next: next)
    }

    /// Ends the current attempt of an active task (`complete`, `fail` or `release`), frees its
    /// client, and runs the job's rules, all in one change.
    func finishAttempt(_ runtime: JobRuntime, index: Int, _ event: TaskEvent) throws(FarmError) {
        try change { batch throws(FarmError) in try endAttempt(runtime, index: index, event, in: batch) }
    }

    /// Ends a task's attempt in `batch`, and runs the job's rules after it.
    private func endAttempt(_ runtime: JobRuntime, index: Int, _ event: TaskEvent, in batch: ChangeBatch) throws(FarmError) {
        let transition = try apply(event, to: runtime, at: index, in: batch)
        try settle(runtime, in: batch)
        if let clientID = transition.failedOnClient, runtime.blocklist.isBlocked(clientID, threshold: runtime.job.blocklistThreshold) {
            try checkCapability(runtime, in: batch)
        }
    }

    /// Puts back in the queue, in `batch`, what a client's slots run. `slot`: only the task of
    /// that slot (nil: every slot's). `resumable`: the worker may still be running it (it only
    /// went silent) and may take it back while no one else has.
    func handBackTasks(of clientID: Int64, slot: Int? = nil, reason: String, resumable: Bool = false, in batch: ChangeBatch) throws(FarmError) {
        guard let client = clients[clientID] else { return }
        let lost = slot.map { slot in client.running[slot].map { [$0] } ?? [] } ?? client.running.sorted { $0.key < $1.key }.map(\.value)
        for current in lost {
            if let runtime = jobs[current.jobID], let index = runtime.index(of: current.taskID),
                runtime.tasks[index].status == .active, runtime.tasks[index].clientID == clientID
            {
                let event = TaskEvent.release(reason: "attempt \(runtime.tasks[index].lease) was requeued: \(reason)", resumable: resumable)
                try endAttempt(runtime, index: index, event, in: batch)
            } else {
                freeClient(clientID, taskID: current.taskID, in: batch)
            }
        }
    }

    /// Applies a client event in `batch`: first the tasks it hands back
    /// (``ClientEvent/handsBackTasks``, with `handBackReason`), then the client's new record, in
    /// memory now and its row in the batch's transaction.
    @discardableResult
    func apply(_ event: ClientEvent, toClient id: Int64, handBackReason: @autoclosure () -> String, in batch: ChangeBatch) throws(FarmError)
        -> ClientTransition?
    {
        guard clients[id] != nil else { return nil }
        if let handBack = event.handsBackTasks {
            try handBackTasks(of: id, reason: handBackReason(), resumable: handBack == .resumable, in: batch)
        }
        let transition = ClientLifecycle.apply(event, to: clients[id]!, at: now())
        if transition.needsWrite { replaceClient(transition.client, in: batch) }
        return transition
    }

    /// Puts `client` in place of its record in `batch`: in memory now (undone if the batch
    /// fails), its row written in the batch's transaction.
    func replaceClient(_ client: Client, in batch: ChangeBatch) {
        guard let current = clients[client.id] else { return }
        batch.recordClient(current)
        clients[client.id] = client
        batch.writeClientRow(client.id)
    }
}
