import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// The dashboard in a real browser: Debian's chromium, headless, driven by selenium (PyPI) through
/// Debian's chromium-driver (`.ci/run` installs all three), against a real server, a real worker
/// and real Blender. The scenario itself is `dashboard_scenario.py` beside this file.
@Suite(.serialized) struct DashboardBrowserTests {
    /// Where the screenshots go: `BRENDER_TEST_ARTIFACTS/dashboard`, by default in `.build`.
    static var screenshots: URL {
        let root =
            ProcessInfo.processInfo.environment["BRENDER_TEST_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../.build/test-artifacts").standardized
        return root.appendingPathComponent("dashboard")
    }

    @Test func signInWatchARunningJobAndSteerTheFarmInChromium() async throws {
        let missing = ["/usr/bin/chromium", "/usr/bin/chromedriver"].filter { !FileManager.default.isExecutableFile(atPath: $0) }
        try #require(missing.isEmpty, "the browser test needs Debian's chromium and chromium-driver; scripts/install-deps.sh installs them")

        let farm = try TestFarm()
        // Frames of about half a second in a warm Blender (tasks of 3 frames, a minute in all), so
        // that the job is still rendering through every step.
        let scene = try farm.makeScene("dashboard.blend", frames: 120, samples: 48, size: "320x240")
        try farm.startServer()
        try farm.startWorker(name: "render-1")
        #expect(await eventually { try await farm.clients()["render-1"]?["connection"] == "online" })
        let reader = try farm.run(["server", "token", "create", "viewer", "--role", "read-only", "--data", farm.dataDirectory.path])
        try #require(reader.status == 0, "\(reader.stderr)")

        let output = farm.directory.appendingPathComponent("renders").path
        let job = try await farm.submit([
            "file": .string(scene), "frames": "1-120", "chunk": 3, "name": "shot 010 lighting", "priority": 60,
            "output": .string(output + "/010/frame_####"),
        ])
        // Two more jobs for the bulk cancel, paused so that they wait while the first renders.
        var others: [Int64] = []
        for name in ["shot 020 layout", "shot 030 fx"] {
            let id = try await farm.submit([
                "file": .string(scene), "frames": "1-12", "name": .string(name), "priority": 10,
                "output": .string(output + "/other-\(others.count)/frame_####"),
            ])
            _ = try await farm.api(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "paused"]))
            others.append(id)
        }
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("dashboard_scenario.py").path
        let control = farm.directory.appendingPathComponent("browser-control")
        try FileManager.default.createDirectory(at: control, withIntermediateDirectories: true)
        let scenario = try ChildProcess(
            "/usr/bin/env",
            [
                "python3", script, farm.serverURL, try #require(farm.adminToken), reader.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                String(job), String(others[0]), String(others[1]), "render-1", Self.screenshots.path, control.path,
            ],
            logDirectory: farm.directory, name: "dashboard-scenario")
        // The scenario asks for the server to go away and come back (a SIGKILL, then a start on
        // the same port and data), to see the page lose its connection and recover.
        let deadline = Date().addingTimeInterval(900)
        while !scenario.hasExited && Date() < deadline {
            if FileManager.default.fileExists(atPath: control.appendingPathComponent("stop-server").path) {
                farm.server?.send(SIGKILL)
                farm.server?.waitForExit(timeout: 10)
                try FileManager.default.removeItem(at: control.appendingPathComponent("stop-server"))
            }
            if FileManager.default.fileExists(atPath: control.appendingPathComponent("start-server").path) {
                try farm.restartServer()
                try FileManager.default.removeItem(at: control.appendingPathComponent("start-server"))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        if !scenario.hasExited { scenario.send(SIGKILL) }
        let status = scenario.waitForExit(timeout: 10)
        #expect(status == 0, "the browser scenario failed:\n\(scenario.standardError)\n\(scenario.standardOutput)")
        _ = try? await farm.api(APIRequest(item: "job", action: "update", filters: ["id": .int(job)], values: ["status": "canceled"]))
    }
}
