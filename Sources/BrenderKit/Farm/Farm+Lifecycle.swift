import FarmCore
import Logging

/// Where the lifecycles meet the farm's state: every status change goes through ``apply(_:to:at:in:)``
/// (tasks) or ``apply(_:to:in:)`` (jobs), inside a ``change(_:)`` that persists it all at once.
extension Farm {
    /// Runs `body` as one change of the farm: what it applies to memory is written in one
    /// transaction, or undone when that fails (or `body` throws), so a request changes all it
    /// asks or nothing. Workers are woken and log lines written only once it is committed.
    func change<T>(useReserve: Bool = true, _ body: (ChangeBatch) throws(FarmError) -> T) throws(FarmError) -> T {
        let batch = ChangeBatch()
        let result: T
        var inParts: [UnwrittenChange] = []
        do {
            result = try body(batch)
            try refuseChangesBeingWritten(batch)
            inParts = cancelsInParts(batch)
        } catch {
            rollback(batch)
            throw error
        }
        if batch.hasRows {
            let later = Set(inParts.flatMap(\.taskIDs))
            let taskRows = batch.tasks.lazy.map { $0.runtime.tasks[$0.index] }.filter { later.isEmpty || !later.contains($0.id) }
            let jobRows = batch.jobs.map { $0.runtime.job }
            let lists = batch.blocklists.map { ($0.runtime.job.id, $0.runtime.blocklist) }
            do {
                try writeThrough(useReserve: useReserve) {
                    for task in taskRows { try store.updateTask(task) }
                    for job in jobRows { try store.updateJob(job) }
                    for (jobID, list) in lists { try store.saveBlocklist(jobID: jobID, list) }
                    for id in batch.clientRows { if let client = clients[id] { try store.updateClient(client) } }
                    for write in batch.writes { try write() }
                    for pending in inParts { try store.beginChangeInParts(pending.change) }
                }
            } catch {
                rollback(batch)
                throw error
            }
            for pending in inParts { unwritten[pending.change.jobID] = pending }
        }
        for (taskID, lease) in batch.attemptsBegan { logAttempts[taskID] = LogAttempt(lease: lease, stored: 0, hasHead: false) }
        for taskID in batch.attemptsEnded { logAttempts[taskID] = nil }
        countFrames(batch)
        for note in batch.notes { note() }
        publish(batch)
        if !inParts.isEmpty { writeChangesInParts() }
        if batch.mayWake { dispatchToWaiters() }
        return result
    }

    /// Tells event readers what a committed batch changed: each task's new state, then each
    /// touched job's (its counters moved with its tasks), then each client's.
    private func publish(_ batch: ChangeBatch) {
        events.publish { () -> [FarmEvent.Body] in
            var bodies: [FarmEvent.Body] = []
            bodies.reserveCapacity(batch.tasks.count + batch.jobs.count + batch.clients.count + 1)
            var jobSeen = SeenIDs()
            var touchedJobs: [JobRuntime] = []
            for (runtime, index, _) in batch.tasks {
                bodies.append(.task(runtime.tasks[index]))
                if jobSeen.insert(runtime.job.id) { touchedJobs.append(runtime) }
            }
            for (runtime, _) in batch.jobs where jobSeen.insert(runtime.job.id) { touchedJobs.append(runtime) }
            for runtime in touchedJobs { bodies.append(.job(JobSummary(runtime))) }
            for (id, _) in batch.clients {
                if let client = clients[id] { bodies.append(.client(ClientSummary(client))) }
            }
            return bodies
        }
    }

    /// Adds the frames a committed batch verified to the farm's throughput.
    private func countFrames(_ batch: ChangeBatch) {
        var rendered = 0
        for (runtime, index, before) in batch.tasks {
            let task = runtime.tasks[index]
            if task.role == .render && task.lease == before.lease { rendered += max(0, Int(task.framesDone) - Int(before.framesDone)) }
        }
        if rendered > 0 {
            let time = now()
            throughput.record(rendered, at: time, now: time)
        }
    }

    /// Tells event readers a client's new state (or that it is gone).
    func announce(client id: Int64) {
        events.publish { [clients[id].map { .client(ClientSummary($0)) } ?? .clientDeleted(id)] }
    }

    private func rollback(_ batch: ChangeBatch) {
        for (runtime, index, before) in batch.tasks.reversed() {
            reindex(runtime) { runtime.replace(at: index, with: before) }
        }
        for (runtime, before) in batch.jobs.reversed() {
            reindex(runtime) { runtime.job = before }
        }
        for (runtime, before) in batch.blocklists { runtime.blocklist = before }
        for (id, before) in batch.clients.reversed() where clients[id] != nil { clients[id] = before }
    }

    /// Changes a job's tasks or record and keeps its place in the dispatch order right: out of
    /// the order under its old key, back in under its new one while it has tasks to hand out.
    func reindex(_ runtime: JobRuntime, _ change: () -> Void) {
        let before = runtime.isDispatchable ? runtime.dispatchKey : nil
        change()
        let after = runtime.isDispatchable ? runtime.dispatchKey : nil
        guard before != after else { return }
        if let before { dispatchOrder.remove(before) }
        if let after { dispatchOrder.insert(after) }
    }

    /// Applies a task event (see ``TaskLifecycle``) and carries out what it implies: the client
    /// freed, the blocklist counted, the log cache, idle workers woken. The job's own rules
    /// run in ``settle(_:in:)``, once the caller's task changes are all made.
    @discardableResult
    func apply(_ event: TaskEvent, to runtime: JobRuntime, at index: Int, in batch: ChangeBatch) throws(FarmError) -> TaskTransition {
        let transition: TaskTransition
        do {
            transition = try TaskLifecycle.apply(event, to: runtime.tasks[index], at: now())
        } catch {
            throw error
        }
        let task = transition.task
        batch.recordTask(runtime, index)
        reindex(runtime) { runtime.replace(at: index, with: task) }
        if let clientID = transition.freedClient { freeClient(clientID, taskID: task.id, in: batch) }
        if transition.attemptBegan { batch.attemptsBegan.append((task.id, task.lease)) }
        if task.status.isFinished { batch.attemptsEnded.append(task.id) }
        if transition.nowQueued { batch.mayWake = true }
        if let clientID = transition.failedOnClient {
            batch.recordBlocklist(runtime)
            let failures = runtime.blocklist.recordFailure(on: clientID)
            if failures == runtime.job.blocklistThreshold {
                let name = clients[clientID]?.name ?? "client \(clientID)"
                let jobID = runtime.job.id
                batch.notes.append {
                    self.logger.warning(
                        "client blocklisted for a job",
                        metadata: ["job": "\(jobID)", "client": "\(clientID)", "name": "\(name)", "failures": "\(failures)"])
                }
            }
        }
        let jobID = runtime.job.id
        switch event {
        case .start, .reclaim, .progress, .requeue:
            break
        case .complete:
            if logger.logLevel <= .debug {
                batch.notes.append { self.logger.debug("task completed", metadata: ["job": "\(jobID)", "task": "\(task.id)"]) }
            }
        case .fail(let error, _):
            batch.notes.append {
                self.logger.warning(
                    "task failed", metadata: ["job": "\(jobID)", "task": "\(task.id)", "attempt": "\(task.failures)", "error": "\(error)"])
            }
        case .release(let reason, _):
            batch.notes.append { self.logger.info("task requeued", metadata: ["job": "\(jobID)", "task": "\(task.id)", "reason": "\(reason)"]) }
        case .cancel:
            break
        }
        return transition
    }

    /// Applies a job event (see ``JobLifecycle``) and carries out what it implies: open tasks
    /// canceled, idle workers woken, jobs that wait for this one looked at again.
    func apply(_ event: JobEvent, to runtime: JobRuntime, in batch: ChangeBatch) throws(FarmError) {
        if JobLifecycle.leavesUnchanged(
            event, status: runtime.job.status, started: runtime.job.startedAt != nil, failFast: runtime.job.failFast)
        {
            return
        }
        let transition: JobTransition
        do {
            transition = try JobLifecycle.apply(event, to: runtime.job, at: now())
        } catch {
            throw error
        }
        guard transition.job != runtime.job || transition.cancel != nil else { return }
        let before = runtime.job
        batch.recordJob(runtime)
        let wasDispatchable = runtime.isDispatchable
        reindex(runtime) { runtime.job = transition.job }
        if !wasDispatchable && runtime.isDispatchable { batch.mayWake = true }
        let job = runtime.job
        if job.status != before.status {
            batch.notes.append {
                self.logger.info(
                    "job \(job.status.rawValue)", metadata: ["job": "\(job.id)", "name": "\(job.name)", "reason": "\(job.reason ?? "")"])
            }
        }
        if let cancel = transition.cancel {
            for index in runtime.tasks.indices {
                let task = runtime.tasks[index]
                guard task.status == .queued || task.status == .active, cancel.role == nil || cancel.role == task.role else { continue }
                try apply(.cancel(reason: cancel.reason), to: runtime, at: index, in: batch)
            }
            try settle(runtime, in: batch)
        }
        if transition.finishedChanged { try dependenciesChanged(of: job.id, in: batch) }
    }

    /// Runs the job's rules after its tasks changed: it may complete, fail, or cancel tasks
    /// that can no longer run.
    func settle(_ runtime: JobRuntime, in batch: ChangeBatch) throws(FarmError) {
        try apply(.tasksChanged(runtime.tally), to: runtime, in: batch)
    }

    /// Fails the job at once when no client could ever run it.
    func checkCapability(_ runtime: JobRuntime, in batch: ChangeBatch) throws(FarmError) {
        guard runtime.job.status.isDispatchable || runtime.job.status == .paused,
            let why = DispatchPolicy.whyNoClientCanRun(runtime, clients: clients.values)
        else { return }
        try apply(.noCapableClient("no client can run it: \(why)"), to: runtime, in: batch)
    }

    /// Where a job's `--after` jobs stand, those in `deleting` taken as deleted.
    func dependencyState(of job: Job, deleting: Set<Int64> = []) -> DependencyState {
        Dependencies.state(of: job.after) { deleting.contains($0) ? nil : jobs[$0]?.job.status }
    }

    /// A job finished, came back or went away (is among `deleting`, in the same change): the jobs
    /// that wait for it look again.
    func dependenciesChanged(of jobID: Int64, in batch: ChangeBatch, deleting: Set<Int64> = []) throws(FarmError) {
        for id in dependents[jobID] ?? [] where !deleting.contains(id) {
            // A job that has not started yet waits again when a job it waits for comes back.
            guard let runtime = jobs[id], runtime.job.status == .waiting || (runtime.job.status == .queued && runtime.job.startedAt == nil)
            else { continue }
            try apply(.dependenciesChanged(dependencyState(of: runtime.job, deleting: deleting)), to: runtime, in: batch)
            if runtime.job.status.isDispatchable { try checkCapability(runtime, in: batch) }
        }
    }

    /// Marks a client's slot busy with a task.
    func occupy(_ slot: WorkerSlot, jobID: Int64, taskID: Int64, in batch: ChangeBatch) {
        guard let client = clients[slot.clientID] else { return }
        batch.recordClient(client)
        clients[slot.clientID]!.running[slot.slot] = Client.RunningTask(jobID: jobID, taskID: taskID)
    }

    /// Frees the client's slot that runs `taskID`, if one still does. Activity is derived from
    /// the client's tasks, so nothing is written.
    func freeClient(_ clientID: Int64, taskID: Int64, in batch: ChangeBatch) {
        guard let client = clients[clientID], let slot = client.running.first(where: { $0.value.taskID == taskID })?.key else { return }
        batch.recordClient(client)
        clients[clientID]!.running[slot] = nil
    }
}
