import FarmCore
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

    func handleJobRequest(_ request: APIRequest, by principal: Principal) throws -> APIResponse {
        let schema = Job.schema
        try schema.checkAction(request.action)
        let context = itemContext
        switch request.action {
        case "create":
            if !request.filters.isEmpty {
                throw APIError(.invalidRequest, "create takes 'values', not 'filters'", field: "filters")
            }
            let submission = try JobSubmission(values: request.values)
            if submission.kind == .command && principal.role != .admin {
                throw FarmError.forbidden(
                    "command jobs run any program on the workers that allow them (--allow-commands), so only the admin token may submit them; the token \(principal.name) may submit Blender jobs",
                    field: "values.type")
            }
            if submission.allowScripts && !options.allowScripts {
                throw FarmError.forbidden(
                    "this server does not let jobs run the Python in their .blend files (it runs on every worker); start 'brender server' with --allow-scripts to allow it, or submit without --allow-scripts",
                    field: "values.allow_scripts")
            }
            let runtime = try createJob(submission, submittedBy: principal.name)
            return APIResponse(items: [JobItem(runtime: runtime, context: context).json])
        case "read":
            let order = try ReadOrder(request, schema: schema)
            let matches = order.arrange(matchingJobs(try schema.filterSet(request.filters), context)) {
                JobItem(runtime: $0, context: context).value(of: $1)
            }
            return APIResponse(items: page(matches, of: request).map { JobItem(runtime: $0, context: context).json }, total: matches.count)
        case "update":
            let filters = try schema.filterSet(request.filters)
            try requireFiltersOrAll(filters, request)
            let matches = try owned(matchingJobs(filters, context), by: principal, askedFor: filters.accepted("id"))
            let changed = try updateJobs(matches, values: schema.updateValues(request.values))
            return APIResponse(items: changed.changed.map { JobItem(runtime: $0, context: itemContext).json }, total: changed.matched)
        default:
            let filters = try schema.filterSet(request.filters)
            try requireFiltersOrAll(filters, request)
            return try deleteJobs(owned(matchingJobs(filters, context), by: principal, askedFor: filters.accepted("id")), context)
        }
    }

    /// The jobs a principal may change among those a request matched. A submit token reaches its
    /// own jobs only: another's job asked for by id refuses the whole request (nothing is
    /// changed); matched by other filters, others' jobs are left out.
    func owned(_ matches: [JobRuntime], by principal: Principal, askedFor ids: [JSONValue]?) throws(FarmError) -> [JobRuntime] {
        guard principal.role == .submit else { return matches }
        if ids != nil, let other = matches.first(where: { $0.job.submittedBy != principal.name }) {
            let owner = other.job.submittedBy.isEmpty ? "before tokens had names" : "by \(other.job.submittedBy)"
            throw FarmError.forbidden(
                "job \(other.job.id) was submitted \(owner); the token \(principal.name) changes only the jobs it submitted", field: "filters.id")
        }
        return matches.filter { $0.job.submittedBy == principal.name }
    }

    func matchingJobs(_ filters: FilterSet, _ context: ItemContext) -> [JobRuntime] {
        if let ids = filters.accepted("id") {
            return ids.compactMap { $0.intValue.flatMap { jobs[$0] } }
                .filter { runtime in filters.matches { JobItem(runtime: runtime, context: context).value(of: $0) } }
                .sorted { $0.job.id < $1.job.id }
        }
        return jobIDs.compactMap { jobs[$0] }.filter { runtime in filters.matches { JobItem(runtime: runtime, context: context).value(of: $0) } }
    }

    /// Creates a job and all its tasks in one transaction.
    ///
    /// Refused, with nothing stored, when a job it waits for does not exist, failed or was
    /// canceled, or when no client of the farm could run it.
    func createJob(_ submission: JobSubmission, submittedBy: String = Principal.admin.name) throws(FarmError) -> JobRuntime {
        try requireStorage(for: "a new job")
        let dependencies = Dependencies.state(of: submission.after) { jobs[$0]?.job.status }
        if case .broken(let why) = dependencies {
            throw FarmError.conflict(
                "the job cannot wait for that: \(why.replacingOccurrences(of: ", which it waits for,", with: ""))", field: "values.after")
        }
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
        job.after = submission.after
        job.failFast = submission.failFast
        job.cold = submission.cold
        job.blenderVersion = submission.blenderVersion
        job.allowScripts = submission.allowScripts
        job.taskTimeout = submission.taskTimeout
        job.blocklistThreshold = submission.blocklistThreshold
        job.video = submission.video
        job.settingsSource = submission.settingsSource
        job.submittedBy = submittedBy
        if case .pending = dependencies {
            // A new job that waits starts out `waiting`, as the lifecycle says.
            job = try JobLifecycle.apply(.dependenciesChanged(dependencies), to: job, at: time).job
        }
        // Would any client of the farm take it? Asked of a stand-in before anything is stored.
        var probeTasks = chunks.prefix(1).map { RenderTask(id: 1, jobID: 0, chunk: $0) }
        if job.video != nil { probeTasks.append(RenderTask(id: 2, jobID: 0, chunk: chunks[0], role: .video)) }
        if let why = DispatchPolicy.whyNoClientCanRun(JobRuntime(job: job, tasks: probeTasks), clients: clients.values) {
            throw FarmError.conflict("no client can run this job: \(why)", field: job.tags.isEmpty ? "values.video" : "values.tags")
        }
        let defaultOutput = defaultOutputDirectory
        let withVideo = job.video != nil
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
            return (id, try store.insertTasks(jobID: id, chunks: chunks, videoTask: withVideo), output)
        }
        job.id = jobID
        job.output = output
        var tasks: [RenderTask] = []
        tasks.reserveCapacity(chunks.count + 1)
        for (offset, chunk) in chunks.enumerated() {
            tasks.append(RenderTask(id: firstTaskID + Int64(offset), jobID: jobID, chunk: chunk))
        }
        if withVideo, let first = chunks.first, let last = chunks.last {
            tasks.append(
                RenderTask(
                    id: firstTaskID + Int64(chunks.count), jobID: jobID, chunk: FrameChunk(start: first.start, end: last.end, step: 1), role: .video))
        }
        let runtime = JobRuntime(job: job, tasks: tasks)
        jobs[jobID] = runtime
        jobIDs.append(jobID)
        for id in job.after { dependents[id, default: []].append(jobID) }
        if runtime.isDispatchable { dispatchOrder.insert(runtime.dispatchKey) }
        logger.info(
            "job submitted",
            metadata: [
                "job": "\(jobID)", "name": "\(job.name)", "frames": "\(runtime.framesTotal)", "tasks": "\(tasks.count)",
                "status": "\(job.status.rawValue)", "by": "\(submittedBy)",
            ])
        events.publish { [.job(JobSummary(runtime))] }
        dispatchToWaiters()
        return runtime
    }

    /// A name made safe for a folder: letters, digits, `.`, `_`, `-`.
    static func folderName(_ name: String) -> String {
        let cleaned = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "_" })
        return cleaned.isEmpty || cleaned.hasPrefix(".") ? "job" + cleaned : cleaned
    }

    /// The job event an admin's requested status means.
    private func statusEvent(_ requested: JobStatus, for runtime: JobRuntime) throws(FarmError) -> JobEvent {
        switch requested {
        case .paused: return .pause
        case .queued, .active: return .resume(dependencyState(of: runtime.job))
        case .canceled: return .cancel(reason: nil)
        default:
            throw FarmError.invalid(
                "a job's status can be set to paused, queued (resume) or canceled, not \(requested.rawValue)",
                field: "values.status")
        }
    }

    /// Applies an update to every matching job, all or nothing: status changes through the
    /// lifecycle, settings (name, priority, tags, attempts, time limit, blocklist, dependencies)
    /// in place; they take effect at the next dispatch.
    private func updateJobs(_ matches: [JobRuntime], values: [String: JSONValue]) throws(FarmError) -> (changed: [JobRuntime], matched: Int) {
        let requested = values["status"]?.stringValue.flatMap(JobStatus.init(rawValue:))
        let after = values["after"]?.arrayValue?.compactMap(\.intValue)
        if let blocklist = values["blocklist"]?.arrayValue, !blocklist.isEmpty {
            throw FarmError.invalid("a blocklist can only be cleared: set it to []", field: "values.blocklist")
        }
        let changed = try change { batch throws(FarmError) -> [JobRuntime] in
            var changed: [JobRuntime] = []
            for runtime in matches {
                let before = runtime.job
                let beforeBlocklist = runtime.blocklist
                if let requested { try apply(try statusEvent(requested, for: runtime), to: runtime, in: batch) }
                var job = runtime.job
                if let name = values["name"]?.stringValue { job.name = name }
                if let priority = values["priority"]?.intValue { job.priority = Int(priority) }
                if let tags = values["tags"]?.arrayValue { job.tags = tags.compactMap(\.stringValue) }
                if let attempts = values["max_attempts"]?.intValue { job.maxAttempts = Int(attempts) }
                if let timeout = values["task_timeout"]?.intValue { job.taskTimeout = Double(timeout) }
                if let threshold = values["blocklist_threshold"]?.intValue { job.blocklistThreshold = Int(threshold) }
                if let after { try checkDependencies(after, of: runtime) }
                if let after { job.after = after }
                if job != runtime.job {
                    batch.recordJob(runtime)
                    let settings = job
                    reindex(runtime) { runtime.job = settings }
                    batch.mayWake = true
                }
                if values["blocklist"] != nil && !runtime.blocklist.failures.isEmpty {
                    batch.recordBlocklist(runtime)
                    runtime.blocklist.clear()
                    batch.mayWake = true
                }
                if after != nil && after != before.after {
                    try apply(.dependenciesChanged(dependencyState(of: runtime.job)), to: runtime, in: batch)
                }
                if !runtime.job.status.isFinished, let why = DispatchPolicy.whyNoClientCanRun(runtime, clients: clients.values),
                    DispatchPolicy.whyNoClientCanRun(
                        JobRuntime(job: before, tasks: runtime.tasks, blocklist: beforeBlocklist), clients: clients.values) == nil
                {
                    throw FarmError.conflict("job \(runtime.job.id) would have no client to run it: \(why)", field: "values")
                }
                if runtime.job != before || runtime.blocklist != beforeBlocklist { changed.append(runtime) }
            }
            return changed
        }
        for runtime in changed {
            if let after {
                for id in Set(dependents.keys) { dependents[id]?.removeAll { $0 == runtime.job.id } }
                for id in after { dependents[id, default: []].append(runtime.job.id) }
            }
            logger.info(
                "job updated",
                metadata: ["job": "\(runtime.job.id)", "status": "\(runtime.job.status.rawValue)", "priority": "\(runtime.job.priority)"])
        }
        return (changed, matches.count)
    }

    /// Refuses dependencies that do not exist, are the job itself, or would make a cycle; and
    /// new dependencies for a job that already started.
    private func checkDependencies(_ after: [Int64], of runtime: JobRuntime) throws(FarmError) {
        let id = runtime.job.id
        guard after != runtime.job.after else { return }
        if runtime.job.startedAt != nil || runtime.job.status.isFinished {
            throw FarmError.conflict("job \(id) has already started; its dependencies cannot change now", field: "values.after")
        }
        for dependency in after where jobs[dependency] == nil {
            throw FarmError.notFound("there is no job \(dependency) to wait for", field: "values.after")
        }
        if let cycle = Dependencies.cycle(from: id, after: after, dependencies: { self.jobs[$0]?.job.after ?? [] }) {
            throw FarmError.conflict(
                "job \(id) would wait for itself: \(cycle.map { "job \($0)" }.joined(separator: " waits for "))", field: "values.after")
        }
    }

    private func deleteJobs(_ matches: [JobRuntime], _ context: ItemContext) throws(FarmError) -> APIResponse {
        if let running = matches.first(where: { $0.count(.active) > 0 }) {
            throw FarmError.conflict("job \(running.job.id) is \(running.job.status.rawValue) with tasks running; cancel it first", field: "filters")
        }
        let ids = matches.map(\.job.id)
        let shown = matches.map { JobItem(runtime: $0, context: context).json }
        // A big job's rows are removed in parts after its delete commits (``JobChangeInParts``).
        let inParts = matches.filter { $0.tasks.count > Self.rowsPerPart || isBeingWritten($0.job.id) }.map {
            UnwrittenChange(change: JobChangeInParts(jobID: $0.job.id, kind: .delete), taskIDs: [])
        }
        let whole = ids.filter { id in !inParts.contains { $0.change.jobID == id } }
        // One transaction: the deleted rows, and the jobs that waited for a deleted job, which can
        // no longer run. A crash between two writes would leave them queued for good.
        let deleting = Set(ids)
        try change { batch throws(FarmError) in
            for id in ids { try dependenciesChanged(of: id, in: batch, deleting: deleting) }
            batch.writes.append { [store] in
                for id in whole { try store.deleteJob(id: id) }
                for pending in inParts { try store.beginChangeInParts(pending.change) }
            }
        }
        for pending in inParts { unwritten[pending.change.jobID] = pending }
        for runtime in matches {
            dispatchOrder.remove(runtime.dispatchKey)
            jobs[runtime.job.id] = nil
            jobIDs.removeAll { $0 == runtime.job.id }
            for id in runtime.job.after { dependents[id]?.removeAll { $0 == runtime.job.id } }
            for task in runtime.tasks { logAttempts[task.id] = nil }
            if !logs.removeJob(runtime.job.id) {
                logger.warning("could not remove all logs of a deleted job", metadata: ["job": "\(runtime.job.id)"])
            }
            if !previews.removeJob(runtime.job.id) {
                logger.warning("could not remove all frame previews of a deleted job", metadata: ["job": "\(runtime.job.id)"])
            }
            logger.info("job deleted", metadata: ["job": "\(runtime.job.id)"])
            events.publish(.jobDeleted(runtime.job.id))
        }
        for id in ids { dependents[id] = nil }
        if !inParts.isEmpty { writeChangesInParts() }
        return APIResponse(items: shown)
    }
}
