import BrenderKit
import FarmCore

extension FarmSimulation {
    /// An admin action on the job or client at `index` (modulo how many there are).
    func admin(_ action: SimulationEvent.AdminAction, index: Int) async -> StepOutcome {
        let jobIDs = state.jobs.keys.sorted()
        let clientIDs = state.clients.keys.sorted()
        switch action {
        case .pause, .resume, .cancel, .requeue, .delete, .raisePriority:
            guard !jobIDs.isEmpty else { return .done }
            let id = jobIDs[index % jobIDs.count]
            let byID: [String: JSONValue] = ["id": .int(id)]
            switch action {
            case .pause: return await adminCall(APIRequest(item: "job", action: "update", filters: byID, values: ["status": "paused"]))
            case .resume: return await adminCall(APIRequest(item: "job", action: "update", filters: byID, values: ["status": "queued"]))
            case .cancel: return await adminCall(APIRequest(item: "job", action: "update", filters: byID, values: ["status": "canceled"]))
            case .requeue:
                return await adminCall(
                    APIRequest(
                        item: "task", action: "update", filters: ["job": .int(id), "status": ["failed", "canceled"]], values: ["status": "queued"]))
            case .raisePriority:
                let priority = min(100, (state.jobs[id]?.job.priority ?? 50) + 10)
                return await adminCall(APIRequest(item: "job", action: "update", filters: byID, values: ["priority": .int(Int64(priority))]))
            default:
                // A delete sent may take effect unheard (the server died after its commit): its
                // job's completions are no longer owed either way.
                acknowledged[id] = nil
                return await adminCall(APIRequest(item: "job", action: "delete", filters: byID))
            }
        case .disable, .disableNow, .enable, .deleteClient:
            guard !clientIDs.isEmpty else { return .done }
            let id = clientIDs[index % clientIDs.count]
            let byID: [String: JSONValue] = ["id": .int(id)]
            switch action {
            case .disable: return await adminCall(APIRequest(item: "client", action: "update", filters: byID, values: ["status": "disabled"]))
            case .disableNow:
                return await adminCall(APIRequest(item: "client", action: "update", filters: byID, values: ["status": "disabled"], now: true))
            case .enable: return await adminCall(APIRequest(item: "client", action: "update", filters: byID, values: ["status": "enabled"]))
            default: return await adminCall(APIRequest(item: "client", action: "delete", filters: byID, force: index % 2 == 0))
            }
        }
    }

    /// Faults stop, every worker comes back able to run anything and renders whatever it is
    /// given; paused jobs are resumed and clients enabled. Every job must then end within a
    /// bound of simulated time; finished jobs are deleted afterwards.
    func settle() async throws -> StepOutcome {
        diskIsFull = false
        try await farm.injectStoreFault(.none)
        clock.advance(1)
        await farm.checkStorage()
        _ = try await farm.handle(APIRequest(item: "client", action: "update", values: ["status": "enabled"], all: true))
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["status": "paused"], values: ["status": "queued"]))
        for index in workers.indices {
            var registration = WorkerProtocol.Registration(
                name: workers[index].name, hostname: "settle", platform: "linux-x86_64", tags: Self.tagNames, version: "sim",
                key: workers[index].key, capabilities: Self.capabilities(ofWorker: 0) + [BlenderVersions.capability("4.2.0")])
            registration.slots = 2
            let registered: WorkerProtocol.Registered
            do {
                registered = try await farm.register(registration)
            } catch {
                // Its client was deleted (its key revoked) or another process holds the name:
                // it joins again as a new process, with a new key.
                workers[index].generation += 1
                registration.key = workers[index].key
                registered = try await farm.register(registration)
            }
            workers[index].clientID = registered.clientID
            workers[index].slots = 2
            workers[index].alive = true
            workers[index].dropHeld()
        }
        let open = state.jobs.values.reduce(0) { $0 + $1.tasks.count { !$0.status.isFinished } }
        // Each round every slot takes and completes a task; a job waiting for another starts a
        // round after it, and a task's failures elsewhere delay it at most a round.
        let bound = open / (workers.count * 2) + state.jobs.count + 10
        var rounds = 0
        while rounds < bound, await !allJobsEnded() {
            rounds += 1
            clock.advance(1)
            for index in workers.indices {
                for slot in 0..<2 {
                    guard let sender = workers[index].sender, let task = try await farm.requestTask(sender, wait: 0, slot: slot) else { continue }
                    let frames = Array(task.chunk.frames)
                    let update = WorkerProtocol.TaskUpdate(
                        sender: sender, taskID: task.taskID, jobID: task.jobID, lease: task.lease, state: .completed,
                        framesDone: task.role == .render ? frames : [], log: "", logOffset: 0)
                    if try await farm.updateTask(update).accepted { acknowledged[task.jobID, default: [:]][task.taskID] = task.lease }
                }
            }
        }
        guard await allJobsEnded() else {
            let stuck = await farm.snapshot().jobs.values.filter { !$0.job.status.isFinished }.map { "job \($0.job.id) \($0.job.status.rawValue)" }
            return StepOutcome(problems: ["with faults stopped, jobs did not end within \(bound) rounds: \(stuck.sorted().joined(separator: ", "))"])
        }
        _ = try await farm.handle(APIRequest(item: "job", action: "delete", all: true))
        acknowledged = [:]
        return .done
    }

    private func allJobsEnded() async -> Bool {
        await farm.snapshot().jobs.values.allSatisfy { $0.job.status.isFinished }
    }
}
