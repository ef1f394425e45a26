import BrenderKit
import BrenderTesting
import Foundation
import NIOHTTP1
import Testing

/// `GET /metrics` of a real server, parsed by the Prometheus project's own parser
/// (`prometheus_client` from PyPI, installed by `.ci/run`).
@Suite struct MetricsTests {
    /// The samples of an exposition as "name{labels} value" lines, as prometheus_client reads them.
    private func parse(_ text: String, in directory: URL) throws -> [String] {
        let input = directory.appendingPathComponent("metrics.txt")
        try text.write(to: input, atomically: true, encoding: .utf8)
        let program = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for sample in family.samples:
                    labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                    print(f"{sample.name}{{{labels}}} {sample.value:g}")
            """
        let result = try ChildProcess.run(
            "/usr/bin/env", ["python3", "-c", program, input.path], logDirectory: directory, name: "prometheus-parse", timeout: 60)
        #expect(result.status == 0, "prometheus_client could not parse /metrics: \(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func metricsParseAsPrometheusTextAndCountTheFarm() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try await SimulatedWorkerSession.register("sim", on: farm)
        _ = try await farm.submit(["file": "/tmp/metered.blend", "frames": "1-3"])
        #expect(try await worker.completeNextTask() != nil)

        let made = try farm.run(["server", "token", "create", "prometheus", "--role", "read-only", "--data", farm.dataDirectory.path])
        let reader = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let refused = try await HTTP1Connection.with(port: farm.port) { try await $0.send(method: .GET, path: "/metrics", body: nil) }
        #expect(refused.status == 401)
        let answer = try await HTTP1Connection.with(port: farm.port, token: reader) { try await $0.send(method: .GET, path: "/metrics", body: nil) }
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"].first?.hasPrefix("text/plain; version=0.0.4") == true)
        let samples = try parse(String(decoding: answer.body, as: UTF8.self), in: farm.directory)
        #expect(samples.contains(#"brender_jobs{status="active"} 1"#), "\(samples.prefix(20))")
        #expect(samples.contains(#"brender_tasks{status="completed"} 1"#))
        #expect(samples.contains(#"brender_tasks{status="queued"} 2"#))
        #expect(samples.contains(#"brender_clients{activity="idle",connection="online"} 1"#))
        #expect(samples.contains { $0.hasPrefix(#"brender_http_request_duration_seconds_count{route="/worker/task/update"} "#) })
        #expect(samples.contains { $0.hasPrefix("brender_database_commit_seconds_count{} ") && !$0.hasSuffix(" 0") })
        #expect(samples.contains { $0.hasPrefix("brender_wal_bytes{} ") })
        #expect(samples.contains(#"brender_http_responses_total{code="4xx",route="/metrics"} 1"#))
    }
}
