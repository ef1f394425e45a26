import BrenderKit
import BrenderTesting
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Scenarios that measure the farm at size: real worker processes, big submits, admin commands,
/// restart, and the scheduler's choice.
enum FarmScenarios {
    /// Registers `count` clients over `lanes` parallel connections.
    static func registerClients(farm: TestFarm, count: Int, tags: @escaping @Sendable (Int) -> [String] = { _ in [] }, lanes: Int = 16) async throws {
        let port = farm.port
        let token = farm.adminToken
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<min(lanes, count) {
                group.addTask {
                    try await HTTP1Connection.with(port: port, token: token) { connection in
                        for index in stride(from: lane, to: count, by: lanes) {
                            let registration = WorkerProtocol.Registration(
                                name: "node-\(index)", hostname: "node-\(index)", platform: "linux-x86_64", tags: tags(index),
                                version: BrenderVersion.current, key: WorkerProtocol.WorkerKey.generate(), capabilities: ["commands"])
                            _ = try await connection.post("/worker/register", registration, as: WorkerProtocol.Registered.self)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Submits jobs over one connection; returns the seconds each submit took.
    static func submit(farm: TestFarm, jobs: [[String: JSONValue]]) async throws -> [Double] {
        try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
            var times: [Double] = []
            for values in jobs {
                let body = APIRequest(item: "job", action: "create", values: values).json.serializedBytes()
                let start = monotonicSeconds()
                let (status, answer) = try await connection.post("/api", body)
                times.append(monotonicSeconds() - start)
                guard status == 200 else {
                    throw HTTP1Connection.Failure(description: "submit answered \(status): \(String(decoding: answer, as: UTF8.self))")
                }
            }
            return times
        }
    }

    /// 3. Real `brender worker` processes run a command job of `true` tasks.
    static func workers(processes: Int, tasks: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning"])
        for index in 0..<processes { try farm.startWorker(name: "real-\(index)", ["--log-level", "warning"]) }
        guard await eventually(timeout: 60, { try await farm.clients().values.filter { $0["connection"] == "online" }.count == processes }) else {
            throw CommandFailure("the workers did not come online")
        }
        try await Task.sleep(for: .milliseconds(300))
        let before = farm.workers.map { ProcessUsage(pid: $0.pid) }
        let start = monotonicSeconds()
        let id = try await farm.submit(["type": "command", "argv": ["true"], "frames": .string("1-\(tasks)"), "chunk": 1])
        while try await farm.job(id)?["status"] != "completed" { try await Task.sleep(for: .milliseconds(20)) }
        let elapsed = monotonicSeconds() - start
        let after = farm.workers.map { ProcessUsage(pid: $0.pid) }
        // CPU the workers spent themselves, and in the children they waited for.
        let ownCPU = zip(before, after).reduce(0.0) { $0 + (($1.1?.cpuSeconds ?? 0) - ($1.0?.cpuSeconds ?? 0)) }
        let childCPU = zip(before, after).reduce(0.0) { $0 + (($1.1?.childCPUSeconds ?? 0) - ($1.0?.childCPUSeconds ?? 0)) }
        // What running `true` costs by itself, the same way the worker runs it.
        var spawn = Timings()
        for _ in 0..<100 {
            let (_, seconds) = try await measure {
                try await ProcessRunner.run("true", arguments: [], stop: StopSignal()) { _ in }
            }
            spawn.add(seconds)
        }
        let perTask = elapsed * Double(processes) / Double(tasks)
        let overhead = perTask - spawn.median
        let rate = Double(tasks) / elapsed
        log(
            "\(processes) worker processes ran \(tasks) tasks of `true` in \(formatDuration(elapsed)): \(Int(rate)) tasks/s; \(formatDuration(perTask)) a task per worker, of which running `true` takes \(formatDuration(spawn.median)) (wall time, \(processes) workers sharing the machine with the server)"
        )
        log(
            "worker CPU a task: \(formatDuration(ownCPU / Double(tasks))) in the worker itself (its overhead), \(formatDuration(childCPU / Double(tasks))) in the child process"
        )
        return [
            "processes": .int(Int64(processes)), "tasks": .int(Int64(tasks)), "seconds": .double(elapsed), "tasks_per_second": .double(rate),
            "seconds_per_task_per_worker": .double(perTask), "child_process_seconds": .double(spawn.median),
            "worker_wall_overhead_seconds_per_task": .double(overhead),
            "worker_cpu_seconds_per_task": .double(ownCPU / Double(tasks)), "child_cpu_seconds_per_task": .double(childCPU / Double(tasks)),
        ]
    }

    /// 4. One job of `frames` frames with chunk 1: time to accept it; server memory with it and
    /// with `heldTasks` tasks in all.
    static func bigSubmit(frames: Int, heldTasks: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning"])
        let job: [String: JSONValue] = ["type": "command", "argv": ["true"], "frames": .string("1-\(frames)"), "chunk": 1]
        let accept = try await submit(farm: farm, jobs: [job])[0]
        let afterOne = ProcessUsage(pid: farm.server!.pid)
        let more = max(0, heldTasks / frames - 1)
        _ = try await submit(farm: farm, jobs: Array(repeating: job, count: more))
        let held = (more + 1) * frames
        let afterAll = ProcessUsage(pid: farm.server!.pid)
        log(
            "a job of \(frames) frames (chunk 1) accepted in \(formatDuration(accept)); server RSS \(formatBytes(afterOne?.rssBytes ?? 0)) with it, \(formatBytes(afterAll?.rssBytes ?? 0)) with \(held) tasks held"
        )
        return [
            "frames": .int(Int64(frames)), "accept_seconds": .double(accept), "rss_bytes_one_job": .int(Int64(afterOne?.rssBytes ?? 0)),
            "tasks_held": .int(Int64(held)), "rss_bytes_all": .int(Int64(afterAll?.rssBytes ?? 0)),
        ]
    }

    /// 5. `brender client list` and `brender job list` as whole processes against `count` clients
    /// and `count` jobs.
    static func admin(count: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning", "--worker-timeout", "3600"])
        let (_, registering) = try await measure {
            try await registerClients(farm: farm, count: count, tags: { $0 % 10 == 0 ? ["gpu"] : [] })
        }
        log(
            "registered \(count) clients in \(formatDuration(registering)): \(Int(Double(count) / registering)) a second, each committed before its answer"
        )
        let jobs = (0..<count).map { index -> [String: JSONValue] in
            ["type": "command", "argv": ["true"], "frames": "1", "priority": .int(Int64(index % 101)), "name": .string("job-\(index)")]
        }
        _ = try await submit(farm: farm, jobs: jobs)
        var figures: [String: JSONValue] = [
            "clients": .int(Int64(count)), "jobs": .int(Int64(count)), "registrations_per_second": .double(Double(count) / registering),
        ]
        let commands: [(String, [String])] = [
            ("client_list", ["client", "list"]), ("client_list_filtered", ["client", "list", "--filter", "tags=gpu", "--limit", "20"]),
            ("client_list_json", ["client", "list", "--json"]), ("job_list", ["job", "list"]),
            ("job_list_filtered", ["job", "list", "--filter", "priority=100"]), ("version", ["--version"]),
        ]
        for (name, arguments) in commands {
            var timings = Timings()
            for _ in 0..<10 {
                let (result, seconds) = try await measure { try farm.run(arguments) }
                guard result.status == 0 else { throw CommandFailure("brender \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
                timings.add(seconds)
            }
            log(
                "brender \(arguments.joined(separator: " ")): median \(formatDuration(timings.median)), p99 \(formatDuration(timings.p99)) (whole process)"
            )
            figures[name + "_median_seconds"] = .double(timings.median)
            figures[name + "_p99_seconds"] = .double(timings.p99)
        }
        return figures
    }

    /// The dashboard's jobs page with `jobs` jobs on the server: the API reads it makes (a sorted
    /// page of 50, a search) timed here, and the page itself timed in Debian's chromium by
    /// `Benchmarks/dashboard-bench.py` (needs chromium, chromium-driver and selenium).
    static func dashboard(jobs count: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning"])
        let jobs = (0..<count).map { index -> [String: JSONValue] in
            ["type": "command", "argv": ["true"], "frames": "1-10", "priority": .int(Int64(index % 101)), "name": .string("shot-\(index)")]
        }
        _ = try await submit(farm: farm, jobs: jobs)
        var figures: [String: JSONValue] = ["jobs": .int(Int64(count))]
        let reads: [(String, APIRequest)] = [
            ("read_page_by_id", APIRequest(item: "job", action: "read", limit: 50, sort: "-id")),
            ("read_page_by_name", APIRequest(item: "job", action: "read", limit: 50, sort: "name")),
            ("read_page_searched", APIRequest(item: "job", action: "read", limit: 50, sort: "-priority", search: "shot-99")),
            ("read_farm", APIRequest(item: "farm", action: "read")),
        ]
        try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
            for (name, request) in reads {
                var timings = Timings()
                for _ in 0..<20 {
                    let start = monotonicSeconds()
                    let (status, _) = try await connection.post("/api", request.json.serializedBytes())
                    timings.add(monotonicSeconds() - start)
                    guard status == 200 else { throw CommandFailure("\(name) answered \(status)") }
                }
                log("\(name) with \(count) jobs: median \(formatDuration(timings.median)), p99 \(formatDuration(timings.p99))")
                figures[name + "_median_seconds"] = .double(timings.median)
            }
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("dashboard-bench.py").path
        let result = try ChildProcess.run(
            "/usr/bin/env", ["python3", script, farm.serverURL, farm.adminToken ?? "", "15"], logDirectory: farm.directory, name: "dashboard-bench",
            timeout: 600)
        guard result.status == 0, let browser = try? JSONValue.parse(Data(result.stdout.utf8)).objectValue else {
            throw CommandFailure("the browser half of the dashboard benchmark failed: \(result.stderr.suffix(2000))")
        }
        for (name, value) in browser { figures["browser_" + name] = value }
        log(
            "jobs page in chromium with \(count) jobs: \(browser["jobs_page_switch_median_ms"]?.doubleValue.map { String(format: "%.0f", $0) } ?? "?") ms median from asking to painted rows (max \(browser["jobs_page_switch_max_ms"]?.doubleValue.map { String(format: "%.0f", $0) } ?? "?") ms); a fresh load \(browser["jobs_page_load_median_ms"]?.doubleValue.map { String(format: "%.0f", $0) } ?? "?") ms median"
        )
        return figures
    }

    /// 6. A server holding `clients` clients and `tasks` tasks is killed and started again: time
    /// until it answers, and until it hands out work.
    static func restart(clients: Int, tasks: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let farm = try TestFarm()
        try farm.startServer(["--log-level", "warning", "--worker-timeout", "3600"])
        try await registerClients(farm: farm, count: clients)
        let perJob = min(tasks, 100_000)
        let job: [String: JSONValue] = ["type": "command", "argv": ["true"], "frames": .string("1-\(perJob)"), "chunk": 1]
        _ = try await submit(farm: farm, jobs: Array(repeating: job, count: max(1, tasks / perJob)))
        let worker = try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
            try await DispatchScenarios.register(&connection, name: "restart-probe")
        }
        farm.server?.send(SIGKILL)
        farm.server?.waitForExit(timeout: 10)
        let start = monotonicSeconds()
        try farm.restartServer()
        let answering = monotonicSeconds() - start
        var task: WorkerProtocol.Assignment?
        while task == nil {
            task = try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
                try await connection.post(
                    "/worker/task", WorkerProtocol.TaskRequest(sender: worker, wait: 0), as: WorkerProtocol.TaskReply.self
                ).task
            }
        }
        let working = monotonicSeconds() - start
        let reloaded = try await farm.job(1)?["tasks_total"]?.intValue ?? 0
        let rss = ProcessUsage(pid: farm.server!.pid)?.rssBytes ?? 0
        log(
            "restart after kill -9 with \(clients) clients and \(tasks) tasks: answering in \(formatDuration(answering)), handing out work in \(formatDuration(working)); RSS \(formatBytes(rss))"
        )
        return [
            "clients": .int(Int64(clients)), "tasks": .int(Int64(tasks)), "answering_seconds": .double(answering),
            "working_seconds": .double(working), "first_job_tasks_after_restart": .int(reloaded), "rss_bytes": .int(Int64(rss)),
        ]
    }

    /// A farm in this process on a fresh temporary database, logging nothing; remove the folder after.
    static func inProcessFarm() throws -> (Farm, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("brender-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let farm = try Farm(
            databasePath: directory.appendingPathComponent("brender.sqlite").path, logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        return (farm, directory)
    }

    /// 7. The scheduler's choice, in process: `jobs` queued jobs of mixed priorities and tags,
    /// `clients` clients; how long choosing a task takes.
    static func scheduler(jobs: Int, clients: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let (farm, directory) = try inProcessFarm()
        defer { try? FileManager.default.removeItem(at: directory) }
        var ids: [Int64] = []
        for index in 0..<clients {
            let tags = index % 10 == 0 ? ["gpu"] : index % 10 == 1 ? ["cuda", "gpu"] : []
            ids.append(
                try await farm.register(
                    .init(
                        name: "c\(index)", hostname: "c", platform: "linux", tags: tags, version: "bench", key: "bench-client-key-\(index)",
                        capabilities: ["commands"])
                ).clientID)
        }
        var random = SystemRandomNumberGenerator()
        var untaggedJobs: [Int64] = []
        for index in 0..<jobs {
            var values: [String: JSONValue] = [
                "type": "command", "argv": ["true"], "frames": "1-3", "priority": .int(Int64.random(in: 0...100, using: &random)),
            ]
            if index % 3 == 0 { values["tags"] = ["gpu"] }
            if index % 7 == 0 { values["tags"] = ["cuda", "gpu"] }
            let created = try await farm.handle(APIRequest(item: "job", action: "create", values: values))
            if values["tags"] == nil, let id = created.items.first?["id"]?.intValue { untaggedJobs.append(id) }
        }
        var all = Timings()
        for id in ids {
            let start = monotonicSeconds()
            _ = await farm.previewNextTask(for: id)
            all.add(monotonicSeconds() - start)
        }
        // Worst case: a client without tags while every job it could take is paused, so it looks
        // at every queued job (all of them need tags) and finds nothing.
        _ = try await farm.handle(
            APIRequest(item: "job", action: "update", filters: ["id": .array(untaggedJobs.map(JSONValue.int))], values: ["status": "paused"]))
        var worst = Timings()
        let untagged = ids[5]
        for _ in 0..<200 {
            let start = monotonicSeconds()
            _ = await farm.previewNextTask(for: untagged)
            worst.add(monotonicSeconds() - start)
        }
        await farm.close()
        log(
            "choosing a task among \(jobs) queued jobs for \(clients) clients: median \(formatDuration(all.median)), p99 \(formatDuration(all.p99)) (including the actor call); worst case, \(jobs - untaggedJobs.count) queued jobs looked at and none fits: median \(formatDuration(worst.median)), p99 \(formatDuration(worst.p99))"
        )
        var figures: [String: JSONValue] = [
            "jobs": .int(Int64(jobs)), "clients": .int(Int64(clients)), "choose_median_seconds": .double(all.median),
            "choose_p99_seconds": .double(all.p99), "worst_case_median_seconds": .double(worst.median), "worst_case_p99_seconds": .double(worst.p99),
        ]
        for (key, value) in try await schedulerWithRules(jobs: jobs, clients: clients, log: log) { figures[key] = value }
        return figures
    }

    /// The scheduler's choice with the production rules in play: a quarter of the jobs wait for
    /// another (`--after`), the top jobs have blocklists holding hundreds of clients (each failed
    /// a task there), and a tenth of the clients are inside working hours that cover the whole day.
    static func schedulerWithRules(jobs: Int, clients: Int, log: @escaping @Sendable (String) -> Void) async throws -> [String: JSONValue] {
        let (farm, directory) = try inProcessFarm()
        defer { try? FileManager.default.removeItem(at: directory) }
        var senders: [WorkerProtocol.Sender] = []
        for index in 0..<clients {
            let tags = index % 10 == 0 ? ["gpu"] : index % 10 == 1 ? ["cuda", "gpu"] : []
            let key = "bench-rules-client-key-\(index)"
            var registration = WorkerProtocol.Registration(
                name: "c\(index)", hostname: "c", platform: "linux", tags: tags, version: "bench", key: key, capabilities: ["commands"])
            registration.timeZone = "UTC"
            senders.append(WorkerProtocol.Sender(clientID: try await farm.register(registration).clientID, key: key))
        }
        var random = SystemRandomNumberGenerator()
        var created: [Int64] = []
        for index in 0..<jobs {
            var values: [String: JSONValue] = [
                "type": "command", "argv": ["true"], "frames": "1-3", "priority": .int(Int64.random(in: 0...100, using: &random)),
                "max_attempts": 100, "blocklist_threshold": 1,
            ]
            if index % 3 == 0 { values["tags"] = ["gpu"] }
            if index % 7 == 0 { values["tags"] = ["cuda", "gpu"] }
            if index % 4 == 3, let earlier = created.randomElement(using: &random) { values["after"] = [.int(earlier)] }
            let response = try await farm.handle(APIRequest(item: "job", action: "create", values: values))
            created.append(response.items[0]["id"]!.intValue!)
        }
        // Blocklists: every other client fails a task of the jobs it is given, a few rounds.
        var blocked = 0
        for _ in 0..<3 {
            for sender in senders.enumerated().filter({ $0.offset % 2 == 0 }).map(\.element) {
                guard let task = try await farm.requestTask(sender, wait: 0) else { continue }
                _ = try await farm.updateTask(
                    .init(
                        sender: sender, taskID: task.taskID, jobID: task.jobID, lease: task.lease, state: .failed, framesDone: [], log: "",
                        logOffset: 0, error: "bench failure"))
                blocked += 1
            }
        }
        // Working hours covering the whole day for a tenth of the clients.
        let scheduled = senders.enumerated().filter { $0.offset % 10 == 5 }.map { JSONValue.int($0.element.clientID) }
        _ = try await farm.handle(
            APIRequest(item: "client", action: "update", filters: ["id": .array(scheduled)], values: ["schedule": "00:00-24:00"]))
        var all = Timings()
        for sender in senders {
            let start = monotonicSeconds()
            _ = await farm.previewNextTask(for: sender.clientID)
            all.add(monotonicSeconds() - start)
        }
        await farm.close()
        log(
            "with the rules (a quarter of the jobs waiting on others, \(blocked) blocklist entries, \(scheduled.count) clients in working hours): median \(formatDuration(all.median)), p99 \(formatDuration(all.p99)), worst \(formatDuration(all.percentile(100)))"
        )
        return [
            "rules_choose_median_seconds": .double(all.median), "rules_choose_p99_seconds": .double(all.p99),
            "rules_choose_max_seconds": .double(all.percentile(100)), "rules_blocklist_entries": .int(Int64(blocked)),
        ]
    }
}
