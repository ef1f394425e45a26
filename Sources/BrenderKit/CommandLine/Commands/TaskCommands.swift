import FarmCore
import Foundation

/// `brender task ...`: a job's tasks and their logs.
enum TaskCommands {
    static let spec = CommandSpec("task", abstract: "Inspect a job's tasks and their logs.", subcommands: [list, log, requeue])

    static let list = CommandSpec(
        "list", abstract: "List a job's tasks.",
        options: [
            .value("job", short: "j", "JOB", kind: .integer(1...Int.max), help: "The job whose tasks to list."),
            CommonOptions.filter("task"), CommonOptions.sort(RenderTask.schema), CommonOptions.search(RenderTask.schema), CommonOptions.limit,
            CommonOptions.offset, CommonOptions.everything, CommonOptions.json,
            CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        examples: ["brender task list --job 3", "brender task list --job 3 --filter status=failed"],
        action: { parsed, context in
            if parsed.int("job") == nil && parsed.strings("filter").isEmpty {
                throw UsageError("name the job: --job JOB", hint: "e.g. 'brender task list --job 3'; 'brender job list' shows job ids")
            }
            let job: [String: JSONValue] = parsed.int("job").map { ["job": .int(Int64($0))] } ?? [:]
            let (response, _) = try await CommonOptions.readPage(parsed, item: "task", schema: RenderTask.schema, adding: job)
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
                CommonOptions.notePaging(response, noun: "task", context)
                return 0
            }
            guard !response.items.isEmpty else {
                context.printError("no tasks match")
                return 0
            }
            var table = TextTable(headers: ["ID", "JOB", "STATUS", "FRAMES", "DONE", "CLIENT", "ATTEMPTS", "ERROR"])
            for task in response.items {
                let status = task["status"]?.stringValue ?? ""
                let role = task["role"]?.stringValue == "video" ? " (video)" : ""
                table.append([
                    task["id"]?.intValue.map(String.init) ?? "?", task["job"]?.intValue.map(String.init) ?? "?",
                    status + (task["slow"] == true ? " SLOW" : "") + role, task["frames"]?.stringValue ?? "",
                    "\(task["frames_done"]?.intValue ?? 0)/\(task["frame_count"]?.intValue ?? 0)",
                    task["client"]?.intValue.map(String.init) ?? "-", task["attempts"]?.intValue.map(String.init) ?? "0",
                    task["error"]?.stringValue.map { String($0.prefix(60)) } ?? "",
                ])
            }
            context.output.write(table.rendered())
            CommonOptions.notePaging(response, noun: "task", context)
            return 0
        })

    static let log = CommandSpec(
        "log", abstract: "Print a task's log (Blender's output, every attempt).",
        options: [
            .flag("follow", short: "f", help: "Keep printing new lines as they arrive (on the event stream) until the task ends."),
            CommonOptions.server, CommonOptions.token,
            CommonOptions.ca,
        ],
        positionals: [PositionalSpec("TASK", kind: .integer(1...Int.max), help: "The task's id ('brender task list --job JOB').")],
        action: { parsed, context in
            let id = Int64(parsed.positional("TASK")!)!
            let client = try CommonOptions.client(parsed)
            var log = LogReader(taskID: id, client: client, context: context)
            let status = try await log.readOn()
            guard parsed.flag("follow"), status.isRunning else { return 0 }
            // Follow: read on whenever the server says the task's log grew or its state changed.
            guard let job = try await client.send(APIRequest(item: "task", action: "read", filters: ["id": .int(id)])).items.first?["job"]?.intValue
            else { return 0 }
            while true {
                var ended = false
                do {
                    try await client.followEvents(jobs: [job], opened: { ended = try await !log.readOn().isRunning }) { event in
                        guard event.event == "log" || event.event == "task",
                            (try? JSONValue.parse(Data(event.data.utf8)))?["task"]?.intValue == id
                        else { return true }
                        ended = try await !log.readOn().isRunning
                        return !ended
                    }
                } catch let error as ClientError where error.status == nil {
                    try await Task.sleep(for: .seconds(1))  // the server may be restarting
                }
                if ended { return 0 }
            }
        })

    static let requeue = CommandSpec(
        "requeue", abstract: "Put tasks back in the queue (failed, canceled, completed or running ones).",
        options: [CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca],
        positionals: [PositionalSpec("TASK", kind: .integer(1...Int.max), repeated: true, help: "Task ids.")],
        action: { parsed, context in
            let ids = parsed.repeatedPositional("TASK").compactMap { Int64($0) }
            let response = try await CommonOptions.client(parsed).send(
                APIRequest(item: "task", action: "update", filters: ["id": .array(ids.map(JSONValue.int))], values: ["status": "queued"]))
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
            } else {
                context.print("\(count(response.count, "task")) requeued")
            }
            return 0
        })
}

/// Prints a task's log from where it last stopped, reading every part the server has.
struct LogReader {
    let taskID: Int64
    let client: BrenderClient
    let context: CommandContext
    private(set) var offset = 0

    init(taskID: Int64, client: BrenderClient, context: CommandContext) {
        self.taskID = taskID
        self.client = client
        self.context = context
    }

    /// Prints what is new; returns the task's status.
    mutating func readOn() async throws -> TaskStatus? {
        while true {
            let chunk: (body: Data, headers: [String: String])
            do throws(ClientError) {
                chunk = try await client.getText("/logs/task/\(taskID)?offset=\(offset)")
            } catch {
                if error.status == 404 { throw CommandFailure("there is no task \(taskID); see 'brender task list --job JOB'") }
                throw error
            }
            offset = Int(chunk.headers["x-brender-next-offset"] ?? "") ?? offset + chunk.body.count
            // The server answers a long log in parts: read on until there is nothing more.
            guard chunk.body.isEmpty else {
                context.output.write(String(decoding: chunk.body, as: UTF8.self))
                continue
            }
            return TaskStatus(rawValue: chunk.headers["x-brender-task-status"] ?? "")
        }
    }
}

extension TaskStatus? {
    /// Whether a task may still write to its log.
    fileprivate var isRunning: Bool { self == .active || self == .queued }
}
