import FarmCore
import Logging

extension Farm {
    /// Checks that who runs what agrees both ways, and repairs what does not:
    ///
    /// - an active task's client exists, is online, and runs that task (else the task goes back
    ///   to the queue);
    /// - a busy client's task exists and is active on it (else the client is idle);
    /// - a waiting job waits only for jobs that may still complete (else it fails, saying why);
    /// - a finished job has no queued or active task (else they are canceled).
    ///
    /// Run at start-up and periodically. Every repair is logged as a warning: it means a bug.
    /// - Returns: what was repaired, in words.
    @discardableResult
    public func repairInvariants() -> [String] {
        var repairs: [String] = []
        for jobID in jobIDs {
            guard let runtime = jobs[jobID], runtime.count(.active) > 0 else { continue }
            for index in runtime.tasks.indices where runtime.tasks[index].status == .active {
                let task = runtime.tasks[index]
                guard let problem = problem(with: task) else { continue }
                do {
                    try finishAttempt(
                        runtime, index: index, .release(reason: "attempt \(task.lease) was requeued: the server found it active, but \(problem)"))
                    repairs.append("task \(task.id) was active but \(problem); requeued")
                } catch {
                    repairs.append("task \(task.id) was active but \(problem); the requeue failed (\(error)), tried again later")
                }
            }
        }
        for id in clients.keys {
            for (slot, current) in clients[id]?.running.sorted(by: { $0.key < $1.key }) ?? [] {
                let task = jobs[current.jobID].flatMap { runtime in runtime.index(of: current.taskID).map { runtime.tasks[$0] } }
                if task == nil || task!.status != .active || task!.clientID != id || Int(task!.slot) != slot {
                    _ = try? change { batch throws(FarmError) in freeClient(id, taskID: current.taskID, in: batch) }
                    repairs.append("client \(id) was busy in slot \(slot) with task \(current.taskID), which it does not run there; now free")
                }
            }
        }
        for jobID in jobIDs {
            guard let runtime = jobs[jobID] else { continue }
            let state = dependencyState(of: runtime.job)
            if runtime.job.status == .waiting, state == .met || state.isBroken {
                do {
                    try change { batch throws(FarmError) in try apply(.dependenciesChanged(state), to: runtime, in: batch) }
                    repairs.append("job \(jobID) was waiting for jobs that had ended; now \(runtime.job.status.rawValue)")
                } catch {
                    repairs.append("job \(jobID) was waiting for jobs that had ended; the change failed (\(error)), tried again later")
                }
            }
            if runtime.job.status.isFinished && runtime.count(.queued) + runtime.count(.active) > 0 {
                let count = runtime.count(.queued) + runtime.count(.active)
                do {
                    try change { batch throws(FarmError) in
                        for index in runtime.tasks.indices where !runtime.tasks[index].status.isFinished {
                            try apply(.cancel(reason: "its job is \(runtime.job.status.rawValue)"), to: runtime, at: index, in: batch)
                        }
                    }
                    repairs.append("job \(jobID) was \(runtime.job.status.rawValue) with \(count) open tasks; they were canceled")
                } catch {
                    repairs.append("job \(jobID) is finished with open tasks; canceling them failed (\(error)), tried again later")
                }
            }
        }
        for repair in repairs {
            logger.warning("farm state repaired", metadata: ["repair": "\(repair)"])
        }
        if !repairs.isEmpty { dispatchToWaiters() }
        return repairs
    }

    /// What is wrong with an active task's client, if anything.
    private func problem(with task: RenderTask) -> String? {
        guard let client = clients[task.clientID] else { return "its client \(task.clientID) does not exist" }
        if client.connection == .offline { return "its client \(client.name) is offline" }
        if client.running[Int(task.slot)]?.taskID != task.id { return "its client \(client.name) does not run it" }
        return nil
    }
}
