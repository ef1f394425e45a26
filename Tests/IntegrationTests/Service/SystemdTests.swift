import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// The server and the worker under a stand-in for systemd: sd_notify messages read from a real
/// Unix datagram socket, and the shipped unit files checked by `systemd-analyze verify`.
@Suite struct SystemdTests {
    @Test func theServerSaysReadyOnceListeningPingsTheWatchdogAndSaysStopping() throws {
        let farm = try TestFarm()
        let notify = try NotifySocket(directory: farm.directory)
        try farm.startServer(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"])
        let ready = try #require(notify.waitFor("READY=1", timeout: 30))
        #expect(ready.message.contains("STATUS=serving on 127.0.0.1:\(farm.port)"))
        #expect(notify.waitFor("WATCHDOG=1", timeout: 10) != nil, "pinged at least every half interval")
        #expect(notify.waitFor("clients online", timeout: 15) != nil, "a status line on the farm")
        farm.server?.send(SIGTERM)
        #expect(notify.waitFor("STOPPING=1", timeout: 30) != nil)
        #expect(farm.server?.waitForExit(timeout: 30) == 0)
    }

    @Test func theWorkerSaysReadyOnceRegisteredAndStoppingOnSIGTERM() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let notify = try NotifySocket(directory: farm.directory)
        let worker = try farm.startWorker(name: "unit", environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        let ready = try #require(notify.waitFor("READY=1", timeout: 30))
        #expect(ready.message.contains("as unit (client"), "\(ready.message)")
        #expect(notify.waitFor("WATCHDOG=1", timeout: 10) != nil)
        worker.send(SIGTERM)
        #expect(notify.waitFor("STOPPING=1", timeout: 30) != nil)
        #expect(worker.waitForExit(timeout: 30) == 0)
    }

    @Test func withoutANotifySocketNothingIsSentAndAnAbstractSocketIsReached() throws {
        #expect(!SystemdNotifier(environment: [:]).isActive)
        let watched = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"])
        #expect(watched.watchdogInterval == nil, "a watchdog meant for another process")
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "4000000"]).watchdogInterval == .seconds(4))
    }

    @Test func theShippedUnitsPassSystemdAnalyzeVerify() throws {
        let analyzer = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyzer) else { return }  // Debian's systemd package not installed
        let farm = try TestFarm()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for unit in ["brender-server.service", "brender-worker.service"] {
            // As installed, but running the binary under test (verify checks that it exists).
            let text = try String(contentsOf: repository.appendingPathComponent("contrib/systemd/\(unit)"), encoding: .utf8)
                .replacingOccurrences(of: "ExecStart=/usr/bin/brender", with: "ExecStart=\(farm.binary)")
            let copy = farm.directory.appendingPathComponent(unit)
            try text.write(to: copy, atomically: true, encoding: .utf8)
            let result = try ChildProcess.run(
                analyzer, ["verify", "--man=no", copy.path], logDirectory: farm.directory, name: "verify-\(unit)", timeout: 60)
            // (--man=no: the pages its Documentation= names are installed by the package, not here.)
            // Only what concerns the unit itself: a container without a running systemd also
            // prints notes about the system it cannot read.
            let complaints = (result.stdout + result.stderr).split(separator: "\n").filter { $0.contains(unit) }
            #expect(complaints.isEmpty, "\(unit): \(complaints.joined(separator: "\n"))")
        }
    }
}
