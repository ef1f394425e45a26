import BrenderKit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `brender server` process on 127.0.0.1 (or another local address) with an OS-chosen port and a temporary data
/// directory, plus helpers to start workers and run commands against it.
public final class TestFarm: @unchecked Sendable {
    /// The built `brender` executable.
    public let binary: String
    /// A fresh temporary directory: data, logs, scenes.
    public let directory: URL
    public let dataDirectory: URL
    public private(set) var server: ChildProcess?
    public private(set) var port: Int = 0
    public private(set) var workers: [ChildProcess] = []
    private var serverArguments: [String] = []
    private var logCounter = 0

    /// The address the server listens on.
    public private(set) var host = "127.0.0.1"
    /// http, or https when the server was started with `--tls-cert`.
    public private(set) var scheme = "http"
    public var serverURL: String { "\(scheme)://\(host):\(port)" }

    /// Creates the directories; call ``startServer(_:)`` next.
    public init(binary: String = TestFarm.locateBinary()) throws {
        self.binary = binary
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("brender-test-\(UUID().uuidString.prefix(8))")
        dataDirectory = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        for worker in workers where !worker.hasExited { worker.send(SIGKILL) }
        if let server, !server.hasExited { server.send(SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts the server and waits until it listens. Extra arguments go to `brender server`.
    public func startServer(
        _ extraArguments: [String] = [], port requestedPort: Int = 0, host: String = "127.0.0.1", environment: [String: String] = [:]
    ) throws {
        serverArguments = extraArguments
        self.host = host
        let server = try ChildProcess(
            binary, ["server", "--listen", "\(host):\(requestedPort)", "--data", dataDirectory.path] + extraArguments,
            environment: environment, logDirectory: directory, name: nextLogName("server"))
        self.server = server
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let output = server.standardOutput
            if let range = output.range(of: #"listening on https?://[0-9.]+:(\d+)"#, options: .regularExpression) {
                scheme = output[range].contains("https://") ? "https" : "http"
                let line = output[range]
                port = Int(line.split(separator: ":").last!)!
                return
            }
            if server.hasExited {
                throw TestFarmError.serverFailed(server.standardError)
            }
            usleep(20_000)
        }
        throw TestFarmError.serverFailed("did not report its port within 60 s: \(server.standardError)")
    }

    /// Starts the server again on the same port and data directory (after a stop or a kill).
    public func restartServer() throws {
        try startServer(serverArguments, port: port, host: host)
    }

    /// The server's admin token (made at its first start), or nil before that.
    public var adminToken: String? { ServerTokens.read(.admin, in: ServerTokens.directory(of: dataDirectory)) }

    /// The file holding the server's join token.
    public var joinTokenFile: String { ServerTokens.directory(of: dataDirectory).appendingPathComponent("join.token").path }

    /// The state directory a worker of this farm named `name` uses (unless told otherwise).
    public func stateDirectory(of name: String) -> URL {
        directory.appendingPathComponent("worker-state").appendingPathComponent(name)
    }

    /// Starts a `brender worker` against this farm, with a state directory of the farm's own and
    /// the farm's join token (unless the arguments give their own); it runs command jobs unless
    /// `allowCommands` is false.
    @discardableResult
    public func startWorker(
        name: String, _ extraArguments: [String] = [], environment: [String: String] = [:], allowCommands: Bool = true
    ) throws -> ChildProcess {
        let state = extraArguments.contains("--state-dir") ? [] : ["--state-dir", stateDirectory(of: name).path]
        let join = extraArguments.contains { $0.hasPrefix("--join-token") } ? [] : ["--join-token-file", joinTokenFile]
        let commands = allowCommands ? ["--allow-commands"] : []
        let worker = try ChildProcess(
            binary, ["worker", "--server", serverURL, "--name", name] + state + join + commands + extraArguments, environment: environment,
            logDirectory: directory, name: nextLogName("worker-\(name)"))
        workers.append(worker)
        return worker
    }

    /// Runs a `brender` command against this farm and returns its exit code and output; it has
    /// the admin token in `BRENDER_TOKEN` unless `token` says otherwise ("" for none).
    public func run(_ arguments: [String], timeout: Double = 60, token: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        var environment = ["BRENDER_SERVER": serverURL, "BRENDER_DATA": directory.appendingPathComponent("no-local-data").path]
        if let token = token ?? adminToken, !token.isEmpty { environment["BRENDER_TOKEN"] = token }
        return try ChildProcess.run(binary, arguments, environment: environment, logDirectory: directory, name: nextLogName("cli"), timeout: timeout)
    }

    /// A client of this farm with its admin token.
    public func client() throws -> BrenderClient {
        try BrenderClient(server: serverURL, token: adminToken)
    }

    /// Sends one API request straight to the server.
    public func api(_ request: APIRequest) async throws -> APIResponse {
        try await client().send(request)
    }

    /// The server's clients, by name.
    public func clients() async throws -> [String: JSONValue] {
        let response = try await api(APIRequest(item: "client", action: "read"))
        var byName: [String: JSONValue] = [:]
        for item in response.items {
            if let name = item["name"]?.stringValue { byName[name] = item }
        }
        return byName
    }

    /// Makes a scene with `brender demo-scene` and returns its path.
    public func makeScene(_ name: String, frames: Int = 12, samples: Int = 4, size: String = "64x48") throws -> String {
        let path = directory.appendingPathComponent(name).path
        let result = try run(["demo-scene", path, "--frames", String(frames), "--samples", String(samples), "--size", size], timeout: 120)
        guard result.status == 0 else { throw TestFarmError.serverFailed("demo-scene failed: \(result.stderr)") }
        return path
    }

    /// Submits a job through the API and returns its id.
    public func submit(_ values: [String: JSONValue]) async throws -> Int64 {
        let response = try await api(APIRequest(item: "job", action: "create", values: values))
        return response.items[0]["id"]!.intValue!
    }

    public func job(_ id: Int64) async throws -> JSONValue? {
        try await api(APIRequest(item: "job", action: "read", filters: ["id": .int(id)])).items.first
    }

    /// Waits until the job's status is one of `statuses` (by default, any the job ends in).
    /// - Returns: the status it reached, or nil when it did not within `timeout` seconds.
    public func waitForJob(
        _ id: Int64, toBe statuses: Set<String> = ["completed", "failed", "canceled"], timeout: Double = 180
    ) async -> String? {
        var reached: String?
        _ = await eventually(timeout: timeout, interval: 0.1) {
            guard let status = try await job(id)?["status"]?.stringValue, statuses.contains(status) else { return false }
            reached = status
            return true
        }
        return reached
    }

    public func tasks(of jobID: Int64) async throws -> [JSONValue] {
        try await api(APIRequest(item: "task", action: "read", filters: ["job": .int(jobID)])).items
    }

    /// The whole log of a task as the server stores it (read in parts, as the server serves it).
    public func log(task: Int64) async throws -> String {
        let client = try client()
        var log: [UInt8] = []
        while true {
            let part = try await client.getText("/logs/task/\(task)?offset=\(log.count)").body
            if part.isEmpty { return String(decoding: log, as: UTF8.self) }
            log += part
        }
    }

    private func nextLogName(_ base: String) -> String {
        logCounter += 1
        return "\(logCounter)-\(base)"
    }

    /// The `brender` executable next to the running test or benchmark binary, or `$BRENDER_BIN`.
    public static func locateBinary() -> String {
        if let explicit = ProcessInfo.processInfo.environment["BRENDER_BIN"] { return explicit }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("brender").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return "brender"
    }
}

public enum TestFarmError: Error, CustomStringConvertible {
    case serverFailed(String)

    public var description: String {
        switch self {
        case .serverFailed(let detail): "brender server did not start: \(detail)"
        }
    }
}
