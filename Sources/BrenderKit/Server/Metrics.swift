import FarmCore
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A Prometheus histogram: counts of observations at or under each bound, their sum and count.
struct Histogram: Sendable {
    let bounds: [Double]
    private(set) var counts: [UInt64]
    private(set) var sum: Double = 0
    private(set) var count: UInt64 = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        for index in bounds.indices where value <= bounds[index] { counts[index] += 1 }
        sum += value
        count += 1
    }

    /// The sample lines of the histogram `name` with `labels` (without braces: `route="/api"`).
    func lines(_ name: String, labels: String = "") -> [String] {
        let prefix = labels.isEmpty ? "" : labels + ","
        var lines = zip(bounds, counts).map { "\(name)_bucket{\(prefix)le=\"\(Metrics.format($0))\"} \($1)" }
        lines.append("\(name)_bucket{\(prefix)le=\"+Inf\"} \(count)")
        let suffix = labels.isEmpty ? "" : "{\(labels)}"
        lines.append("\(name)_sum\(suffix) \(Metrics.format(sum))")
        lines.append("\(name)_count\(suffix) \(count)")
        return lines
    }
}

/// What the server measures as it runs, for `GET /metrics`: request latency by route, database
/// commit time, and how long a round of handing out work takes. The farm's own state (jobs, tasks,
/// clients) is read when scraped.
public final class Metrics: Sendable {
    /// The routes requests are counted under; anything else is `other` (so that no request can
    /// make a new series).
    static let routes = [
        "/api", "/worker/register", "/worker/heartbeat", "/worker/task", "/worker/task/update", "/worker/signoff", "/logs/task", "/events",
        "/health", "/metrics",
    ]
    static let latencyBounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    private struct State {
        var requests: [String: Histogram] = [:]
        /// Answers by route and status class (2xx, 4xx, 5xx).
        var answers: [String: UInt64] = [:]
        var commits = Histogram(bounds: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1])
        var dispatchRounds = Histogram(bounds: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1])
    }
    private let state = Mutex(State())

    public init() {}

    static func route(of path: Substring) -> String {
        if path.hasPrefix("/logs/task/") { return "/logs/task" }
        return routes.first { $0 == path } ?? "other"
    }

    func observeRequest(path: Substring, status: Int, seconds: Double) {
        let route = Self.route(of: path)
        let key = "route=\"\(route)\",code=\"\(status / 100)xx\""
        state.withLock { state in
            state.requests[route, default: Histogram(bounds: Self.latencyBounds)].observe(seconds)
            state.answers[key, default: 0] += 1
        }
    }

    /// A transaction of the farm's database, committed.
    func observeCommit(seconds: Double) {
        state.withLock { $0.commits.observe(seconds) }
    }

    /// A round of handing queued work to waiting workers (choosing, committing, answering).
    func observeDispatchRound(seconds: Double) {
        state.withLock { $0.dispatchRounds.observe(seconds) }
    }

    /// The Prometheus text exposition (version 0.0.4) of these measurements and of `farm`.
    func exposition(farm: FarmGauges) -> String {
        var out: [String] = []
        func family(_ name: String, _ type: String, _ help: String, _ samples: [String]) {
            out.append("# HELP \(name) \(help)")
            out.append("# TYPE \(name) \(type)")
            out.append(contentsOf: samples)
        }
        family(
            "brender_jobs", "gauge", "Jobs by status.",
            JobStatus.allCases.map { "brender_jobs{status=\"\($0.rawValue)\"} \(farm.jobs[$0] ?? 0)" })
        family(
            "brender_tasks", "gauge", "Tasks by status.",
            TaskStatus.allCases.map { "brender_tasks{status=\"\($0.rawValue)\"} \(farm.tasks[$0] ?? 0)" })
        var clientSamples: [String] = []
        for connection in Client.Connection.allCases {
            for activity in Client.Activity.allCases {
                let value = farm.clients["\(connection.rawValue)/\(activity.rawValue)"] ?? 0
                clientSamples.append("brender_clients{connection=\"\(connection.rawValue)\",activity=\"\(activity.rawValue)\"} \(value)")
            }
        }
        family("brender_clients", "gauge", "Clients by connection and activity.", clientSamples)
        family(
            "brender_slots", "gauge", "Slots of online clients (tasks they can run at once), busy or free.",
            ["brender_slots{state=\"busy\"} \(farm.slotsBusy)", "brender_slots{state=\"free\"} \(farm.slotsOnline - farm.slotsBusy)"])
        family("brender_workers_waiting", "gauge", "Worker slots holding a long poll for work.", ["brender_workers_waiting \(farm.waitingWorkers)"])
        family("brender_event_readers", "gauge", "Readers following the event stream.", ["brender_event_readers \(farm.eventReaders)"])
        family("brender_database_bytes", "gauge", "Size of the database file.", ["brender_database_bytes \(farm.databaseBytes)"])
        family("brender_wal_bytes", "gauge", "Size of the database's write-ahead log.", ["brender_wal_bytes \(farm.walBytes)"])
        family("brender_uptime_seconds", "gauge", "Seconds since the server started.", ["brender_uptime_seconds \(Self.format(farm.uptime))"])
        let snapshot = state.withLock { $0 }
        family(
            "brender_http_request_duration_seconds", "histogram", "Time to answer a request (for /events: to start the stream), by route.",
            snapshot.requests.keys.sorted().flatMap {
                snapshot.requests[$0]!.lines("brender_http_request_duration_seconds", labels: "route=\"\($0)\"")
            })
        family(
            "brender_http_responses_total", "counter", "Answers by route and status class.",
            snapshot.answers.keys.sorted().map { "brender_http_responses_total{\($0)} \(snapshot.answers[$0]!)" })
        family(
            "brender_database_commit_seconds", "histogram", "Time to commit a change to the database.",
            snapshot.commits.lines("brender_database_commit_seconds"))
        family(
            "brender_dispatch_round_seconds", "histogram", "Time to hand queued work to waiting workers, one round.",
            snapshot.dispatchRounds.lines("brender_dispatch_round_seconds"))
        return out.joined(separator: "\n") + "\n"
    }

    /// A number as Prometheus writes it.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// The farm's state as `/metrics` shows it, read in one go.
struct FarmGauges: Sendable {
    var jobs: [JobStatus: Int] = [:]
    var tasks: [TaskStatus: Int] = [:]
    /// By "connection/activity".
    var clients: [String: Int] = [:]
    var waitingWorkers = 0
    /// Slots of online clients, and how many of them run a task.
    var slotsOnline = 0
    var slotsBusy = 0
    var eventReaders = 0
    var databaseBytes: Int64 = 0
    var walBytes: Int64 = 0
    var uptime: Double = 0
}

/// Times every request into ``Metrics``.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: Metrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.observeRequest(path: request.uri.path[...], status: response.status.code, seconds: (ContinuousClock.now - start).inSeconds)
        return response
    }
}
