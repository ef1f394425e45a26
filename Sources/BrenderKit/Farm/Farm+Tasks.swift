import FarmCore
import Foundation
import Logging

/// The task item of the API (read, requeue), task logs, and tasks over their time limit.
extension Farm {
    func handleTaskRequest(_ request: APIRequest, by principal: Principal) throws -> APIResponse {
        let schema = RenderTask.schema
        try schema.checkAction(request.action)
        let filters = try schema.filterSet(request.filters)
        let context = itemContext
        switch request.action {
        case "read":
            let matches = try ReadOrder(request, schema: schema).arrange(matchingTasks(filters, context)) { $0.value(of: $1) }
            return APIResponse(items: page(matches, of: request).map(\.json), total: matches.count)
        default:
            try requireFiltersOrAll(filters, request)
            let values = try schema.updateValues(request.values)
            guard values["status"] == "queued", values.count == 1 else {
                throw FarmError.invalid("tasks can only be requeued: set {\"status\": \"queued\"}", field: "values")
            }
            var matches = matchingTasks(filters, context)
            if principal.role == .submit {
                // A submit token requeues the tasks of its own jobs only, as it changes its own jobs.
                let touched = Set(matches.map(\.task.jobID)).sorted().compactMap { jobs[$0] }
                let own = Set(try owned(touched, by: principal, askedFor: filters.accepted("id") ?? filters.accepted("job")).map(\.job.id))
                matches.removeAll { !own.contains($0.task.jobID) }
            }
            return try requeue(matches.map(\.task))
        }
    }

    func matchingTasks(_ filters: FilterSet, _ context: ItemContext) -> [TaskItem] {
        let candidates: [JobRuntime]
        if let jobFilter = filters.accepted("job") {
            candidates = jobFilter.compactMap { $0.intValue.flatMap { jobs[$0] } }.sorted { $0.job.id < $1.job.id }
        } else if let ids = filters.accepted("id") {
            return ids.compactMap { $0.intValue.flatMap { locate(taskID: $0) } }
                .map { TaskItem(task: $0.0.tasks[$0.1], runtime: $0.0, context: context) }
                .filter { item in filters.matches { item.value(of: $0) } }.sorted { $0.task.id < $1.task.id }
        } else {
            candidates = jobIDs.compactMap { jobs[$0] }
        }
        return candidates.flatMap { runtime in
            runtime.tasks.lazy.map { TaskItem(task: $0, runtime: runtime, context: context) }.filter { item in filters.matches { item.value(of: $0) }
            }
        }
    }

    /// Puts tasks back in the queue; their jobs become runnable again (or wait for their
    /// dependencies), all in one change.
    func requeue(_ tasks: [RenderTask]) throws(FarmError) -> APIResponse {
        let context = itemContext
        let requeued = try change { batch throws(FarmError) -> [TaskItem] in
            var requeued: [TaskItem] = []
            var touched: [Int64: JobRuntime] = [:]
            for task in tasks {
                guard let (runtime, index) = locate(taskID: task.id) else { continue }
                let transition = try apply(.requeue, to: runtime, at: index, in: batch)
                requeued.append(TaskItem(task: transition.task, runtime: runtime, context: context))
                touched[runtime.job.id] = runtime
            }
            for runtime in touched.values {
                try apply(.requeued(dependencyState(of: runtime.job)), to: runtime, in: batch)
                // Requeued while every capable client is still blocklisted: it fails again at
                // once, saying so, rather than wait for ever.
                try checkCapability(runtime, in: batch)
            }
            return requeued
        }
        if !requeued.isEmpty {
            logger.info("tasks requeued", metadata: ["count": "\(requeued.count)"])
        }
        return APIResponse(items: requeued.map(\.json))
    }

    /// Reads a task's log from `offset`. - Returns: the bytes, the task's status, or nil for an unknown task.
    public func taskLog(taskID: Int64, offset: Int) -> (data: Data, status: TaskStatus)? {
        guard let (runtime, index) = locate(taskID: taskID) else { return nil }
        let task = runtime.tasks[index]
        return (logs.read(jobID: runtime.job.id, taskID: taskID, lease: task.lease, offset: offset), task.status)
    }

    /// Stops every task that has run longer than its job's `task_timeout`, counting a failed
    /// attempt (its worker hears it at its next update and stops the process). Called periodically.
    /// - Returns: the ids of the tasks stopped.
    @discardableResult
    public func stopOverdueTasks() -> [Int64] {
        let time = now()
        var stopped: [Int64] = []
        for jobID in jobIDs {
            guard let runtime = jobs[jobID], runtime.job.taskTimeout > 0, runtime.count(.active) > 0 else { continue }
            let limit = runtime.job.taskTimeout
            for index in runtime.tasks.indices {
                let task = runtime.tasks[index]
                guard task.status == .active, time - task.startedAt > limit else { continue }
                let error = "stopped after running \(Int(time - task.startedAt)) s, past the job's task time limit (--task-timeout \(Int(limit)))"
                do {
                    try finishAttempt(runtime, index: index, .fail(error: error, maxAttempts: runtime.job.maxAttempts))
                    stopped.append(task.id)
                } catch {
                    continue  // logged by writeThrough; the next check tries again
                }
            }
        }
        return stopped
    }
}
