import BrenderKit
import FarmCore

extension FarmSimulation {
    /// Most tasks the farm holds before submissions pause (the checks read the whole farm after
    /// every event).
    static let taskCap = 200

    /// Draws the next event from the world as it is: mostly workers at work, now and then an
    /// admin, the clock, a crash or a full disk.
    func nextEvent(_ random: inout SimulationRandom) -> SimulationEvent {
        let roll = random.int(below: 1000)
        let worker = random.int(below: workers.count)
        let w = workers[worker]
        let busySlots = w.held.keys.sorted()
        switch roll {
        case 0..<60:
            let tasks = state.jobs.values.reduce(0) { $0 + $1.tasks.count }
            if tasks < Self.taskCap { return .submit(recipe(&random)) }
            // Full: the admin deletes the oldest finished job, as a farm's admin would.
            let ids = state.jobs.keys.sorted()
            return .admin(.delete, index: ids.firstIndex { state.jobs[$0]!.job.status.isFinished } ?? 0)
        case 60..<100:
            return .register(worker: worker, slots: random.int(1...3), newKey: random.chance(0.1))
        case 100..<400:
            let free = (0..<max(1, w.slots)).filter { w.held[$0] == nil }
            let slot = free.isEmpty ? random.int(below: max(1, w.slots)) : random.pick(free)
            return w.alive
                ? .ask(worker: worker, slot: slot, lost: random.chance(0.03)) : .register(worker: worker, slots: random.int(1...3), newKey: false)
        case 400..<500 where !busySlots.isEmpty:
            return .progress(worker: worker, slot: random.pick(busySlots))
        case 500..<720 where !busySlots.isEmpty:
            let outcome: SimulationEvent.Outcome = random.chance(0.82) ? .completed : random.chance(0.7) ? .failed : .released
            return .finish(worker: worker, slot: random.pick(busySlots), state: outcome, lost: random.chance(0.05))
        case 720..<750:
            return .resend(worker: worker)
        case 750..<770:
            return .stale(worker: worker)
        case 770..<800:
            return .heartbeat(worker: worker)
        case 800..<808:
            return .vanish(worker: worker)
        case 808..<815:
            return .signOff(worker: worker)
        case 815..<880:
            return .admin(random.pick(SimulationEvent.AdminAction.allCases), index: random.int(below: 64))
        case 880..<960:
            return .advance(seconds: random.chance(0.1) ? Double(random.int(31...90)) : Double(random.int(1...5)))
        case 960..<966:
            return .crash
        case 966..<972:
            return .crashDuring(afterCommits: random.int(0...2), nextEvent(&random))
        case 972..<978:
            return .diskFull(!diskIsFull)
        default:
            return .ask(worker: worker, slot: random.int(below: max(1, w.slots)), lost: false)
        }
    }

    private func recipe(_ random: inout SimulationRandom) -> JobRecipe {
        let command = random.chance(0.5)
        return JobRecipe(
            frames: random.int(1...12), chunk: random.int(1...4), priority: random.pick([10, 50, 50, 90]),
            tags: Self.tagNames.filter { _ in random.chance(0.15) }, afterNewest: random.chance(0.15) ? 1 : 0, command: command,
            video: !command && random.chance(0.2), taskTimeout: random.chance(0.1) ? random.int(5...60) : 0,
            blenderVersion: !command && random.chance(0.15) ? random.pick(["3.4", "4.2"]) : nil, maxAttempts: random.int(1...3),
            failFast: random.chance(0.1))
    }
}
