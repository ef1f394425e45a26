import Foundation
import Logging

extension Farm {
    /// The job and index of a task id. Every job has at least one task, and both job ids and
    /// first task ids ascend, so a binary search over `jobIDs` finds it.
    func locate(taskID: Int64) -> (JobRuntime, Int)? {
        var low = 0
        var high = jobIDs.count
        while low < high {
            let middle = (low + high) / 2
            if jobs[jobIDs[middle]]!.firstTaskID <= taskID { low = middle + 1 } else { high = middle }
        }
        guard low > 0, let runtime = jobs[jobIDs[low - 1]], let index = runtime.index(of: taskID) else { return nil }
        return (runtime, index)
    }

    func handleJobRequest(_ request: APIRequest) throws(APIError) -> APIResponse {
        let schema = Job.schema
        try schema.checkAction(request.action)
        switch request.action {
        case "create":
            if !request.filters.isEmpty {
                throw APIError(.invalidRequest, "create takes 'values', not 'filters'", field: "filters")
            }
            return APIResponse(items: [try createJob(JobSubmission(values: request.values)).json])
        case "read":
            let matches = matchingJobs(try schema.filterSet(request.filters))
            return APIResponse(items: page(matches, of: request).map(\.json), total: matches.count)
        case "update":
            let filters = try schema.filterSet(request.filters)
            try requireFiltersOrAll(filters, request)
            return try updateJobs(matchingJobs(filters), values: schema.updateValues(request.values))
        default:
            let filters = try schema.filterSet(request.filters)
            try requireFiltersOrAll(filters, request)
            return try deleteJobs(matchingJobs(filters))
        }
    }

    func matchingJobs(_ filters: FilterSet) -> [JobRuntime] {
        if let ids = filters.accepted("id") {
            return ids.compactMap { $0.intValue.flatMap { jobs[$0] } }
                .filter { runtime in filters.matches { runtime.value(of: $0) } }
                .sorted { $0.job.id < $1.job.id }
        }
        return jobIDs.compactMap { jobs[$0] }.filter { runtime in filters.matches { runtime.value(of: $0) } }
    }

    /// Creates a job and all its tasks in one transaction.
    func createJob(_ submission: JobSubmission) throws(APIError) -> JobRuntime {
        try requireStorage(for: "a new job")
        let chunks = chunk(submission.frames.frames, size: submission.chunkSize)
        let time = now()
        let baseName =
            submission.kind == .blender
            ? URL(fileURLWithPath: submission.file).deletingPathExtension().lastPathComponent : "command"
        var job = Job(
            id: 0, name: submission.name ?? baseName, kind: submission.kind, status: .queued, priority: submission.priority,
            file: submission.file, frames: submission.framesText, chunkSize: submission.chunkSize, output: submission.output ?? "",
            format: submission.format, scene: submission.scene, argv: submission.argv, tags: submission.tags,
            maxAttempts: submission.maxAttempts, createdAt: time)
        let defaultOutput = defaultOutputDirectory
        let (jobID, firstTaskID, output) = try writeThrough(useReserve: false) { () throws -> (Int64, Int64, String) in
            let id = try store.insertJob(job)
            var output = job.output
            if job.kind == .blender && output.isEmpty {
                output = defaultOutput.appendingPathComponent("\(id)-\(Farm.folderName(job.name))").appendingPathComponent("frame_#####").path
                var withOutput = job
                withOutput.id = id
                withOutput.output = output
                try store.updateJob(withOutput)
            }
            return (id, try store.insertTasks(jobID: id, chunks: chunks), output)
        }
        job.id = jobID
        job.output = output
        var tasks: [RenderTask] = []
        tasks.reserveCapacity(chunks.count)
        for (offset, chunk) in chunks.enumerated() {
            tasks.append(RenderTask(id: firstTaskID + Int64(offset), jobID: jobID, chunk: chunk))
        }
        let runtime = JobRuntime(job: job, tasks: tasks)
        jobs[jobID] = runtime
        jobIDs.append(jobID)
        dispatchOrder.insert(runtime.dispatchKey)
        logger.info(
            "job submitted",
            metadata: ["job": "\(jobID)", "name": "\(job.name)", "frames": "\(runtime.framesTotal)", "tasks": "\(tasks.count)"])
        dispatchToWaiters()
        return runtime
    }

    /// A name made safe for a folder: letters, digits, `.`, `_`, `-`.
    static func folderName(_ name: String) -> String {
        let cleaned = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "_" })
        return cleaned.isEmpty || cleaned.hasPrefix(".") ? "job" + cleaned : cleaned
    }

    private func updateJobs(_ matches: [JobRuntime], values: [String: JSONValue]) throws(APIError) -> APIResponse {
        let requested = values["status"]?.stringValue.flatMap(JobStatus.init(rawValue:))
        if let requested, ![.paused, .queued, .active, .canceled].contains(requested) {
            throw APIError(
                .invalidValue, "a job's status can be set to paused, queued (resume) or canceled, not \(requested.rawValue)",
                field: "values.status")
        }
        // Check every job first: a refused change changes nothing.
        var targets: [Int64: JobStatus] = [:]
        for runtime in matches {
            guard let requested else { continue }
            let current = runtime.job.status
            guard let target = Farm.statusTarget(current: current, requested: requested, started: runtime.job.startedAt != nil),
                current.canChange(to: target)
            else {
                let advice = current.isFinished && (requested == .queued || requested == .active) ? "; requeue its tasks to run it again" : ""
                throw APIError(
                    .conflict, "job \(runtime.job.id) is \(current.rawValue); it cannot become \(requested.rawValue)\(advice)",
                    field: "values.status")
            }
            targets[runtime.job.id] = target
        }
        var changedJobs: [(JobRuntime, Job, [Int: RenderTask])] = []
        let time = now()
        for runtime in matches {
            var job = runtime.job
            var taskChanges: [Int: RenderTask] = [:]
            if let name = values["name"]?.stringValue { job.name = name }
            if let priority = values["priority"]?.intValue { job.priority = Int(priority) }
            if let target = targets[job.id], target != job.status {
                job.status = target
                if target == .canceled {
                    job.finishedAt = time
                    for (index, task) in runtime.tasks.enumerated() where task.status == .queued || task.status == .active {
                        var canceled = task
                        canceled.status = .canceled
                        canceled.finishedAt = time
                        taskChanges[index] = canceled
                    }
                }
            }
            if job != runtime.job || !taskChanges.isEmpty { changedJobs.append((runtime, job, taskChanges)) }
        }
        let jobRows = changedJobs.map(\.1)
        let taskRows = changedJobs.flatMap { $0.2.values }
        try writeThrough {
            for job in jobRows { try store.updateJob(job) }
            for task in taskRows { try store.updateTask(task) }
        }
        for (runtime, job, taskChanges) in changedJobs {
            let stopped = taskChanges.filter { runtime.tasks[$0.key].status == .active }.map(\.value)
            reindex(runtime) {
                runtime.job = job
                for (index, task) in taskChanges { runtime.replace(at: index, with: task) }
            }
            for task in stopped { freeClient(task.clientID, taskID: task.id) }
            logger.info("job updated", metadata: ["job": "\(job.id)", "status": "\(job.status.rawValue)", "priority": "\(job.priority)"])
        }
        dispatchToWaiters()
        return APIResponse(items: changedJobs.map { $0.0.json }, total: matches.count)
    }

    /// The status a job moves to when an admin asks for `requested`, or nil when that makes no
    /// sense for it. Resuming (`queued` or `active`) applies to a paused job, which goes back to
    /// `queued`, or to `active` when its work had started; it leaves a running job as it is; a
    /// finished job is not resumed (its tasks are requeued instead).
    static func statusTarget(current: JobStatus, requested: JobStatus, started: Bool) -> JobStatus? {
        switch requested {
        case .queued, .active:
            switch current {
            case .paused: return started ? .active : .queued
            case .queued, .active: return current
            case .completed, .failed, .canceled: return nil
            }
        default:
            return requested
        }
    }

    private func deleteJobs(_ matches: [JobRuntime]) throws(APIError) -> APIResponse {
        if let running = matches.first(where: { $0.job.status.isRunning || $0.count(.active) > 0 }) {
            throw APIError(
                .conflict, "job \(running.job.id) is \(running.job.status.rawValue) with tasks running; cancel it first", field: "filters")
        }
        let ids = matches.map(\.job.id)
        try writeThrough {
            for id in ids { try store.deleteJob(id: id) }
        }
        for runtime in matches {
            dispatchOrder.remove(runtime.dispatchKey)
            jobs[runtime.job.id] = nil
            jobIDs.removeAll { $0 == runtime.job.id }
            for task in runtime.tasks { logAttempts[task.id] = nil }
            if !logs.removeJob(runtime.job.id) {
                logger.warning("could not remove all logs of a deleted job", metadata: ["job": "\(runtime.job.id)"])
            }
            logger.info("job deleted", metadata: ["job": "\(runtime.job.id)"])
        }
        return APIResponse(items: matches.map(\.json))
    }

    // MARK: Tasks

    func handleTaskRequest(_ request: APIRequest) throws(APIError) -> APIResponse {
        let schema = RenderTask.schema
        try schema.checkAction(request.action)
        let filters = try schema.filterSet(request.filters)
        switch request.action {
        case "read":
            let matches = matchingTasks(filters)
            return APIResponse(items: page(matches, of: request).map(\.json), total: matches.count)
        default:
            try requireFiltersOrAll(filters, request)
            let values = try schema.updateValues(request.values)
            guard values["status"] == "queued", values.count == 1 else {
                throw APIError(.invalidValue, "tasks can only be requeued: set {\"status\": \"queued\"}", field: "values")
            }
            return try requeue(matchingTasks(filters))
        }
    }

    func matchingTasks(_ filters: FilterSet) -> [RenderTask] {
        let candidates: [JobRuntime]
        if let jobFilter = filters.accepted("job") {
            candidates = jobFilter.compactMap { $0.intValue.flatMap { jobs[$0] } }.sorted { $0.job.id < $1.job.id }
        } else if let ids = filters.accepted("id") {
            return ids.compactMap { $0.intValue.flatMap { locate(taskID: $0) } }.map { $0.0.tasks[$0.1] }
                .filter { task in filters.matches { task.value(of: $0) } }.sorted { $0.id < $1.id }
        } else {
            candidates = jobIDs.compactMap { jobs[$0] }
        }
        return candidates.flatMap { runtime in runtime.tasks.filter { task in filters.matches { task.value(of: $0) } } }
    }

    /// Puts tasks back in the queue; their jobs become runnable again.
    func requeue(_ tasks: [RenderTask]) throws(APIError) -> APIResponse {
        for task in tasks where !task.status.canChange(to: .queued) {
            throw APIError(.conflict, "task \(task.id) is \(task.status.rawValue); it cannot be requeued", field: "filters")
        }
        var changes: [(JobRuntime, Int, RenderTask)] = []
        var jobChanges: [Int64: Job] = [:]
        for task in tasks {
            guard let (runtime, index) = locate(taskID: task.id) else { continue }
            var requeued = task
            requeued.status = .queued
            requeued.failures = 0
            requeued.failedOn = []
            requeued.error = nil
            requeued.framesDone = 0
            requeued.finishedAt = 0
            changes.append((runtime, index, requeued))
            var job = jobChanges[runtime.job.id] ?? runtime.job
            if job.status.isFinished {
                job.status = job.startedAt == nil ? .queued : .active
                job.finishedAt = nil
            }
            jobChanges[job.id] = job
        }
        let taskRows = changes.map(\.2)
        let jobRows = Array(jobChanges.values)
        try writeThrough {
            for task in taskRows { try store.updateTask(task) }
            for job in jobRows { try store.updateJob(job) }
        }
        for (runtime, index, task) in changes {
            let old = runtime.tasks[index]
            runtime.replace(at: index, with: task)
            if old.status == .active { freeClient(old.clientID, taskID: old.id) }
        }
        for job in jobChanges.values {
            guard let runtime = jobs[job.id] else { continue }
            reindex(runtime) { runtime.job = job }
        }
        if !changes.isEmpty {
            logger.info("tasks requeued", metadata: ["count": "\(changes.count)"])
        }
        dispatchToWaiters()
        return APIResponse(items: changes.map { $0.2.json })
    }

    /// Reads a task's log from `offset`. - Returns: the bytes, the task's status, or nil for an unknown task.
    public func taskLog(taskID: Int64, offset: Int) -> (data: Data, status: TaskStatus)? {
        guard let (runtime, index) = locate(taskID: taskID) else { return nil }
        let task = runtime.tasks[index]
        return (logs.read(jobID: runtime.job.id, taskID: taskID, lease: task.lease, offset: offset), task.status)
    }
}
