import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// The Debian package in a minimal Debian root without Swift (debootstrap), entered with chroot:
/// it installs, `brender --version`, `brender server` and `brender worker` run, and removing and
/// purging it leave none of its files. `.ci/run` makes the package and the root and names them
/// in BRENDER_TEST_PACKAGE and BRENDER_TEST_ROOT; elsewhere the suite does not run.
@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["BRENDER_TEST_PACKAGE"] != nil && ProcessInfo.processInfo.environment["BRENDER_TEST_ROOT"] != nil,
        "needs BRENDER_TEST_PACKAGE and BRENDER_TEST_ROOT (set by .ci/run)"))
struct PackageTests {
    let package = ProcessInfo.processInfo.environment["BRENDER_TEST_PACKAGE"] ?? ""
    let root = ProcessInfo.processInfo.environment["BRENDER_TEST_ROOT"] ?? ""

    /// Runs a command inside the root.
    private func inRoot(_ arguments: [String], farm: TestFarm, name: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(
            "/usr/sbin/chroot", [root] + arguments, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], logDirectory: farm.directory,
            name: name, timeout: 120)
    }

    /// Every file the package holds, as absolute paths.
    private func packageFiles(farm: TestFarm) throws -> [String] {
        let contents = try ChildProcess.run("/usr/bin/dpkg-deb", ["-c", package], logDirectory: farm.directory, name: "contents", timeout: 60)
        return contents.stdout.split(separator: "\n").compactMap { line in
            guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last, !line.hasPrefix("d") else { return nil }
            return String(path.dropFirst())  // "./usr/bin/brender" -> "/usr/bin/brender"
        }
    }

    @Test func installsRunsAndRemovesCleanlyInADebianWithoutSwift() async throws {
        let farm = try TestFarm()
        #expect(!FileManager.default.fileExists(atPath: root + "/opt/swift"), "the root has no Swift toolchain")
        // The root needs /proc as a real system has it (the Swift runtime reads its arguments there).
        let mounted = try ChildProcess.run(
            "/usr/bin/mount", ["-t", "proc", "proc", root + "/proc"], logDirectory: farm.directory, name: "mount", timeout: 30)
        #expect(mounted.status == 0, "\(mounted.stderr)")
        defer { _ = try? ChildProcess.run("/usr/bin/umount", [root + "/proc"], logDirectory: farm.directory, name: "umount", timeout: 30) }
        let inside = "/tmp/brender-package.deb"
        try? FileManager.default.removeItem(atPath: root + inside)
        try FileManager.default.copyItem(atPath: package, toPath: root + inside)

        let installed = try inRoot(["dpkg", "-i", inside], farm: farm, name: "dpkg-i")
        #expect(installed.status == 0, "\(installed.stdout)\(installed.stderr)")
        #expect(try inRoot(["brender", "--version"], farm: farm, name: "version").stdout == "brender \(BrenderVersion.current)\n")
        #expect(try inRoot(["getent", "passwd", "brender"], farm: farm, name: "user").status == 0, "the system user was made")
        let files = try packageFiles(farm: farm)
        #expect(files.contains("/usr/bin/brender") && files.contains("/usr/lib/systemd/system/brender-worker.service"))
        #expect(files.contains("/usr/share/man/man1/brender-job.1.gz") && files.contains("/usr/share/bash-completion/completions/brender"))

        // A server and a worker, run inside the root, on loopback.
        try? FileManager.default.removeItem(atPath: root + "/tmp/farm")
        let server = try ChildProcess(
            "/usr/sbin/chroot", [root, "brender", "server", "--listen", "127.0.0.1:0", "--data", "/tmp/farm"], logDirectory: farm.directory,
            name: "chroot-server")
        defer { if !server.hasExited { server.send(SIGKILL) } }
        var port = 0
        #expect(
            await eventually {
                guard let range = server.standardOutput.range(of: #"listening on http://127.0.0.1:(\d+)"#, options: .regularExpression) else {
                    return false
                }
                port = Int(server.standardOutput[range].split(separator: ":").last!)!
                return true
            })
        let worker = try ChildProcess(
            "/usr/sbin/chroot",
            [
                root, "env", "BRENDER_DATA=/tmp/farm", "brender", "worker", "--server", "http://127.0.0.1:\(port)", "--name", "chrooted",
                "--state-dir", "/tmp/worker",
            ],
            logDirectory: farm.directory, name: "chroot-worker")
        defer { if !worker.hasExited { worker.send(SIGKILL) } }
        let token = try #require(ServerTokens.read(.admin, in: URL(fileURLWithPath: root + "/tmp/farm/tokens")))
        let client = try BrenderClient(server: "http://127.0.0.1:\(port)", token: token)
        #expect(
            await eventually {
                try await client.send(APIRequest(item: "client", action: "read")).items.first?["connection"] == "online"
            }, "\(worker.standardError)")
        worker.send(SIGTERM)
        #expect(worker.waitForExit(timeout: 30) == 0)
        server.send(SIGTERM)
        #expect(server.waitForExit(timeout: 30) == 0)

        // Removed: only the configuration files stay; purged: nothing.
        #expect(try inRoot(["dpkg", "-r", "brender"], farm: farm, name: "dpkg-r").status == 0)
        let conffiles = ["/etc/default/brender-server", "/etc/default/brender-worker"]
        for file in files where !conffiles.contains(file) {
            #expect(!FileManager.default.fileExists(atPath: root + file), "\(file) stayed after dpkg -r")
        }
        #expect(try inRoot(["dpkg", "-P", "brender"], farm: farm, name: "dpkg-P").status == 0)
        for file in files { #expect(!FileManager.default.fileExists(atPath: root + file), "\(file) stayed after dpkg -P") }
        try? FileManager.default.removeItem(atPath: root + inside)
    }
}
