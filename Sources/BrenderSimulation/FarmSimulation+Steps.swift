import BrenderKit
import FarmCore

/// What one event did: whether the farm refused it (then it must have changed nothing), and
/// what a check made during it found.
struct StepOutcome {
    /// Why the farm refused the event, when it did.
    var refusal: String?
    var problems: [String] = []

    static let done = StepOutcome()
    static func refused(_ why: String) -> StepOutcome { StepOutcome(refusal: why) }
}

extension FarmSimulation {
    func apply(_ event: SimulationEvent) async throws -> StepOutcome {
        switch event {
        case .submit(let recipe): return await submit(recipe)
        case .register(let worker, let slots, let newKey): return await register(worker, slots: slots, newKey: newKey)
        case .ask(let worker, let slot, let lost): return await ask(worker, slot: slot, lost: lost)
        case .progress(let worker, let slot): return await progress(worker, slot: slot)
        case .finish(let worker, let slot, let outcome, let lost): return await finish(worker, slot: slot, outcome, lost: lost)
        case .resend(let worker):
            guard let update = workers[worker].lastUpdate, workers[worker].alive else { return .done }
            return await send(update, from: worker, heard: true)
        case .stale(let worker):
            let w = workers[worker]
            let held = Set(w.held.values.map(\.taskID))
            guard w.alive, let old = w.oldUpdates.last(where: { !held.contains($0.taskID) }) else { return .done }
            return await send(old, from: worker, heard: true)
        case .heartbeat(let worker):
            guard workers[worker].alive, let sender = workers[worker].sender else { return .done }
            return await workerCall(worker) { (farm: Farm) async throws(APIError) in try await farm.heartbeat(sender) }
        case .vanish(let worker):
            workers[worker].alive = false
            workers[worker].dropHeld()
            return .done
        case .signOff(let worker):
            guard workers[worker].alive, let sender = workers[worker].sender else { return .done }
            workers[worker].alive = false
            workers[worker].dropHeld()
            return await workerCall(worker) { (farm: Farm) async throws(APIError) in try await farm.signOff(sender) }
        case .admin(let action, let index): return await admin(action, index: index)
        case .advance(let seconds):
            clock.advance(seconds)
            _ = await farm.sweepTimedOutWorkers()
            _ = await farm.stopOverdueTasks()
            await farm.checkStorage()
            return .done
        case .crash:
            let before = await farm.snapshot()
            try await restart()
            let after = await farm.snapshot()
            return StepOutcome(problems: FarmInvariants.differences(before, after, ignoring: .restart).map { "a restart changed the farm: \($0)" })
        case .crashDuring(let commits, let inner):
            try await farm.injectStoreFault(.crash(afterCommits: commits))
            let outcome = try await apply(inner)
            try await restart()
            return StepOutcome(problems: outcome.problems)
        case .diskFull(let full):
            diskIsFull = full
            try await farm.injectStoreFault(full ? .full : .none)
            return .done
        case .settle:
            return try await settle()
        }
    }

    /// Whether the caller heard the farm's answer: not when the server died during the request.
    func heard() async -> Bool { !(await farm.storeHasCrashed()) }

    private func submit(_ recipe: JobRecipe) async -> StepOutcome {
        var values: [String: JSONValue] = [
            "type": recipe.command ? "command" : "blender", "frames": .string("1-\(recipe.frames)"), "chunk": .int(Int64(recipe.chunk)),
            "priority": .int(Int64(recipe.priority)), "tags": .array(recipe.tags.map(JSONValue.string)),
            "max_attempts": .int(Int64(recipe.maxAttempts)), "fail_fast": .bool(recipe.failFast),
            "task_timeout": .int(Int64(recipe.taskTimeout)),
        ]
        if recipe.command { values["argv"] = ["true"] } else { values["file"] = "/sim/scene.blend" }
        if recipe.video { values["video"] = VideoSpec(path: "/sim/out.mp4").json }
        if let version = recipe.blenderVersion { values["blender_version"] = .string(version) }
        if recipe.afterNewest > 0, let newest = state.jobs.keys.max() { values["after"] = [.int(newest)] }
        return await adminCall(APIRequest(item: "job", action: "create", values: values))
    }

    private func register(_ index: Int, slots: Int, newKey: Bool) async -> StepOutcome {
        var w = workers[index]
        if newKey { w.generation += 1 }
        var registration = WorkerProtocol.Registration(
            name: w.name, hostname: "\(w.name).sim", platform: "linux-x86_64", tags: Self.tags(ofWorker: index), version: "sim",
            key: w.key, capabilities: Self.capabilities(ofWorker: index))
        registration.slots = slots
        do {
            let registered = try await farm.register(registration)
            guard await heard() else { return .done }
            w.clientID = registered.clientID
            w.slots = slots
            w.alive = true
            w.dropHeld()
            workers[index] = w
            return .done
        } catch {
            return .refused(error.message)
        }
    }

    static func tags(ofWorker index: Int) -> [String] { [[], ["gpu"], ["gpu", "big"]][index % 3] }

    static func capabilities(ofWorker index: Int) -> [String] {
        var capabilities = ["commands", BlenderVersions.capability("3.4.1")]
        if index % 2 == 0 { capabilities.append("ffmpeg") }
        if index % 3 != 1 { capabilities.append(BlenderVersions.capability("4.2.0")) }
        return capabilities
    }

    private func ask(_ index: Int, slot: Int, lost: Bool) async -> StepOutcome {
        guard workers[index].alive, let sender = workers[index].sender else { return .done }
        let before = state
        let assignment: WorkerProtocol.Assignment?
        do {
            assignment = try await farm.requestTask(sender, wait: 0, slot: slot)
        } catch {
            if error.code == .forbidden { workers[index].alive = false }
            return .refused(error.message)
        }
        // The slot's earlier task, if it held one, went back to the queue.
        if let old = workers[index].held[slot] { workers[index].oldUpdates.append(update(old, .running, from: index)) }
        workers[index].held[slot] = nil
        guard let assignment else { return .done }
        var outcome = StepOutcome()
        let lease = TaskLease(taskID: assignment.taskID, lease: assignment.lease)
        if !handedOut.insert(lease).inserted { outcome.problems.append("task \(lease.taskID) was handed out twice under lease \(lease.lease)") }
        outcome.problems += FarmInvariants.checkDispatch(assignment, to: sender.clientID, slot: slot, before: before)
        if !lost, await heard() {
            workers[index].held[slot] = assignment
            workers[index].framesDone[slot] = 0
            workers[index].logSent[slot] = 0
        }
        return outcome
    }

    private func progress(_ index: Int, slot: Int) async -> StepOutcome {
        guard workers[index].alive, let task = workers[index].held[slot] else { return .done }
        let frames = Array(task.chunk.frames)
        let done = min(frames.count, (workers[index].framesDone[slot] ?? 0) + 1)
        workers[index].framesDone[slot] = task.role == .render ? done : 0
        let update = update(task, .running, from: index, frames: task.role == .render ? Array(frames.prefix(done)) : [])
        return await send(update, from: index, heard: true)
    }

    private func finish(_ index: Int, slot: Int, _ outcome: SimulationEvent.Outcome, lost: Bool) async -> StepOutcome {
        guard workers[index].alive, let task = workers[index].held[slot] else { return .done }
        let state = WorkerProtocol.TaskState(rawValue: outcome.rawValue)!
        let frames = Array(task.chunk.frames)
        let update = update(task, state, from: index, frames: state == .completed && task.role == .render ? frames : [])
        return await send(update, from: index, heard: !lost)
    }

    /// A worker's update on a task it holds (or held), carrying the log text not sent yet.
    func update(
        _ task: WorkerProtocol.Assignment, _ state: WorkerProtocol.TaskState, from index: Int, frames: [Int] = []
    ) -> WorkerProtocol.TaskUpdate {
        let slot = workers[index].held.first { $0.value == task }?.key
        let offset = slot.flatMap { workers[index].logSent[$0] } ?? 0
        return WorkerProtocol.TaskUpdate(
            sender: workers[index].sender!, taskID: task.taskID, jobID: task.jobID, lease: task.lease, state: state, framesDone: frames,
            log: "frame \(frames.last ?? 0) \(state.rawValue)\n", logOffset: offset, error: state == .failed ? "simulated failure" : nil)
    }

    /// Sends a task update; a worker that hears the answer acts on it.
    private func send(_ update: WorkerProtocol.TaskUpdate, from index: Int, heard listening: Bool) async -> StepOutcome {
        workers[index].remember(update)
        // A worker heard from takes back its own task, requeued only because it went silent,
        // even when the rest of its report is refused (a full disk): like coming back online.
        let task = state.jobs[update.jobID]?.tasks.first { $0.id == update.taskID }
        let reclaims = task.map { $0.isResumable && $0.lease == update.lease && $0.clientID == update.clientID } ?? false
        let reply: WorkerProtocol.TaskUpdateReply
        do {
            reply = try await farm.updateTask(update)
        } catch {
            if error.code == .forbidden { workers[index].alive = false }
            return reclaims ? .done : .refused(error.message)
        }
        guard listening, await heard() else { return reply.accepted ? .done : .refused(reply.reason ?? "not accepted") }
        let slot = workers[index].held.first { $0.value.taskID == update.taskID && $0.value.lease == update.lease }?.key
        if reply.accepted && update.state == .completed && reply.logOffset.map({ $0 >= update.logOffset + update.log.utf8.count }) ?? true {
            acknowledged[update.jobID, default: [:]][update.taskID] = update.lease
        }
        if let slot {
            if let stored = reply.logOffset { workers[index].logSent[slot] = stored }
            if !reply.accepted || reply.stop || update.state != .running {
                workers[index].held[slot] = nil
            }
        }
        return reply.accepted ? .done : .refused(reply.reason ?? "not accepted")
    }

    /// A worker request whose answer carries nothing the worker keeps.
    private func workerCall<T>(_ index: Int, _ call: (Farm) async throws(APIError) -> T) async -> StepOutcome {
        do {
            _ = try await call(farm)
            return .done
        } catch {
            if error.code == .forbidden {
                workers[index].alive = false
                workers[index].dropHeld()
            }
            return .refused(error.message)
        }
    }

    /// An admin request; a refusal must have changed nothing.
    func adminCall(_ request: APIRequest) async -> StepOutcome {
        do {
            _ = try await farm.handle(request)
            return .done
        } catch {
            return .refused(error.message)
        }
    }
}
