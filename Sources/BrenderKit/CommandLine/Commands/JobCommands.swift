import FarmCore
import Foundation
import UnixSignals

/// `brender job ...`: submit and manage render jobs.
enum JobCommands {
    static let spec = CommandSpec(
        "job", abstract: "Submit and manage render jobs.",
        subcommands: [submit, list, show, watch, update, pause, resume, cancel, requeue, delete])

    static let submit = CommandSpec(
        "submit", abstract: "Submit a job: render FILE.blend's frames on the farm.",
        discussion: """
            Frames: 1-250, 1..250, 7, comma lists of both (1-10,20,30..40) and steps (1-100x5); each frame is rendered once. \
            The job becomes tasks of at most --chunk consecutive frames. Without --frames (or --format), the scene's own frame \
            range and step (and output format) are used, read here with Blender; 'job show' says where they came from. Paths \
            are made absolute here and must be readable by every worker (shared storage; see 'brender pathmap' for mixed \
            platforms). A task that fails is tried again elsewhere; one that fails --max-attempts times fails for good, and the \
            job renders its other frames and ends failed listing them (--fail-fast stops it at once instead). A client that \
            fails --blocklist-threshold tasks of the job gets no more of them. --after makes the job wait until those jobs \
            complete (it fails if one fails or is canceled). --video encodes the frames into an MP4 with ffmpeg once all are \
            rendered. With --type command, the arguments after -- are run for each task, with {start}, {end} and {frame} \
            replaced (a command with {frame} runs once per frame); success is exit code 0.
            """,
        options: [
            .value("frames", short: "F", "SPEC", help: "The frames to render, e.g. 1-250 (default: the scene's range and step)."),
            .value("chunk", short: "c", "N", setting: Job.Settings.chunk, help: "Frames per task."),
            .value(
                "priority", short: "p", "P", setting: Job.Settings.priority,
                help: "\(Job.Settings.priority.range.lowerBound) to \(Job.Settings.priority.range.upperBound); higher goes first."),
            .value("name", short: "n", "NAME", help: "A name for people (default: the file's name)."),
            .value(
                "output", short: "o", "PATTERN",
                help: "Output path; # runs are the frame number (default: renders/ID-NAME/frame_##### next to the server's data)."),
            .value("format", "FORMAT", kind: .choice(Job.formats.keys.sorted()), help: "Image format (default: the scene's, or PNG)."),
            .value("scene", "NAME", help: "The scene to render (default: the file's active scene)."),
            .value("tags", short: "t", "TAG,...", help: "Only clients with all these tags take the job's tasks."),
            .value(
                "max-attempts", "N", setting: Job.Settings.maxAttempts,
                help: "Attempts, each on another worker where possible, before a task fails for good."),
            .value(
                "blocklist-threshold", "N", setting: Job.Settings.blocklistThreshold,
                help: "Failed tasks after which a client gets no more of this job's tasks."),
            .flag("fail-fast", help: "Stop the whole job at the first task that fails for good (default: render the other frames)."),
            .value(
                "blender-version", "VERSION",
                help: "Render with this Blender version (3.4 is any 3.4.x): only workers that offer it take the job; refused when none does."),
            .flag(
                "allow-scripts",
                help: "Run the Python in the .blend file (drivers, startup scripts; Blender's -y); the server must be started with --allow-scripts."),
            .flag(
                "cold",
                help:
                    "Start Blender afresh for every task instead of rendering in a warm one (for scenes whose add-ons or scripts keep state between frames)."
            ),
            .value(
                "task-timeout", "SECONDS", kind: .seconds,
                help: "Stop a task that runs longer than this and count a failed attempt (default: no limit)."),
            .value("after", "JOB", kind: .integer(1...Int.max), repeatable: true, help: "Start only once this job has completed (repeatable)."),
            .value("video", "FILE.mp4", help: "Encode the rendered frames into this H.264 MP4 once every frame is rendered."),
            .value("fps", "N", setting: VideoSpec.fpsSetting, help: "Frames per second of the --video."),
            .value("codec", "CODEC", kind: .choice(VideoSpec.codecs), default: VideoSpec.standardCodec, help: "The --video codec."),
            .value("blender", "PATH", environment: "BRENDER_BLENDER", default: "blender", help: "Blender to read the scene with, when needed."),
            .value(
                "type", "TYPE", kind: .choice(Job.Kind.allCases.map(\.rawValue)), default: Job.Settings.kind.rawValue,
                help: "blender, or command to run ARGV."),
            .flag("wait", short: "w", help: "Follow the job until it ends; exit 0 when it completes, 1 when it fails or is canceled."),
            CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        positionals: [
            PositionalSpec("FILE.blend|ARGV", optional: true, repeated: true, help: "The .blend file; for --type command, the command after --.")
        ],
        examples: [
            "brender job submit shot.blend --frames 1-250 --chunk 10",
            "brender job submit shot.blend --frames 1-100x5 --priority 80 --wait",
            "brender job submit shot.blend --frames 1-250 --video /shared/shot.mp4 --fps 24",
            "brender job submit comp.blend --after 12 --after 13",
            "brender job submit --type command --frames 1-100 --chunk 10 -- ./encode.sh {start} {end}",
        ],
        action: { parsed, context in
            let values = try await submissionValues(parsed)
            let response = try await CommonOptions.client(parsed).send(APIRequest(item: "job", action: "create", values: values))
            guard let job = response.items.first, let id = job["id"]?.intValue else {
                throw CommandFailure("the server accepted the job but did not say its id")
            }
            if parsed.flag("json") {
                context.print(job.prettyPrinted())
            } else if parsed.flag("wait") {
                context.printError(
                    "job \(id) submitted: \(job["frames_total"]?.intValue ?? 0) frames in \(job["tasks_total"]?.intValue ?? 0) tasks"
                        + (job["output"]?.stringValue.map { $0.isEmpty ? "" : ", output \($0)" } ?? ""))
            } else {
                context.print(String(id))
            }
            guard parsed.flag("wait") else { return 0 }
            return try await JobProgress.followUntilInterrupted(jobID: id, client: CommonOptions.client(parsed), context: context)
        })

    static func submissionValues(_ parsed: ParsedCommand) async throws -> [String: JSONValue] {
        let kind = Job.Kind(rawValue: parsed.string("type")!)!
        let frames = parsed.string("frames")
        if let frames {
            do {
                _ = try FrameSpec(parsing: frames)
            } catch {
                throw UsageError("bad --frames: \(error.message)", hint: "write frames like 1-250, 1..250, 7, 1-10,20 or 1-100x5")
            }
        } else if kind == .command {
            throw UsageError("a command job needs --frames", hint: "e.g. --frames 1-250; see 'brender job submit --help'")
        }
        let arguments = parsed.repeatedPositional("FILE.blend|ARGV")
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd)).standardizedFileURL.path
        }
        var values: [String: JSONValue] = [
            "type": .string(kind.rawValue), "chunk": .int(Int64(parsed.int("chunk")!)), "priority": .int(Int64(parsed.int("priority")!)),
            "max_attempts": .int(Int64(parsed.int("max-attempts")!)), "blocklist_threshold": .int(Int64(parsed.int("blocklist-threshold")!)),
        ]
        if let frames { values["frames"] = .string(frames) }
        if parsed.flag("fail-fast") { values["fail_fast"] = true }
        if parsed.flag("cold") { values["cold"] = true }
        if parsed.flag("allow-scripts") { values["allow_scripts"] = true }
        if let version = parsed.string("blender-version") { values["blender_version"] = .string(version) }
        if let timeout = parsed.seconds("task-timeout") { values["task_timeout"] = .int(Int64(max(1, timeout.rounded(.up)))) }
        let after = parsed.strings("after").compactMap { Int64($0) }
        if !after.isEmpty { values["after"] = .array(after.map(JSONValue.int)) }
        switch kind {
        case .blender:
            guard arguments.count == 1 else {
                throw UsageError(
                    arguments.isEmpty ? "a blender job needs FILE.blend" : "a blender job takes one FILE.blend, not \(arguments.count) arguments",
                    hint: "e.g. 'brender job submit shot.blend --frames 1-250'; for a command use --type command -- ARGV")
            }
            let file = absolute(arguments[0])
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw CommandFailure("\(file) does not exist; give the path of a .blend file that the workers can read")
            }
            values["file"] = .string(file)
            if let format = parsed.string("format") { values["format"] = .string(format) }
            if let output = parsed.string("output") { values["output"] = .string(absolute(output)) }
            if let scene = parsed.string("scene") { values["scene"] = .string(scene) }
            if let video = parsed.string("video") {
                values["video"] = [
                    "path": .string(absolute(video)), "fps": .int(Int64(parsed.int("fps")!)), "codec": .string(parsed.string("codec")!),
                ]
            }
            if frames == nil || parsed.string("format") == nil {
                let probe: SceneProbe
                do {
                    probe = try await SceneProbe.read(file: file, scene: parsed.string("scene"), blender: parsed.string("blender")!)
                } catch let error as CommandFailure {
                    guard frames != nil else {
                        throw CommandFailure("no --frames given, and \(error.message); give --frames, or --blender PATH")
                    }
                    // Only the format was to come from the scene: PNG will do, and the workers'
                    // Blender has its own say about the file.
                    values["format"] = "PNG"
                    values["settings_from"] = "submitted; format PNG (Blender could not read the scene here)"
                    return values.merging(common(parsed)) { $1 }
                }
                var taken: [String] = []
                if frames == nil {
                    values["frames"] = .string(probe.frames)
                    taken.append("frames \(probe.frames)")
                }
                if parsed.string("format") == nil {
                    if Job.formats[probe.format] != nil {
                        values["format"] = .string(probe.format)
                        taken.append("format \(probe.format)")
                    } else {
                        values["format"] = "PNG"
                        taken.append("format PNG (the scene's \(probe.format) is not an image format)")
                    }
                }
                values["settings_from"] = .string(
                    "scene '\(probe.scene)' (\(taken.joined(separator: ", ")), read by Blender \(probe.blenderVersion) on \(WorkerAgent.hostname))")
            }
        case .command:
            guard !arguments.isEmpty else {
                throw UsageError(
                    "a command job needs the command after --", hint: "e.g. brender job submit --type command --frames 1-10 -- echo {frame}")
            }
            if parsed.string("video") != nil {
                throw UsageError("--video belongs to blender jobs", hint: "a command job's frames are whatever its command makes")
            }
            values["argv"] = .array(arguments.map(JSONValue.string))
        }
        return values.merging(common(parsed)) { $1 }
    }

    /// The values every kind of job takes alike.
    private static func common(_ parsed: ParsedCommand) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        if let name = parsed.string("name") { values["name"] = .string(name) }
        if let tags = parsed.string("tags") {
            values["tags"] = .array(tags.split(separator: ",").map { .string(String($0)) })
        }
        return values
    }

    static let update = CommandSpec(
        "update", abstract: "Change jobs while they run: priority, name, tags, attempts, time limit, dependencies.",
        discussion: "Changes take effect at the next dispatch; running tasks go on. --after replaces the job's dependencies (only before it starts).",
        options: [
            .value("priority", short: "p", "P", kind: .integer(0...100), help: "0 to 100; higher goes first."),
            .value("name", short: "n", "NAME", help: "A name for people."),
            .value("tags", short: "t", "TAG,...", help: "Only clients with all these tags take the job's tasks ('' for none)."),
            .value("max-attempts", "N", kind: .integer(1...100), help: "Attempts before a task fails for good."),
            .value("task-timeout", "SECONDS", kind: .seconds, help: "Stop a task that runs longer than this (0: no limit)."),
            .value("blocklist-threshold", "N", kind: .integer(1...100), help: "Failed tasks after which a client gets no more of the job."),
            .value("after", "JOB", kind: .integer(1...Int.max), repeatable: true, help: "Wait for these jobs instead (repeatable)."),
            CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        positionals: [PositionalSpec("JOB", kind: .integer(1...Int.max), repeated: true, help: "Job ids.")],
        examples: ["brender job update 12 --priority 90", "brender job update 12 13 --tags gpu --max-attempts 5"],
        action: { parsed, context in
            let ids = parsed.repeatedPositional("JOB").compactMap { Int64($0) }
            var values: [String: JSONValue] = [:]
            if let priority = parsed.int("priority") { values["priority"] = .int(Int64(priority)) }
            if let name = parsed.string("name") { values["name"] = .string(name) }
            if let tags = parsed.string("tags") { values["tags"] = .array(tags.split(separator: ",").map { .string(String($0)) }) }
            if let attempts = parsed.int("max-attempts") { values["max_attempts"] = .int(Int64(attempts)) }
            if let timeout = parsed.seconds("task-timeout") { values["task_timeout"] = .int(Int64(timeout.rounded(.up))) }
            if let threshold = parsed.int("blocklist-threshold") { values["blocklist_threshold"] = .int(Int64(threshold)) }
            let after = parsed.strings("after").compactMap { Int64($0) }
            if !after.isEmpty { values["after"] = .array(after.map(JSONValue.int)) }
            guard !values.isEmpty else {
                throw UsageError("nothing to change", hint: "give --priority, --name, --tags, --max-attempts, --task-timeout or --after")
            }
            let response = try await CommonOptions.client(parsed).send(
                APIRequest(item: "job", action: "update", filters: ["id": .array(ids.map(JSONValue.int))], values: values))
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
            } else if response.total < ids.count {
                throw CommandFailure("no job has the id \(ids.count == 1 ? String(ids[0]) : "of every one given"); see 'brender job list'")
            } else {
                context.print("\(count(response.count, "job")) changed (\(response.total) matched); it takes effect at the next dispatch")
            }
            return 0
        })

    static let list = CommandSpec(
        "list", abstract: "List jobs, oldest first unless --sort says otherwise.",
        discussion: "Filter keys: \(Job.schema.fields.filter(\.filterable).map(\.name).joined(separator: ", ")).",
        options: [
            CommonOptions.filter("job"), CommonOptions.sort(Job.schema), CommonOptions.search(Job.schema), CommonOptions.limit,
            CommonOptions.offset, CommonOptions.everything, CommonOptions.json,
            CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        examples: [
            "brender job list", "brender job list --filter status=active,queued", "brender job list --sort -priority --search sh010",
            "brender job list --json | jq '.[] | {id, status}'",
        ],
        action: { parsed, context in
            let (response, filters) = try await CommonOptions.readPage(parsed, item: "job", schema: Job.schema)
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
                CommonOptions.notePaging(response, noun: "job", context)
                return 0
            }
            guard !response.items.isEmpty else {
                context.printError(filters.isEmpty ? "no jobs yet; submit one with 'brender job submit'" : "no jobs match")
                return 0
            }
            var table = TextTable(headers: ["ID", "NAME", "STATUS", "PRIORITY", "FRAMES", "DONE", "TASKS", "SUBMITTED"])
            for job in response.items {
                let total = job["frames_total"]?.intValue ?? 0
                let done = job["frames_done"]?.intValue ?? 0
                let created = job["created_at"]?.stringValue.flatMap(Timestamp.parse).map { Timestamp.ago($0) } ?? "-"
                table.append([
                    job["id"]?.intValue.map(String.init) ?? "?", job["name"]?.stringValue ?? "", job["status"]?.stringValue ?? "",
                    job["priority"]?.intValue.map(String.init) ?? "", "\(done)/\(total)", percent(done, total),
                    "\(job["tasks_active"]?.intValue ?? 0) running, \(job["tasks_queued"]?.intValue ?? 0) queued", created,
                ])
            }
            context.output.write(table.rendered())
            CommonOptions.notePaging(response, noun: "job", context)
            return 0
        })

    static let watch = CommandSpec(
        "watch", abstract: "Follow a job live until it ends.",
        discussion:
            "Follows the server's event stream: a progress bar with frames done, the rate and the time left on a terminal (colours unless NO_COLOR is set), one line per change otherwise. Exits 0 when the job completes, 1 when it fails or is canceled. Ctrl-C stops watching; the job goes on.",
        options: [CommonOptions.server, CommonOptions.token, CommonOptions.ca],
        positionals: [PositionalSpec("JOB", kind: .integer(1...Int.max), help: "The job's id.")],
        examples: ["brender job watch 12", "brender job watch 12 && notify-send 'shot rendered'"],
        action: { parsed, context in
            let id = Int64(parsed.positional("JOB")!)!
            return try await JobProgress.followUntilInterrupted(jobID: id, client: CommonOptions.client(parsed), context: context)
        })

    static let show = CommandSpec(
        "show", abstract: "Show one job in full.",
        options: [CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca],
        positionals: [PositionalSpec("JOB", kind: .integer(1...Int.max), help: "The job's id.")],
        action: { parsed, context in
            let id = Int64(parsed.positional("JOB")!)!
            let response = try await CommonOptions.client(parsed).send(APIRequest(item: "job", action: "read", filters: ["id": .int(id)]))
            guard let job = response.items.first else { throw CommandFailure("there is no job \(id); see 'brender job list'") }
            if parsed.flag("json") {
                context.print(job.prettyPrinted())
            } else {
                var names: [Int64: String] = [:]
                if let blocked = job["blocklist"]?.arrayValue, !blocked.isEmpty {
                    let clients = try await CommonOptions.client(parsed).send(
                        APIRequest(item: "client", action: "read", filters: ["id": .array(blocked)]))
                    for client in clients.items {
                        if let id = client["id"]?.intValue, let name = client["name"]?.stringValue { names[id] = name }
                    }
                }
                for field in Job.schema.fields {
                    guard let value = job[field.name], value != .null else { continue }
                    if value.arrayValue?.isEmpty == true && ["argv", "after", "blocklist", "slow_tasks", "tags"].contains(field.name) { continue }
                    let text: String
                    if field.name == "blocklist", let ids = value.arrayValue {
                        text = ids.compactMap(\.intValue).map { id in names[id].map { "\($0) (client \(id))" } ?? "client \(id)" }.joined(
                            separator: ", ")
                    } else if field.name == "video" {
                        text = "\(value["path"]?.stringValue ?? "?") (\(value["codec"]?.stringValue ?? "h264"), \(value["fps"]?.intValue ?? 24) fps)"
                    } else {
                        text =
                            value.arrayValue.map { $0.map { $0.stringValue ?? $0.serialized() }.joined(separator: field.name == "argv" ? " " : ",") }
                            ?? value.stringValue ?? value.serialized()
                    }
                    context.print("\((field.name + ":").padding(toLength: 21, withPad: " ", startingAt: 0))\(text)")
                }
            }
            return 0
        })

    /// `pause`, `resume`, `cancel`: set the status of the given jobs.
    static func statusCommand(_ name: String, status: JobStatus, abstract: String, verb: String) -> CommandSpec {
        CommandSpec(
            name, abstract: abstract, options: [CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca],
            positionals: [PositionalSpec("JOB", kind: .integer(1...Int.max), repeated: true, help: "Job ids.")],
            action: { parsed, context in
                let ids = parsed.repeatedPositional("JOB").compactMap { Int64($0) }
                let request = APIRequest(
                    item: "job", action: "update", filters: ["id": .array(ids.map(JSONValue.int))], values: ["status": .string(status.rawValue)])
                let response = try await CommonOptions.client(parsed).send(request)
                if parsed.flag("json") {
                    CommonOptions.printJSON(response, context)
                } else if response.total < ids.count {
                    throw CommandFailure("no job has the id \(ids.count == 1 ? String(ids[0]) : "of every one given"); see 'brender job list'")
                } else {
                    for job in response.items {
                        context.print("job \(job["id"]?.intValue ?? 0) \(verb) (now \(job["status"]?.stringValue ?? "?"))")
                    }
                    if response.count < response.total { context.print("\(count(response.total - response.count, "job")) already so") }
                }
                return 0
            })
    }

    static let pause = statusCommand("pause", status: .paused, abstract: "Pause jobs: no new tasks start; running ones finish.", verb: "paused")
    static let resume = statusCommand("resume", status: .queued, abstract: "Resume paused jobs.", verb: "resumed")
    static let cancel = statusCommand(
        "cancel", status: .canceled, abstract: "Cancel jobs: queued tasks are dropped and running ones stopped on their workers.", verb: "canceled")

    static let requeue = CommandSpec(
        "requeue", abstract: "Put a job's failed and canceled tasks back in the queue: only its frames that did not render.",
        options: [
            .flag("all", help: "Requeue completed tasks too: render the whole job again."),
            .flag("clear-blocklist", help: "Let the clients blocklisted for the job take its tasks again."), CommonOptions.json,
            CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        positionals: [PositionalSpec("JOB", kind: .integer(1...Int.max), help: "The job's id.")],
        action: { parsed, context in
            let id = Int64(parsed.positional("JOB")!)!
            var statuses: [JSONValue] = ["failed", "canceled"]
            if parsed.flag("all") { statuses.append("completed") }
            let client = try CommonOptions.client(parsed)
            let exists = try await client.send(APIRequest(item: "job", action: "read", filters: ["id": .int(id)]))
            guard !exists.items.isEmpty else { throw CommandFailure("there is no job \(id); see 'brender job list'") }
            if parsed.flag("clear-blocklist") {
                _ = try await client.send(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["blocklist": []]))
                if !parsed.flag("json") { context.print("job \(id): blocklist cleared") }
            }
            let response = try await client.send(
                APIRequest(item: "task", action: "update", filters: ["job": .int(id), "status": .array(statuses)], values: ["status": "queued"]))
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
            } else {
                context.print(
                    response.count == 0
                        ? "job \(id) has no \(parsed.flag("all") ? "failed, canceled or completed" : "failed or canceled") tasks to requeue"
                        : "\(count(response.count, "task")) of job \(id) requeued")
            }
            return 0
        })

    static let delete = CommandSpec(
        "delete", abstract: "Delete jobs that are not running, with their tasks and logs (rendered files stay).",
        discussion:
            "Give job ids, or --finished-before AGE to delete every job that completed, failed or was canceled longer ago than AGE (30d, 12h, 90m), e.g. from a cron job.",
        options: [
            .value("finished-before", "AGE", help: "Delete the jobs that ended more than AGE ago: a number and d, h or m (30d)."),
            CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        positionals: [PositionalSpec("JOB", kind: .integer(1...Int.max), optional: true, repeated: true, help: "Job ids.")],
        examples: ["brender job delete 12 13", "brender job delete --finished-before 30d"],
        action: { parsed, context in
            var ids = parsed.repeatedPositional("JOB").compactMap { Int64($0) }
            let client = try CommonOptions.client(parsed)
            if let age = parsed.string("finished-before") {
                guard ids.isEmpty else { throw UsageError("give job ids or --finished-before, not both", hint: "see 'brender job delete --help'") }
                guard let seconds = parseAge(age) else {
                    throw UsageError("--finished-before needs an age such as 30d, 12h or 90m, not '\(age)'", hint: "see 'brender job delete --help'")
                }
                let cutoff = Timestamp.now - seconds
                let finished = try await client.send(
                    APIRequest(item: "job", action: "read", filters: ["status": ["completed", "failed", "canceled"]]))
                ids = finished.items.compactMap { job in
                    guard let ended = job["finished_at"]?.stringValue.flatMap(Timestamp.parse), ended < cutoff else { return nil }
                    return job["id"]?.intValue
                }
                if ids.isEmpty {
                    context.print("no job ended more than \(age) ago")
                    return 0
                }
            }
            guard !ids.isEmpty else {
                throw UsageError("give the ids of the jobs to delete", hint: "e.g. 'brender job delete 12', or --finished-before 30d")
            }
            var deleted: [JSONValue] = []
            // In parts, so that a big clean-up is many small transactions, not one that holds the farm.
            for part in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min(ids.count, $0 + 500)]) }) {
                deleted += try await client.send(APIRequest(item: "job", action: "delete", filters: ["id": .array(part.map(JSONValue.int))])).items
            }
            if parsed.flag("json") {
                context.print(JSONValue.array(deleted).prettyPrinted())
            } else {
                if deleted.count < ids.count { context.printError("\(count(ids.count - deleted.count, "job")) not found") }
                context.print("\(count(deleted.count, "job")) deleted")
            }
            return deleted.count == ids.count ? 0 : 1
        })

    /// `30d`, `12h`, `90m` in seconds.
    static func parseAge(_ text: String) -> Double? {
        guard let unit = text.last, let number = Double(text.dropLast()), number >= 0, number.isFinite else { return nil }
        switch unit {
        case "d": return number * 86_400
        case "h": return number * 3_600
        case "m": return number * 60
        default: return nil
        }
    }

    static func percent(_ done: Int64, _ total: Int64) -> String {
        total == 0 ? "-" : "\(Int((Double(done) / Double(total) * 100).rounded(.down)))%"
    }
}

/// Follows a job until it ends, on the server's event stream: a progress bar on a terminal
/// (standard error), one line per change otherwise.
enum JobProgress {
    private struct Ended: Error {}

    /// ``follow(jobID:client:context:)``, until Ctrl-C (SIGINT), which stops the watching and
    /// leaves the job alone: exit status 130, as for any command a shell user interrupts.
    static func followUntilInterrupted(jobID: Int64, client: BrenderClient, context: CommandContext) async throws -> Int32 {
        try await withThrowingTaskGroup(of: Int32.self) { group in
            group.addTask { try await follow(jobID: jobID, client: client, context: context) }
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigint) {
                    if context.errorOutput.isTerminal { context.errorOutput.write("\n") }
                    context.printError("stopped watching job \(jobID); it goes on ('brender job cancel \(jobID)' stops it)")
                    return 130
                }
                return 130
            }
            let first = try await group.next() ?? 0
            group.cancelAll()
            return first
        }
    }

    static func follow(jobID: Int64, client: BrenderClient, context: CommandContext) async throws -> Int32 {
        var display = ProgressLine(jobID: jobID, context: context)
        var lastEventID: String?
        var unreachableSince: Double?
        while true {
            do {
                try await client.followEvents(
                    jobs: [jobID], after: lastEventID,
                    opened: {
                        unreachableSince = nil
                        // Events from now on reach this reader; read the state they change.
                        if lastEventID == nil, try await display.show(read(jobID, client)) { throw Ended() }
                    }
                ) { event in
                    if let id = event.id { lastEventID = id }
                    switch event.event {
                    case "job":
                        guard let job = try? JSONValue.parse(Data(event.data.utf8)) else { return true }
                        return !display.show(job)
                    case "reset":
                        // Events were lost (the server restarted): read the state again.
                        return try await !display.show(read(jobID, client))
                    case "job_deleted":
                        throw CommandFailure("job \(jobID) was deleted")
                    default:
                        return true
                    }
                }
            } catch is Ended {
            } catch let error as ClientError where error.status == nil {
                // The server may be restarting: keep following for a while.
                let since = unreachableSince ?? Timestamp.now
                unreachableSince = since
                if Timestamp.now - since > 120 { throw error }
                try await Task.sleep(for: .seconds(1))
                continue
            }
            if let status = display.finishedStatus {
                display.end()
                return try await report(read(jobID, client), status: status, client: client, context: context)
            }
            // The server ended the stream (it is stopping): follow on from the last event.
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private static func read(_ jobID: Int64, _ client: BrenderClient) async throws -> JSONValue {
        let response = try await client.send(APIRequest(item: "job", action: "read", filters: ["id": .int(jobID)]))
        guard let job = response.items.first else { throw CommandFailure("there is no job \(jobID); see 'brender job list'") }
        return job
    }

    private static func report(_ job: JSONValue, status: JobStatus, client: BrenderClient, context: CommandContext) async throws -> Int32 {
        let id = job["id"]?.intValue ?? 0
        switch status {
        case .completed:
            let output = job["output"]?.stringValue ?? ""
            let video = job["video"]?["path"]?.stringValue.map { "; video \($0)" } ?? ""
            context.print(
                "job \(id) completed: \(job["frames_done"]?.intValue ?? 0) frames"
                    + (output.isEmpty ? "" : " in \(URL(fileURLWithPath: output).deletingLastPathComponent().path)") + video)
            return 0
        case .failed:
            let failed = try await client.send(
                APIRequest(item: "task", action: "read", filters: ["job": .int(id), "status": "failed"], limit: 1)
            ).items.first
            let taskID = failed?["id"]?.intValue
            let reason = job["reason"]?.stringValue ?? job["failed_frames"]?.stringValue.map { "frames \($0) failed" } ?? "it failed"
            context.printError(
                "brender: error: job \(id) failed: \(reason)"
                    + (taskID.map { "; task \($0): \(failed?["error"]?.stringValue ?? "unknown error"); see 'brender task log \($0)'" } ?? ""))
            return 1
        default:
            context.printError("brender: error: job \(id) was \(status.rawValue)")
            return 1
        }
    }
}
