import FarmCore
import Foundation
import Logging

/// The farm's state and rules: the one owner of every client, job and task.
///
/// State lives in memory for speed and is written through to the ``FarmStore`` inside a
/// transaction before memory changes or a request is answered: a change is either in the database
/// and in memory, or in neither.
public actor Farm {
    /// Settings that shape the farm's behaviour.
    public struct Options: Sendable {
        /// Seconds without a heartbeat after which a worker is offline.
        public var workerTimeout: Double
        /// A running task is flagged slow past this many times its job's median task time.
        public var slowTaskFactor: Double
        /// Whether jobs may ask to run the Python in their .blend files (`--allow-scripts`).
        public var allowScripts: Bool
        public init(workerTimeout: Double = 60, slowTaskFactor: Double = 5, allowScripts: Bool = false) {
            self.workerTimeout = workerTimeout
            self.slowTaskFactor = slowTaskFactor
            self.allowScripts = allowScripts
        }

        /// How often workers should send a heartbeat: four per timeout, at most every 15 seconds.
        public var heartbeatInterval: Double { min(15, max(0.05, workerTimeout / 4)) }
    }

    let store: FarmStore
    let options: Options
    let logger: Logger
    let now: @Sendable () -> Double
    /// Every change, for readers of the event stream (`GET /events`, `brender job watch`).
    public nonisolated let events = EventHub()
    /// Timings for `GET /metrics`.
    public nonisolated let metrics = Metrics()
    /// When this farm was loaded; loaded online clients get a full timeout from here to check in.
    let startedAt: Double

    var clients: [Int64: Client] = [:]
    var clientIDsByName: [String: Int64] = [:]
    /// Client ids by the digest of their worker's key.
    var clientIDsByKey: [String: Int64] = [:]
    /// The key each client's worker last proved it holds, in memory only, so that a request is
    /// checked by comparing strings rather than digesting its key again.
    var verifiedKeys: [Int64: String] = [:]

    var jobs: [Int64: JobRuntime] = [:]
    /// Job ids ascending; their first task ids ascend too, so a task id finds its job by binary search.
    var jobIDs: [Int64] = []
    /// The jobs that wait for each job (`--after`), by the id of the job they wait for.
    var dependents: [Int64: [Int64]] = [:]
    /// Named path prefixes per platform, by name.
    var pathMaps: [PathMap] = []
    /// Jobs with tasks to hand out, in dispatch order.
    var dispatchOrder = DispatchOrder()
    /// Idle workers holding a long-poll request for work.
    var waiters = WaiterQueue()
    /// Set once shutdown begins: long polls return at once.
    var isShuttingDown = false
    /// Bytes of the current attempt's log stored per task (a cache of the log files' sizes).
    var logAttempts: [Int64: LogAttempt] = [:]
    /// Big deletes and cancels committed but not all written yet, by job id.
    var unwritten: [Int64: UnwrittenChange] = [:]
    /// Frames rendered in the last hour, for the farm's rate.
    var throughput = FrameThroughput()
    /// Where task logs are kept.
    let logs: TaskLogStore
    /// Where frames' preview images are kept.
    let previews: FramePreviewStore
    /// The folder of the database: what a full disk is reported against.
    let dataDirectory: URL
    /// Space held back for deletes and cancels on a full disk.
    let reserve: StorageReserve
    /// Set when a write failed for lack of space and the reserve was given up: new jobs and new
    /// log text are refused until the filesystem has room again.
    var isLowOnStorage = false
    /// Silence is counted from no earlier than this (start-up, or the end of a server freeze).
    var silenceCountedFrom: Double
    /// Where a job's output goes when the submission names none.
    let defaultOutputDirectory: URL

    /// Opens the database at `databasePath` and loads the farm into memory.
    ///
    /// - Parameters:
    ///   - logDirectory: where task logs go (default: `logs` beside the database).
    ///   - outputDirectory: where jobs without an output pattern render (default: `renders` beside
    ///     the database's folder).
    public init(
        databasePath: String, options: Options = Options(), synchronous: SQLiteDatabase.SynchronousMode = .normal,
        logDirectory: URL? = nil, outputDirectory: URL? = nil,
        logger: Logger = Logger(label: "brender.farm"), now: @escaping @Sendable () -> Double = { Timestamp.now }
    ) throws {
        self.store = try FarmStore(path: databasePath, synchronous: synchronous)
        self.options = options
        self.logger = logger
        self.now = now
        self.startedAt = now()
        self.silenceCountedFrom = startedAt
        let dataDirectory = URL(fileURLWithPath: databasePath).deletingLastPathComponent()
        self.dataDirectory = dataDirectory
        self.reserve = StorageReserve(directory: dataDirectory)
        self.logs = TaskLogStore(directory: logDirectory ?? dataDirectory.appendingPathComponent("logs"))
        self.previews = FramePreviewStore(directory: dataDirectory.appendingPathComponent("previews"))
        self.defaultOutputDirectory = outputDirectory ?? dataDirectory.deletingLastPathComponent().appendingPathComponent("renders")
        var undigested: [Client] = []
        for var client in try store.loadClients() {
            // Keys stored before brender kept only digests are replaced by their digest.
            if !client.keyDigest.isEmpty && !client.keyDigest.hasPrefix("sha256:") {
                client.keyDigest = Client.keyDigest(client.keyDigest)
                undigested.append(client)
            }
            clients[client.id] = client
            clientIDsByName[client.name] = client.id
            if !client.keyDigest.isEmpty { clientIDsByKey[client.keyDigest] = client.id }
        }
        if !undigested.isEmpty {
            let store = self.store
            try store.transaction {
                for client in undigested { try store.updateClient(client) }
            }
        }
        // Rebuild what is derived from the tasks: counters, dispatch order, who runs what.
        var tasksByJob: [Int64: [RenderTask]] = [:]
        try store.forEachTask { task in tasksByJob[task.jobID, default: []].append(task) }
        var blocklists = try store.loadBlocklists()
        pathMaps = try store.loadPathMaps()
        let changesInParts = try store.loadChangesInParts()
        for job in try store.loadJobs() {
            var tasks = tasksByJob.removeValue(forKey: job.id) ?? []
            if let change = changesInParts[job.id] {
                // A big delete or cancel was committed: it holds, and what is left of it is written.
                let canceled = change.kind == .cancel ? Self.applyCancel(change, of: job, to: &tasks) : []
                unwritten[job.id] = UnwrittenChange(change: change, taskIDs: canceled[...])
                if change.kind == .delete { continue }
            }
            let runtime = JobRuntime(job: job, tasks: tasks, blocklist: blocklists.removeValue(forKey: job.id) ?? Blocklist())
            guard !runtime.tasks.isEmpty else { continue }
            jobs[job.id] = runtime
            jobIDs.append(job.id)
            for id in job.after { dependents[id, default: []].append(job.id) }
            if runtime.isDispatchable { dispatchOrder.insert(runtime.dispatchKey) }
            for task in runtime.tasks {
                if task.status == .active {
                    clients[task.clientID]?.running[Int(task.slot)] = Client.RunningTask(jobID: job.id, taskID: task.id)
                }
                if task.status == .completed { throughput.record(task.frameCount, at: task.finishedAt, now: startedAt) }
            }
        }
        if !reserve.make() {
            isLowOnStorage = true
            logger.warning(
                "the data directory is low on space; new jobs and log text are refused until there is room",
                metadata: ["directory": "\(dataDirectory.path)"])
        }
    }

    /// Cancels the tasks a committed cancel in parts had not written yet; returns their ids.
    private static func applyCancel(_ change: JobChangeInParts, of job: Job, to tasks: inout [RenderTask]) -> [Int64] {
        guard job.status.isFinished else { return [] }
        var canceled: [Int64] = []
        for index in tasks.indices where tasks[index].status == .queued {
            tasks[index].status = .canceled
            tasks[index].error = change.reason.isEmpty ? nil : change.reason
            tasks[index].finishedAt = change.time
            canceled.append(tasks[index].id)
        }
        return canceled
    }

    /// Checkpoints and closes the database. The farm must not be used afterwards.
    public func close() {
        store.close()
    }

    /// Answers one API request. The one place where what the farm refuses (``FarmError``) and
    /// what the API contract refuses (``APIError``, from an item's schema) become one answer.
    /// - Parameter principal: who asks: the role limits what may be done (``AccessPolicy``; a
    ///   submit token changes its own jobs only), and every change is logged under its name.
    public func handle(_ request: APIRequest, by principal: Principal = .admin) throws(APIError) -> APIResponse {
        do {
            try AccessPolicy.check(request, by: principal)
            let response = try route(request, by: principal)
            if request.action != "read" { audit(request, by: principal, touched: response.items.count) }
            return response
        } catch let error as APIError {
            throw error
        } catch let error as FarmError {
            throw error.apiError
        } catch {
            throw APIError(.internalError, "unexpected error: \(error)")
        }
    }

    /// Runs a farm operation for a worker; its refusal becomes the API's answer.
    func answering<T>(_ body: () throws(FarmError) -> T) throws(APIError) -> T {
        do {
            return try body()
        } catch {
            throw error.apiError
        }
    }

    /// ``answering(_:)`` for an operation that waits.
    func answering<T>(_ body: () async throws(FarmError) -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            throw error.apiError
        }
    }

    /// One line in the server's log for every change made through the API: who, what, to what.
    private func audit(_ request: APIRequest, by principal: Principal, touched: Int) {
        var metadata: Logger.Metadata = [
            "token": "\(principal.name)", "item": "\(request.item)", "action": "\(request.action)", "touched": "\(touched)",
        ]
        if !request.filters.isEmpty { metadata["filters"] = "\(JSONValue.object(request.filters).serialized().prefix(256))" }
        if request.all { metadata["all"] = "true" }
        if request.action == "update" { metadata["values"] = "\(JSONValue.object(request.values).serialized().prefix(256))" }
        logger.notice("api change", metadata: metadata)
    }

    private func route(_ request: APIRequest, by principal: Principal) throws -> APIResponse {
        switch request.item {
        case Client.schema.item:
            return try handleClientRequest(request)
        case Job.schema.item:
            return try handleJobRequest(request, by: principal)
        case RenderTask.schema.item:
            return try handleTaskRequest(request, by: principal)
        case PathMap.schema.item:
            return try handlePathMapRequest(request)
        case FarmItem.schema.item:
            return try handleFarmRequest(request)
        default:
            throw APIError(
                .unknownItem, "unknown item '\(request.item)'; items: \(Farm.schemas.map(\.item).joined(separator: ", "))",
                field: "item")
        }
    }

    /// Every item the API serves.
    public static let schemas: [ItemSchema] = [Client.schema, Job.schema, RenderTask.schema, PathMap.schema, FarmItem.schema]

    /// What items need to show their derived fields.
    var itemContext: ItemContext {
        ItemContext(now: now(), slowFactor: options.slowTaskFactor, clients: clients)
    }

    /// Runs a store write in a transaction, turning a database failure into an API error.
    ///
    /// When the disk is full, the space reserve is given up and the write tried once more, so that
    /// cancels and deletes still work and can free space; the farm then refuses what would grow
    /// it until space returns.
    /// - Parameter useReserve: try again on the reserve's space (false for what only grows the
    ///   farm, such as a new job: the reserve is for what frees space).
    func writeThrough<T>(useReserve: Bool = true, _ body: () throws -> T) throws(FarmError) -> T {
        do {
            let start = ContinuousClock.now
            let result = try store.transaction(body)
            metrics.observeCommit(seconds: (ContinuousClock.now - start).inSeconds)
            return result
        } catch let error as SQLiteError where error.isDiskFull {
            guard releaseReserve(), useReserve else { throw diskFull(error) }
            do {
                return try store.transaction(body)
            } catch {
                throw diskFull(error)
            }
        } catch {
            logger.error("database write failed", metadata: ["error": "\(error)"])
            throw FarmError.storageFailed("the server could not save the change (\(error)); nothing was changed")
        }
    }

    /// Applies `page` to a sorted list of matches.
    func page<T>(_ matches: [T], of request: APIRequest) -> ArraySlice<T> {
        let start = min(request.offset, matches.count)
        let end = request.limit.map { min(matches.count, start + $0) } ?? matches.count
        return matches[start..<end]
    }

    /// Refuses an update or delete that has no filters unless the request says `"all": true`.
    func requireFiltersOrAll(_ filters: FilterSet, _ request: APIRequest) throws(APIError) {
        if filters.isEmpty && !request.all {
            throw APIError(
                .missingField,
                "\(request.action) of \(request.item) with no filters would change every \(request.item); add filters or set \"all\": true",
                field: "filters")
        }
    }
}

extension Farm {
    /// The farm in one line, for `systemctl status`: clients online and busy, jobs running,
    /// tasks waiting.
    public func statusLine() -> String {
        let online = clients.values.filter { $0.connection == .online }
        let busy = online.filter { $0.activity == .busy }.count
        let active = jobs.values.filter { $0.job.status == .active }.count
        let queued = jobs.values.reduce(0) { $0 + $1.count(.queued) }
        return "\(online.count) of \(clients.count) clients online, \(busy) rendering; \(active) jobs active, \(queued) tasks queued"
    }
}

extension Farm {
    /// The slots of online clients, and how many of them run a task (the overview and metrics).
    func slotUsage() -> (online: Int, busy: Int) {
        clients.values.reduce(into: (online: 0, busy: 0)) { usage, client in
            guard client.connection == .online else { return }
            usage.online += client.slots
            usage.busy += client.running.count
        }
    }

    /// The farm's state for `GET /metrics`: counts by status, and the database's files.
    func gauges() -> FarmGauges {
        var gauges = FarmGauges()
        for runtime in jobs.values {
            gauges.jobs[runtime.job.status, default: 0] += 1
            for status in TaskStatus.allCases { gauges.tasks[status, default: 0] += runtime.count(status) }
        }
        for client in clients.values { gauges.clients["\(client.connection.rawValue)/\(client.activity.rawValue)", default: 0] += 1 }
        (gauges.slotsOnline, gauges.slotsBusy) = slotUsage()
        gauges.waitingWorkers = waiters.count
        gauges.eventReaders = events.readerCount
        func size(_ path: String) -> Int64 {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        gauges.databaseBytes = size(store.database.path)
        gauges.walBytes = size(store.database.path + "-wal")
        gauges.uptime = now() - startedAt
        return gauges
    }
}
