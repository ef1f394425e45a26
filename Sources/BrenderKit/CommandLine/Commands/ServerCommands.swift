import FarmCore
import Foundation
import Logging
import UnixSignals

/// `brender server` and `brender worker`: the two long-running processes.
enum DaemonCommands {
    static let logLevel = OptionSpec.value(
        "log-level", "LEVEL", kind: .choice(["trace", "debug", "info", "notice", "warning", "error"]), environment: "BRENDER_LOG_LEVEL",
        default: "info", help: "How much to log on standard error; debug logs every request.")

    /// `--config FILE`: settings as `BRENDER_...=value` lines, below the environment in precedence.
    static let config = OptionSpec.value(
        "config", short: "c", "FILE", environment: "BRENDER_CONFIG",
        help: "Read settings from FILE: KEY=value lines, as systemd's EnvironmentFile= (keys are the options' environment variables).")

    static let serverOptions: [OptionSpec] = [
        .value(
            "listen", short: "l", "HOST:PORT", kind: .hostPort, environment: "BRENDER_LISTEN", default: "0.0.0.0:9999",
            help: "Address to listen on; port 0 picks a free port."),
        .value("data", short: "d", "DIR", environment: "BRENDER_DATA", default: "./brender-data", help: "Data directory, created if missing."),
        .value(
            "tls-cert", "FILE", environment: "BRENDER_TLS_CERT",
            help: "Serve HTTPS with this certificate (PEM, the server's first, then its chain); needs --tls-key."),
        .value("tls-key", "FILE", environment: "BRENDER_TLS_KEY", help: "The certificate's private key (PEM) for HTTPS."),
        .value(
            "worker-timeout", "SECONDS", kind: .seconds, environment: "BRENDER_WORKER_TIMEOUT", default: "60",
            help: "A worker not heard from for this long goes offline."),
        .value(
            "slow-task-factor", "K", kind: .seconds, environment: "BRENDER_SLOW_TASK_FACTOR", default: "5",
            help: "Flag a running task as slow past K times its job's median task time (once 5 tasks completed)."),
        .flag(
            "allow-scripts", environment: "BRENDER_ALLOW_SCRIPTS",
            help:
                "Let jobs ask to run the Python in their .blend files (drivers, startup scripts; job submit --allow-scripts): off, since such code runs on every worker."
        ),
        .value(
            "sync", "MODE", kind: .choice(["normal", "full"]), environment: "BRENDER_SYNC", default: "normal",
            help: "normal: every acknowledged change survives a crash of the process; full: also a power loss (slower)."),
        logLevel,
        config,
    ]

    static let server = CommandSpec(
        "server", abstract: "Run the farm's server: the HTTP JSON API and its database.",
        discussion:
            "Keeps its SQLite database and files in the data directory. Every change is saved before it is acknowledged. Stops cleanly on SIGTERM or SIGINT. Each option comes from the command line, else its environment variable, else --config FILE, else its default.",
        options: serverOptions,
        subcommands: [token, backup, showConfiguration("server", options: serverOptions)],
        examples: [
            "brender server", "brender server --listen 127.0.0.1:9999 --data /var/lib/brender", "brender server token show admin",
        ],
        action: { parsed, context in
            let parsed = try Settings.load(parsed)
            let address = HostPort(parsed.string("listen")!)!
            var options = ServerOptions(host: address.host, port: address.port, dataDirectory: parsed.string("data")!)
            options.farm.workerTimeout = parsed.seconds("worker-timeout") ?? 60
            options.farm.slowTaskFactor = max(1, parsed.seconds("slow-task-factor") ?? 5)
            options.farm.allowScripts = parsed.flag("allow-scripts")
            options.synchronous = parsed.string("sync") == "full" ? .full : .normal
            switch (parsed.string("tls-cert"), parsed.string("tls-key")) {
            case (let certificate?, let key?): options.tls = (certificate, key)
            case (nil, nil): break
            default: throw UsageError("--tls-cert and --tls-key go together", hint: "give both for HTTPS, or neither for HTTP")
            }
            let scheme = options.tls == nil ? "http" : "https"
            let logger = makeLogger("brender.server", level: parsed.string("log-level"))
            let dataDirectory = options.dataDirectory
            do {
                try await BrenderServer(options: options, logger: logger).run { port in
                    context.print("brender server listening on \(scheme)://\(address.host):\(port) (data: \(dataDirectory))")
                }
            } catch let error as StoreError {
                throw CommandFailure(error.description)
            } catch let error as BrenderServer.TLSSetupError {
                throw CommandFailure(error.message)
            } catch let error as SQLiteError {
                throw CommandFailure("the database could not be opened or upgraded: \(error)")
            } catch {
                let text = "\(error)"
                if text.contains("Address already in use") || text.contains("errno: 98") {
                    throw CommandFailure(
                        "cannot listen on \(address.host):\(address.port): the address is already in use (another brender server, or another program, listens there); stop it, or choose another address with --listen"
                    )
                }
                if text.contains("Permission denied") || text.contains("errno: 13") {
                    throw CommandFailure(
                        "cannot listen on \(address.host):\(address.port): permission denied (ports below 1024 need privileges); choose a port of 1024 or more with --listen"
                    )
                }
                if text.contains("Cannot assign requested address") || text.contains("errno: 99") {
                    throw CommandFailure(
                        "cannot listen on \(address.host):\(address.port): this machine has no such address; use one of its own addresses, or 0.0.0.0 for all"
                    )
                }
                throw CommandFailure("the server stopped: \(error)")
            }
            return 0
        })

    static let workerOptions: [OptionSpec] = [
        CommonOptions.server,
        CommonOptions.ca,
        .value("join-token", "TOKEN", environment: "BRENDER_JOIN_TOKEN", help: "The server's join token, to register."),
        .value(
            "join-token-file", "FILE", environment: "BRENDER_JOIN_TOKEN_FILE",
            help: "A file holding the join token (default: DATA/tokens/join.token when readable, DATA being $BRENDER_DATA or ./brender-data)."),
        .value("name", short: "n", "NAME", environment: "BRENDER_WORKER_NAME", help: "The node's name (default: the host name)."),
        .value(
            "tags", short: "t", "TAG,...", environment: "BRENDER_TAGS",
            help: "Tags jobs can require, comma separated; omitted keeps the tags the server has."),
        .value(
            "blender", "PATH", repeatable: true, environment: "BRENDER_BLENDER", default: "blender",
            help:
                "A Blender executable (a path or a name in PATH), or a folder of Blender builds (each */blender in it); repeat it, or give several separated by commas, to offer several versions (jobs choose with --blender-version). The first is the default."
        ),
        .flag(
            "cold", environment: "BRENDER_COLD",
            help:
                "Start Blender afresh for every task. By default a worker keeps Blender running with the job's file loaded between tasks of the same file (see also 'job submit --cold')."
        ),
        .value(
            "warm-idle", "SECONDS", kind: .seconds, environment: "BRENDER_WARM_IDLE", default: "600",
            help: "Close a warm Blender idle this long, giving its memory back; the next task starts a fresh one."),
        .value(
            "slots", "N", kind: .integer(1...Client.maxSlots), environment: "BRENDER_SLOTS",
            help:
                "Run N tasks at once, each with its own Blender, temporary folder and home, the CPU threads shared out among them (default: 1). The node shows once in 'client list', with its slots busy/all."
        ),
        .value(
            "gpus", "ID,...", environment: "BRENDER_GPUS",
            help:
                "One slot per GPU, by the driver's numbers (nvidia-smi -L): each slot's Blender sees only its GPU (CUDA_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES) and renders with Cycles on it (--cycles-device); a task that would fall back to the CPU fails instead. Name a GPU twice for two slots on it."
        ),
        .value(
            "cycles-device", "TYPE", kind: .choice(RenderSlot.CyclesDevice.allCases.map(\.rawValue)), environment: "BRENDER_CYCLES_DEVICE",
            help: "The Cycles device type of the --gpus: CUDA (the default), OPTIX or HIP."),
        .value(
            "threads", "N", kind: .integer(1...1024), environment: "BRENDER_THREADS",
            help:
                "CPU threads for rendering, shared out evenly among the slots (Blender's -t); default: every core, and with one slot Blender's own choice."
        ),
        .flag(
            "allow-commands", environment: "BRENDER_ALLOW_COMMANDS",
            help:
                "Run command jobs too: they run any program on this node, so they are off unless asked for (a lent workstation renders Blender jobs only)."
        ),
        .value(
            "ffmpeg", "PATH", environment: "BRENDER_FFMPEG", default: "ffmpeg",
            help: "ffmpeg for video tasks (ffprobe is looked for beside it); without it the worker takes no video tasks."),
        .value(
            "silence-timeout", "SECONDS", kind: .seconds, environment: "BRENDER_SILENCE_TIMEOUT", default: "1800",
            help: "Stop a task whose process prints nothing for this long, as hung; the attempt fails and is retried elsewhere."),
        .value(
            "state-dir", "DIR", environment: "BRENDER_WORKER_STATE",
            help:
                "The worker's own directory: its key and the tasks it runs (default: $STATE_DIRECTORY/worker-NAME under systemd, else ~/.local/state/brender/worker-NAME)."
        ),
        logLevel,
        config,
    ]

    static let worker = CommandSpec(
        "worker", abstract: "Run a render node: register with the server and take work.",
        discussion:
            "Registers under its name (a known name re-attaches to its record), keeps the record online with heartbeats, and reconnects by itself when the server restarts. SIGTERM or SIGINT signs off and exits 0. Each option comes from the command line, else its environment variable, else --config FILE, else its default.",
        options: workerOptions,
        subcommands: [showConfiguration("worker", options: workerOptions)],
        examples: [
            "brender worker --server http://farm:9999", "brender worker --name gpu-01 --tags gpu,cuda --gpus 0,1",
            "brender worker --slots 2 --threads 16",
        ],
        action: { parsed, context in
            let parsed = try Settings.load(parsed)
            let nameGiven = parsed.string("name") != nil
            let name = parsed.string("name") ?? WorkerAgent.defaultName
            guard FieldType.isValidName(name) else {
                throw UsageError("--name '\(name)' is not a valid client name", hint: "use \(FieldType.name.summary)")
            }
            let tags = parsed.string("tags").map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            if let bad = tags?.first(where: { !FieldType.isValidName($0) }) {
                throw UsageError("--tags has an invalid tag '\(bad)'", hint: "tags are \(FieldType.name.summary)")
            }
            let plan = try slots(parsed)
            let logger = makeLogger("brender.worker", level: parsed.string("log-level"))
            let agent: WorkerAgent
            do {
                var options = WorkerOptions(
                    server: parsed.string("server")!, name: name, tags: tags, blender: parsed.string("blender")!,
                    silenceTimeout: max(0.1, parsed.seconds("silence-timeout")!), nameGiven: nameGiven,
                    stateDirectory: parsed.string("state-dir").map { URL(fileURLWithPath: $0) })
                options.ffmpeg = parsed.string("ffmpeg")!
                options.joinToken = try joinToken(parsed)
                options.allowCommands = parsed.flag("allow-commands")
                options.cold = parsed.flag("cold")
                options.warmIdleSeconds = max(0.5, parsed.seconds("warm-idle")!)
                let blenders = parsed.strings("blender").isEmpty ? [parsed.string("blender")!] : parsed.strings("blender")
                options.blenders = blenders.flatMap { $0.split(separator: ",").map(String.init) }
                options.blender = options.blenders.first ?? "blender"
                options.certificateAuthorities = parsed.string("ca")
                (options.slots, options.gpus) = plan
                options.threads = parsed.int("threads")
                options.cyclesDevice = parsed.string("cycles-device").flatMap(RenderSlot.CyclesDevice.init(rawValue:)) ?? .cuda
                agent = try WorkerAgent(options: options, logger: logger)
            } catch {
                throw CommandFailure("\(error)")
            }
            let failure = await withTaskGroup(of: String?.self) { group in
                group.addTask { await agent.run() }
                group.addTask {
                    for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                        logger.info("stopping", metadata: ["signal": "\(signal)"])
                        break
                    }
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            agent.notifier.stopping(status: failure.map { "stopping: \($0)" } ?? "stopping: handing back any task and signing off")
            if let failure { throw CommandFailure(failure) }
            await agent.signOff()
            return 0
        })

    /// `brender server config` and `brender worker config`: the settings the command would run
    /// with, given the same options, and where each came from.
    static func showConfiguration(_ name: String, options: [OptionSpec]) -> CommandSpec {
        CommandSpec(
            "config", abstract: "Print the settings '\(name)' would run with, and where each came from.",
            discussion:
                "Takes the same options; each setting comes from the command line, else its environment variable, else --config FILE, else its default. The output is KEY=value lines a --config file can hold. Unknown keys and bad values are refused as at a start.",
            options: options,
            examples: ["brender \(name) config --config /etc/default/brender-\(name)"],
            action: { parsed, context in
                for line in try Settings.describe(Settings.load(parsed)) { context.print(line) }
                return 0
            })
    }

    /// The worker's slots: `--slots N`, or one per GPU of `--gpus`.
    static func slots(_ parsed: ParsedCommand) throws -> (count: Int, gpus: [String]) {
        guard let list = parsed.string("gpus") else {
            if parsed.string("cycles-device") != nil {
                throw UsageError("--cycles-device applies to the GPUs of --gpus", hint: "add --gpus ID,... (nvidia-smi -L lists them)")
            }
            return (parsed.int("slots") ?? 1, [])
        }
        let gpus = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if let bad = gpus.first(where: {
            $0.isEmpty || $0.count > 64 || !$0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_:".contains($0)) }
        }) {
            throw UsageError(
                "--gpus has an invalid GPU '\(bad)'", hint: "give the driver's GPU numbers or UUIDs separated by commas, e.g. --gpus 0,1")
        }
        guard gpus.count <= Client.maxSlots else {
            throw UsageError("--gpus names \(gpus.count) GPUs; a worker has at most \(Client.maxSlots) slots", hint: "start a second worker")
        }
        if parsed.string("slots") != nil {
            throw UsageError(
                "--slots and --gpus both set the slots",
                hint: "--gpus gives one slot per GPU; leave out --slots (name a GPU twice for two slots on it)")
        }
        return (gpus.count, gpus)
    }

    /// `--join-token`, else the file of `--join-token-file`, else a local data directory's.
    static func joinToken(_ parsed: ParsedCommand) throws -> String? {
        if let token = parsed.string("join-token") { return token }
        if let file = parsed.string("join-token-file") {
            guard let token = ServerTokens.read(file: file) else {
                throw CommandFailure("cannot read the join token from \(file); check the path and that this user may read it")
            }
            return token
        }
        return ServerTokens.local(.join)
    }

    /// `brender server token show|rotate|create|list|revoke`.
    static let token = CommandSpec(
        "token", abstract: "Print, replace, make and revoke the server's tokens.",
        discussion:
            "The admin token opens everything; the join token lets a worker register; named tokens have a role: read-only (dashboards, monitoring), submit (artists and pipelines: Blender jobs, and changes to their own jobs only) or admin. All live in DATA/tokens/ (mode 0600); the admin and join tokens are made on the server's first start. A change takes effect at once on a running server; workers that registered keep their own credential.",
        subcommands: [tokenShow, tokenRotate, tokenCreate, tokenList, tokenRevoke])

    /// `brender server backup FILE`: a consistent copy of the live database.
    static let backup = CommandSpec(
        "backup", abstract: "Copy the farm's database to FILE while the server runs.",
        discussion:
            "The copy is consistent (the database as of one moment; the server goes on working meanwhile), compacted, and checked before this command says it is done. Run it as the user the server runs as. To restore: stop the server, replace DATA/brender.sqlite with the copy and remove DATA/brender.sqlite-wal and -shm, start the server. Tokens (DATA/tokens/) and task logs (DATA/logs/) are files of their own: copy them with the database.",
        options: [dataOption],
        positionals: [PositionalSpec("FILE", help: "Where to write the copy; it must not exist.")],
        examples: ["brender server backup /srv/backups/brender-$(date +%F).sqlite --data /var/lib/brender"],
        action: { parsed, context in
            let source = DataDirectory.databasePath(in: dataDirectory(parsed))
            let target = parsed.positional("FILE")!
            guard FileManager.default.fileExists(atPath: source) else {
                throw CommandFailure("there is no database at \(source); give the server's data directory with --data")
            }
            guard !FileManager.default.fileExists(atPath: target) else {
                throw CommandFailure("\(target) exists; give a new file name (a backup never overwrites)")
            }
            do {
                let database = try SQLiteDatabase(path: source)
                try database.copy(to: target)
                database.close()
                let copy = try SQLiteDatabase(path: target)
                let check = try copy.quickCheck()
                let counts = try ["jobs", "tasks", "clients"].map { table in
                    "\(try copy.query("SELECT count(*) FROM \(table)") { $0.int(0) }.first ?? 0) \(table)"
                }
                copy.close()
                guard check == "ok" else { throw CommandFailure("the copy at \(target) failed its check: \(check)") }
                context.print("backed up \(source) to \(target): \(counts.joined(separator: ", ")); check ok")
            } catch let error as CommandFailure {
                throw error
            } catch {
                throw CommandFailure("the backup failed: \(error)")
            }
            return 0
        })

    static let tokenKind = PositionalSpec(
        "KIND", kind: .choice(ServerTokens.Kind.allCases.map(\.rawValue)), optional: true, help: "admin or join (default: both).")

    static let dataOption = OptionSpec.value(
        "data", short: "d", "DIR", environment: "BRENDER_DATA", default: "./brender-data", help: "The server's data directory.")

    static func dataDirectory(_ parsed: ParsedCommand) -> URL {
        URL(fileURLWithPath: parsed.string("data")!)
    }

    static let tokenShow = CommandSpec(
        "show", abstract: "Print the admin and join tokens.", options: [dataOption], positionals: [tokenKind],
        examples: ["brender server token show admin", "BRENDER_TOKEN=$(brender server token show admin) brender job list"],
        action: { parsed, context in
            let directory = ServerTokens.directory(of: dataDirectory(parsed))
            let kinds = parsed.positional("KIND").flatMap(ServerTokens.Kind.init(rawValue:)).map { [$0] } ?? ServerTokens.Kind.allCases
            for kind in kinds {
                guard let token = ServerTokens.read(kind, in: directory) else {
                    throw CommandFailure(
                        "cannot read \(directory.path)/\(kind.rawValue).token; start the server once to make it, or run this as the user it runs as")
                }
                context.print(kinds.count == 1 ? token : "\(kind.rawValue) \(token)")
            }
            return 0
        })

    static let tokenCreate = CommandSpec(
        "create", abstract: "Make a named token with a role and print it.",
        discussion: "The token is printed once; keep it where its user can read it. 'brender server token revoke NAME' ends it.",
        options: [
            dataOption,
            .value(
                "role", short: "r", "ROLE", kind: .choice(Role.allCases.map(\.rawValue)), default: "submit",
                help: "read-only: reads only; submit: Blender jobs and changes to its own; admin: everything."),
        ],
        positionals: [PositionalSpec("NAME", help: "Who holds it, e.g. an artist or a pipeline; recorded with every change it makes.")],
        examples: ["brender server token create alice --role submit", "brender server token create dashboard --role read-only"],
        action: { parsed, context in
            do {
                let made = try ServerTokens.create(
                    name: parsed.positional("NAME")!, role: Role(rawValue: parsed.string("role")!)!, dataDirectory: dataDirectory(parsed))
                context.print(made.token)
            } catch {
                throw CommandFailure("\(error)")
            }
            return 0
        })

    static let tokenList = CommandSpec(
        "list", abstract: "List the named tokens (not their secrets).", options: [dataOption, CommonOptions.json],
        action: { parsed, context in
            let entries: [ServerTokens.Named]
            do {
                entries = try ServerTokens.namedTokens(dataDirectory: dataDirectory(parsed))
            } catch {
                throw CommandFailure("\(error)")
            }
            if parsed.flag("json") {
                let items: [JSONValue] = entries.map {
                    ["name": .string($0.name), "role": .string($0.role.rawValue), "created_at": .string(Timestamp.format($0.createdAt))]
                }
                context.print(JSONValue.array(items).prettyPrinted())
                return 0
            }
            var table = TextTable(headers: ["NAME", "ROLE", "CREATED"])
            for entry in entries { table.append([entry.name, entry.role.rawValue, Timestamp.format(entry.createdAt)]) }
            context.print(table.rendered())
            return 0
        })

    static let tokenRevoke = CommandSpec(
        "revoke", abstract: "End a named token; the server refuses it within a second.", options: [dataOption],
        positionals: [PositionalSpec("NAME", help: "The token's name.")],
        examples: ["brender server token revoke alice"],
        action: { parsed, context in
            do {
                try ServerTokens.revoke(name: parsed.positional("NAME")!, dataDirectory: dataDirectory(parsed))
            } catch {
                throw CommandFailure("\(error)")
            }
            return 0
        })

    static let tokenRotate = CommandSpec(
        "rotate", abstract: "Replace a token with a new random one and print it.", options: [dataOption],
        positionals: [PositionalSpec("KIND", kind: .choice(ServerTokens.Kind.allCases.map(\.rawValue)), help: "admin or join.")],
        examples: ["brender server token rotate join"],
        action: { parsed, context in
            let kind = ServerTokens.Kind(rawValue: parsed.positional("KIND")!)!
            do {
                context.print(try ServerTokens.rotate(kind, dataDirectory: dataDirectory(parsed)))
            } catch {
                throw CommandFailure("\(error)")
            }
            return 0
        })

    /// Logs on standard error: for the journal (priority prefixes, no time) when that is where it
    /// goes, otherwise with time and level.
    static func makeLogger(_ label: String, level: String?) -> Logger {
        let journal = JournalLogHandler.writesToJournal()
        var logger = Logger(label: label) { label -> any LogHandler in
            journal ? JournalLogHandler(label: label) : StreamLogHandler.standardError(label: label)
        }
        logger.logLevel = level.flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }
}
