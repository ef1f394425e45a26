import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// `--config FILE` on real processes: what `server config` prints, and starts refused for an
/// unknown key or a bad value.
@Suite struct ConfigurationProcessTests {
    @Test func serverConfigShowsEachSettingAndWhereItCameFrom() throws {
        let farm = try TestFarm()
        let file = farm.directory.appendingPathComponent("brender-server.conf")
        try "BRENDER_LISTEN=127.0.0.1:7000\nBRENDER_WORKER_TIMEOUT=90\nBRENDER_SYNC=full\n".write(to: file, atomically: true, encoding: .utf8)
        let shown = try ChildProcess.run(
            farm.binary, ["server", "config", "--config", file.path, "--sync", "normal"], environment: ["BRENDER_WORKER_TIMEOUT": "120"],
            logDirectory: farm.directory, name: "config", timeout: 60)
        #expect(shown.status == 0, "\(shown.stderr)")
        let lines = shown.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("BRENDER_LISTEN=127.0.0.1:7000") && $0.hasSuffix("# \(file.path):1") })
        #expect(lines.contains { $0.hasPrefix("BRENDER_WORKER_TIMEOUT=120") && $0.hasSuffix("# environment (BRENDER_WORKER_TIMEOUT)") })
        #expect(lines.contains { $0.hasPrefix("BRENDER_SYNC=normal") && $0.hasSuffix("# command line") })
        #expect(lines.contains { $0.hasPrefix("BRENDER_DATA=./brender-data") && $0.hasSuffix("# default") })
    }

    @Test func aServerStartsWithItsConfigurationFile() async throws {
        let farm = try TestFarm()
        let file = farm.directory.appendingPathComponent("brender-server.conf")
        try "# a farm\nBRENDER_SLOW_TASK_FACTOR=3\nBRENDER_LOG_LEVEL=debug\n".write(to: file, atomically: true, encoding: .utf8)
        try farm.startServer(["--config", file.path])
        _ = try await farm.api(APIRequest(item: "job", action: "read"))
        #expect(await eventually { farm.server?.standardError.contains("debug") == true }, "the file's log level is in force")
    }

    @Test func anUnknownKeyOrABadValueStopsTheStartNamingIt() throws {
        let farm = try TestFarm()
        let file = farm.directory.appendingPathComponent("bad.conf")
        try "BRENDER_DATA=\(farm.dataDirectory.path)\nBRENDER_LISTN=127.0.0.1:0\n".write(to: file, atomically: true, encoding: .utf8)
        let unknown = try farm.run(["server", "--config", file.path])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("\(file.path):2: unknown key BRENDER_LISTN") && unknown.stderr.contains("did you mean BRENDER_LISTEN?"))
        try "BRENDER_DATA=\(farm.dataDirectory.path)\nBRENDER_SYNC=sometimes\n".write(to: file, atomically: true, encoding: .utf8)
        let bad = try farm.run(["server", "--config", file.path])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("BRENDER_SYNC in \(file.path):2 must be one of normal, full"), "\(bad.stderr)")
        let worker = try farm.run(["worker", "--config", farm.directory.appendingPathComponent("missing.conf").path])
        #expect(worker.status == 1 && worker.stderr.contains("cannot read the configuration file"))
    }
}
