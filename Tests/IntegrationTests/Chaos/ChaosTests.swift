import BrenderKit
import BrenderTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The farm under faults: processes killed with SIGKILL, a frozen server, a full disk. Each test
/// checks that every frame ends in exactly one completed task, nothing is left active or queued,
/// and every task's log is whole; and prints what it survived.
@Suite(.serialized) struct ChaosTests {
    /// A command job whose every execution appends its frame to `runs` and prints it.
    private func countingJob(frames: Int, runs: String, sleep: String = "0") -> [String: JSONValue] {
        [
            "type": "command", "frames": .string("1-\(frames)"), "chunk": 1, "max_attempts": 100,
            "argv": ["sh", "-c", .string("echo {frame} >> \(runs); sleep \(sleep); echo frame {frame} done")],
        ]
    }

    /// Frames run more than once, from the runs file.
    private func repeatedFrames(_ runs: String) -> (executions: Int, repeated: Int, missing: Set<Int>, frames: Int) {
        let lines = ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int($0) }
        var counts: [Int: Int] = [:]
        for frame in lines { counts[frame, default: 0] += 1 }
        return (lines.count, counts.values.filter { $0 > 1 }.count, [], counts.count)
    }

    /// Every task completed once, none active or queued, every log holding its frame's output.
    private func expectEveryFrameOnce(_ farm: TestFarm, job: Int64, frames: Int) async throws {
        let tasks = try await farm.api(APIRequest(item: "task", action: "read", filters: ["job": .int(job)])).items
        #expect(tasks.count == frames)
        #expect(tasks.allSatisfy { $0["status"] == "completed" }, "\(tasks.filter { $0["status"] != "completed" })")
        let done = Set(tasks.compactMap { $0["frame_start"]?.intValue })
        #expect(done == Set((1...Int64(frames)).map { $0 }), "every frame in exactly one completed task")
        var incomplete: [Int64] = []
        for task in tasks {
            let id = task["id"]!.intValue!
            let log = try await farm.log(task: id)
            let frame = task["frame_start"]!.intValue!
            if !log.contains("\nframe \(frame) done\n") || !log.hasPrefix("--- attempt ") { incomplete.append(id) }
        }
        #expect(incomplete.isEmpty, "logs not whole: tasks \(incomplete.prefix(10))")
    }

    @Test func killNineLoopsOfServerAndWorkersLoseNothingAndRecordEachTaskOnce() async throws {
        let farm = try TestFarm()
        try farm.startServer(["--worker-timeout", "3"])
        let names = ["k1", "k2", "k3"]
        for name in names { try farm.startWorker(name: name) }
        let runs = farm.directory.appendingPathComponent("runs.txt").path
        let frames = 1500
        let job = try await farm.submit(countingJob(frames: frames, runs: runs, sleep: "0.01"))
        var serverKills = 0
        var workerKills = 0
        for round in 0..<5 {
            try await Task.sleep(for: .milliseconds(700))
            if round.isMultiple(of: 2) {
                farm.server?.send(SIGKILL)
                farm.server?.waitForExit(timeout: 10)
                try farm.restartServer()
                serverKills += 1
            } else {
                let name = names[round % names.count]
                let victim = farm.workers.last { $0.arguments.contains(name) && !$0.hasExited }
                victim?.send(SIGKILL)
                victim?.waitForExit(timeout: 10)
                try farm.startWorker(name: name)
                workerKills += 1
            }
        }
        let finished = await eventually(timeout: 240, interval: 0.2) {
            try await farm.job(job)?["status"]?.stringValue == "completed"
        }
        let state = try? await farm.job(job)
        #expect(finished, "the job did not complete: \(String(describing: state))")
        try await expectEveryFrameOnce(farm, job: job, frames: frames)
        let counts = repeatedFrames(runs)
        #expect(counts.frames == frames, "every frame ran")
        print(
            "chaos: \(frames) tasks survived \(serverKills) server and \(workerKills) worker kill -9s; \(counts.executions) executions, \(counts.repeated) frames executed more than once (only worker kills may cause them)"
        )
        #expect(counts.repeated <= workerKills, "more repeats than worker kills")
    }

    @Test func aFrozenServerLosesNoWorkAndTakesNothingAwayWhenItResumes() async throws {
        let farm = try TestFarm()
        try farm.startServer(["--worker-timeout", "2"])
        for name in ["f1", "f2"] { try farm.startWorker(name: name) }
        #expect(await eventually { try await farm.clients().values.filter { $0["connection"] == "online" }.count == 2 })
        let runs = farm.directory.appendingPathComponent("runs.txt").path
        let job = try await farm.submit(countingJob(frames: 6, runs: runs, sleep: "1.5"))
        #expect(await eventually { try await farm.job(job)?["tasks_active"] == 2 })
        // Stopped, the server still accepts connections (the kernel queues them) but never answers.
        farm.server?.send(SIGSTOP)
        try await Task.sleep(for: .seconds(5))
        farm.server?.send(SIGCONT)
        #expect(await eventually(timeout: 60, interval: 0.2) { try await farm.job(job)?["status"] == "completed" })
        try await expectEveryFrameOnce(farm, job: job, frames: 6)
        let tasks = try await farm.tasks(of: job)
        #expect(tasks.allSatisfy { $0["attempts"] == 1 }, "a task was taken away after the freeze: \(tasks.map { $0["attempts"] })")
        #expect(repeatedFrames(runs).repeated == 0)
        #expect(farm.workers.allSatisfy { !$0.hasExited })
    }

    @Test(.enabled(if: getuid() == 0, "mounts a small tmpfs: run as root")) func aFullDiskRefusesGrowthKeepsDeletesWorkingAndResumesWhenSpaceReturns()
        async throws
    {
        let farm = try TestFarm()
        let small = farm.directory.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        guard mount("tmpfs", small.path, "tmpfs", 0, "size=4m") == 0 else {
            Issue.record("cannot mount a tmpfs at \(small.path): \(String(cString: strerror(errno)))")
            return
        }
        defer { umount2(small.path, Int32(MNT_DETACH)) }
        let data = small.appendingPathComponent("data")
        let server = try ChildProcess(
            farm.binary, ["server", "--listen", "127.0.0.1:0", "--data", data.path, "--worker-timeout", "30"], logDirectory: farm.directory,
            name: "small-server")
        defer { if !server.hasExited { server.send(SIGKILL) } }
        #expect(await eventually { server.standardOutput.contains("listening on") })
        let listening = try #require(server.standardOutput.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression))
        let port = try #require(Int(server.standardOutput[listening].split(separator: ":").last!))
        let url = "http://127.0.0.1:\(port)"
        let tokens = ServerTokens.directory(of: data)
        let client = try BrenderClient(server: url, token: ServerTokens.read(.admin, in: tokens))
        let worker = try ChildProcess(
            farm.binary,
            [
                "worker", "--server", url, "--name", "disk", "--state-dir", farm.directory.appendingPathComponent("ws").path, "--join-token-file",
                tokens.appendingPathComponent("join.token").path, "--allow-commands",
            ],
            logDirectory: farm.directory, name: "small-worker")
        defer { if !worker.hasExited { worker.send(SIGKILL) } }
        // A finished job, to delete once the disk is full.
        let finished = try await client.send(
            APIRequest(item: "job", action: "create", values: ["type": "command", "frames": "1-20", "argv": ["echo", "{frame}"]])
        ).items[0]["id"]!.intValue!
        #expect(await eventually { try await client.send(APIRequest(item: "job", action: "read")).items.first?["status"] == "completed" })
        // A task that prints, waits while the disk fills, then prints its last line.
        let gate = farm.directory.appendingPathComponent("gate").path
        let job = try await client.send(
            APIRequest(
                item: "job", action: "create",
                values: [
                    "type": "command", "frames": "1",
                    "argv": [
                        "sh", "-c",
                        .string("echo first; while [ ! -e \(gate) ]; do sleep 0.1; done; seq -f 'line %g of the ending' 1 500; echo last line"),
                    ],
                ])
        ).items[0]["id"]!.intValue!
        #expect(await eventually { try await client.send(APIRequest(item: "job", action: "read")).items.last?["tasks_active"] == 1 })
        try await Task.sleep(for: .seconds(1.5))  // "first" is stored

        // Fill the filesystem.
        let filler = small.appendingPathComponent("filler").path
        func fill() {
            let descriptor = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            var block = [UInt8](repeating: 7, count: 4096)
            while write(descriptor, &block, block.count) > 0 {}
            close(descriptor)
        }
        fill()

        // New work is refused with 507, naming the directory.
        // (SQLite may still fit a job or two into its journal's free pages.)
        var refusal: ClientError?
        for _ in 0..<50 where refusal == nil {
            do {
                // Jobs that wait for the running one: they only take space.
                let big = APIRequest(
                    item: "job", action: "create", values: ["type": "command", "frames": "1-2000", "argv": ["true"], "after": [.int(job)]])
                _ = try await client.send(big)
            } catch {
                refusal = error
            }
        }
        guard case .refused(let status, let code, let message, _) = refusal else {
            Issue.record("a job was accepted on a full disk")
            return
        }
        #expect(status == 507 && code == "insufficient_storage")
        #expect(message.contains(data.path), "\(message)")
        // The server shrinks its journal to make room; fill what that freed too. Then the task
        // ends, printing more than the full disk can take.
        try await Task.sleep(for: .seconds(2.5))
        fill()
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        try await Task.sleep(for: .seconds(2))
        // The task's report could not be stored: it is still active, and the worker keeps it.
        let taskID = try await client.send(APIRequest(item: "task", action: "read", filters: ["job": .int(job)])).items[0]["id"]!.intValue!
        #expect(try await client.send(APIRequest(item: "task", action: "read", filters: ["id": .int(taskID)])).items[0]["status"] == "active")
        // (Checked on the filled disk: right after the 507, the server's own journal truncation may
        // already have given it room.)
        let health = try await client.get("/health")
        #expect(health["storage"]?["low"] == true)
        // Deleting works on the full disk.
        _ = try await client.send(APIRequest(item: "job", action: "delete", filters: ["id": .int(finished)]))
        // Free space, and everything resumes without a restart.
        unlink(filler)
        #expect(
            await eventually(timeout: 60) {
                try await client.send(APIRequest(item: "job", action: "read", filters: ["id": .int(job)])).items.first?["status"] == "completed"
            })
        let log = String(decoding: try await client.getText("/logs/task/\(taskID)").body, as: UTF8.self)
        #expect(log.contains("first\n") && log.hasSuffix("last line\n"), "the log is whole: \(log)")
        #expect(await eventually(timeout: 10) { try await client.get("/health")["storage"]?["low"] == false })
        _ = try await client.send(APIRequest(item: "job", action: "create", values: ["type": "command", "frames": "1", "argv": ["true"]]))
        _ = try await client.send(APIRequest(item: "job", action: "delete", filters: ["id": .int(job)]))
        print("disk full: 507 while full, task report kept by the worker and stored once space returned")
    }

    /// Whether this machine can make a network namespace and drop packets in it.
    static let canPartition =
        getuid() == 0 && ["/usr/sbin/ip", "/usr/sbin/iptables"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: canPartition, "needs root, ip and iptables (.ci/run installs iptables)"))
    func workersCutOffByARealPartitionTakeWorkAgainAtOnceWhenItHeals() async throws {
        let farm = try TestFarm()
        let host = try TestHost(directory: farm.directory)
        try farm.startServer(["--worker-timeout", "2"], host: host.hostAddress)
        var workers: [ChildProcess] = []  // held: a dropped ChildProcess is killed
        for name in ["p1", "p2"] {
            workers.append(
                try host.start(
                    farm.binary,
                    [
                        "worker", "--server", farm.serverURL, "--name", name, "--state-dir", farm.stateDirectory(of: name).path,
                        "--join-token-file", farm.joinTokenFile, "--allow-commands",
                    ],
                    logDirectory: farm.directory, name: "worker-\(name)"))
        }
        #expect(await eventually { try await farm.clients().values.filter { $0["connection"] == "online" }.count == 2 })
        let runs = farm.directory.appendingPathComponent("runs.txt").path
        let frames = 60
        let job = try await farm.submit(countingJob(frames: frames, runs: runs, sleep: "0.3"))
        #expect(await eventually { (try await farm.job(job)?["tasks_completed"]?.intValue ?? 0) >= 4 })

        try host.partition()
        // Cut off for longer than the worker timeout: the server gives up on both.
        #expect(
            await eventually(timeout: 20) { try await farm.clients().values.allSatisfy { $0["connection"] == "offline" } },
            "the server did not mark the cut-off workers offline")
        try await Task.sleep(for: .seconds(1))
        let queuedDuringPartition = try await farm.job(job)?["tasks_queued"]?.intValue ?? 0
        try host.heal()
        let healed = Date()
        // Back online and busy again: both workers hold a task while work is queued.
        let busy = await eventually(timeout: 40, interval: 0.02) {
            let clients = try await farm.clients().values
            let finished = try await farm.job(job)?["status"] == "completed"
            return finished || clients.allSatisfy { $0["connection"] == "online" && $0["activity"] == "busy" }
        }
        let takeUp = Date().timeIntervalSince(healed)
        #expect(busy, "the workers did not take work again after the partition healed")
        #expect(takeUp < 10, "the workers idled \(takeUp) s after the heal (the long poll is 20 s)")
        #expect(await eventually(timeout: 120, interval: 0.2) { try await farm.job(job)?["status"] == "completed" })
        try await expectEveryFrameOnce(farm, job: job, frames: frames)
        let counts = repeatedFrames(runs)
        #expect(workers.allSatisfy { !$0.hasExited }, "a worker stopped")
        print(
            "partition: 2 workers cut off for longer than the 2 s worker timeout (\(queuedDuringPartition) tasks queued); busy again \(String(format: "%.2f", takeUp)) s after the heal; \(counts.repeated) frames executed more than once"
        )
    }
}

/// A network namespace of the test's own, joined to this machine by a veth pair, where
/// processes run as on another host; `partition()` drops every packet in and out of it.
final class TestHost {
    let namespace: String
    let hostInterface: String
    let hostAddress: String
    let guestAddress: String
    let directory: URL

    init(directory: URL) throws {
        let tag = String(UInt32.random(in: 0x1000...0xFFFF), radix: 16)
        let subnet = Int.random(in: 1...250)
        namespace = "brender-\(tag)"
        hostInterface = "br\(tag)h"
        hostAddress = "10.213.\(subnet).1"
        guestAddress = "10.213.\(subnet).2"
        self.directory = directory
        try ip(["netns", "add", namespace])
        try ip(["link", "add", hostInterface, "type", "veth", "peer", "name", "br\(tag)g"])
        try ip(["link", "set", "br\(tag)g", "netns", namespace])
        try ip(["addr", "add", "\(hostAddress)/30", "dev", hostInterface])
        try ip(["link", "set", hostInterface, "up"])
        try ip(["netns", "exec", namespace, "ip", "addr", "add", "\(guestAddress)/30", "dev", "br\(tag)g"])
        try ip(["netns", "exec", namespace, "ip", "link", "set", "br\(tag)g", "up"])
        try ip(["netns", "exec", namespace, "ip", "link", "set", "lo", "up"])
    }

    deinit {
        try? ip(["netns", "del", namespace])
        try? ip(["link", "del", hostInterface])
    }

    /// Starts a process inside the namespace.
    func start(_ executable: String, _ arguments: [String], logDirectory: URL, name: String) throws -> ChildProcess {
        try ChildProcess("/usr/sbin/ip", ["netns", "exec", namespace, executable] + arguments, logDirectory: logDirectory, name: name)
    }

    /// Drops every packet in and out of the namespace.
    func partition() throws {
        try ip(["netns", "exec", namespace, "iptables", "-A", "INPUT", "-j", "DROP"])
        try ip(["netns", "exec", namespace, "iptables", "-A", "OUTPUT", "-j", "DROP"])
    }

    /// Lets packets through again.
    func heal() throws {
        try ip(["netns", "exec", namespace, "iptables", "-F"])
    }

    private func ip(_ arguments: [String]) throws {
        let result = try ChildProcess.run("/usr/sbin/ip", arguments, logDirectory: directory, name: "ip", timeout: 10)
        guard result.status == 0 else { throw TestFarmError.serverFailed("ip \(arguments.joined(separator: " ")): \(result.stderr)") }
    }
}
