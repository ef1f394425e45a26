import BrenderKit
import FarmCore

/// The rules every state of the farm keeps, checked on a ``FarmSnapshot``, and a small model
/// of the dispatch rules that says whether a task the farm handed out was the right one.
public enum FarmInvariants {
    /// Every rule the state breaks, in words (none for a sound farm).
    public static func check(_ state: FarmSnapshot) -> [String] {
        var problems: [String] = []
        for job in state.jobs.values { check(job: job, in: state, into: &problems) }
        for (id, client) in state.clients {
            let running = state.running[id] ?? [:]
            if running.count > client.slots { problems.append("client \(id) runs \(running.count) tasks in \(client.slots) slots") }
            for (slot, task) in running.sorted(by: { $0.key < $1.key }) {
                let held = state.jobs[task.jobID]?.tasks.first { $0.id == task.taskID }
                if held?.status != .active || held?.clientID != id || held.map({ Int($0.slot) }) != slot {
                    problems.append("client \(id) slot \(slot) holds task \(task.taskID), which is not active there")
                }
            }
        }
        return problems.sorted()
    }

    private static func check(job state: FarmSnapshot.JobState, in farm: FarmSnapshot, into problems: inout [String]) {
        let job = state.job
        var counted = [Int](repeating: 0, count: TaskStatus.allCases.count)
        var framesDone = 0
        var framesTotal = 0
        for task in state.tasks {
            counted[task.status.index] += 1
            framesDone += Int(task.framesDone)
            framesTotal += task.frameCount
            if task.status == .active {
                let holder = farm.running[task.clientID]?[Int(task.slot)]
                if holder?.taskID != task.id {
                    problems.append("task \(task.id) is active on client \(task.clientID) slot \(task.slot), which does not hold it")
                }
                if task.lease < 1 { problems.append("task \(task.id) is active without a lease") }
            }
            if task.status == .completed && task.role == .render && Int(task.framesDone) != task.frameCount {
                problems.append("task \(task.id) completed with \(task.framesDone) of \(task.frameCount) frames")
            }
        }
        for status in TaskStatus.allCases where counted[status.index] != state.counted[status.index] {
            problems.append("job \(job.id) counts \(state.counted[status.index]) \(status.rawValue) tasks, but has \(counted[status.index])")
        }
        if framesDone != state.framesDone || framesTotal != state.framesTotal {
            problems.append(
                "job \(job.id) counts \(state.framesDone) of \(state.framesTotal) frames done, but its tasks have \(framesDone) of \(framesTotal)")
        }
        let open = counted[TaskStatus.queued.index] + counted[TaskStatus.active.index]
        if job.status.isFinished && open > 0 { problems.append("job \(job.id) is \(job.status.rawValue) with \(open) open tasks") }
        if job.status.isDispatchable && open == 0 { problems.append("job \(job.id) is \(job.status.rawValue) with no open task") }
        let dispatchable = job.status.isDispatchable && counted[TaskStatus.queued.index] > 0
        if dispatchable != state.inDispatchOrder {
            problems.append(
                "job \(job.id) is \(state.inDispatchOrder ? "" : "not ")in the dispatch order, but \(dispatchable ? "has" : "has no") tasks to hand out"
            )
        }
    }

    /// What the farm may legitimately change: nothing a worker's request is refused with, apart
    /// from hearing from the worker; across a restart, what is not stored.
    public enum Volatile {
        /// A refused request: the client was heard from (last seen, online again), the disk found full.
        case refusal
        /// A restart: last-seen times (written now and then), the full-disk state (found again).
        case restart
    }

    /// How `after` differs from `before`, apart from what `volatile` allows.
    public static func differences(_ before: FarmSnapshot, _ after: FarmSnapshot, ignoring volatile: Volatile) -> [String] {
        func normalized(_ state: FarmSnapshot) -> FarmSnapshot {
            var state = state
            for id in state.clients.keys {
                state.clients[id]!.lastSeen = 0
                if volatile == .refusal { state.clients[id]!.connection = .online }
            }
            state.isLowOnStorage = false
            state.changesBeingWritten = []
            return state
        }
        let (a, b) = (normalized(before), normalized(after))
        guard a != b else { return [] }
        var found: [String] = []
        for id in Set(a.jobs.keys).union(b.jobs.keys).sorted() where a.jobs[id] != b.jobs[id] {
            guard let x = a.jobs[id], let y = b.jobs[id] else {
                found.append("job \(id) \(a.jobs[id] == nil ? "appeared" : "disappeared")")
                continue
            }
            if x.job != y.job { found.append("job \(id): \(x.job) became \(y.job)") }
            for (t, u) in zip(x.tasks, y.tasks) where t != u { found.append("task \(t.id): \(t) became \(u)") }
            if x.blocklist != y.blocklist { found.append("job \(id)'s blocklist \(x.blocklist) became \(y.blocklist)") }
            if x.tasks.count != y.tasks.count || x.counted != y.counted || x.inDispatchOrder != y.inDispatchOrder {
                found.append("job \(id)'s tasks or counters changed")
            }
        }
        for id in Set(a.clients.keys).union(b.clients.keys).sorted() where a.clients[id] != b.clients[id] || a.running[id] != b.running[id] {
            found.append("client \(id): \(a.clients[id].map { "\($0)" } ?? "none") became \(b.clients[id].map { "\($0)" } ?? "none")")
        }
        return found.isEmpty ? ["the farm's state changed"] : found
    }
}
