import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// Command jobs (no Blender) through the real server, workers and command line.
@Suite struct CommandJobTests {
    @Test func everyFrameRunsExactlyOnceAcrossWorkers() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "a")
        try farm.startWorker(name: "b")
        let record = farm.directory.appendingPathComponent("frames.txt").path
        let result = try farm.run(
            ["job", "submit", "--type", "command", "--frames", "1-20", "--chunk", "3", "--wait", "--", "sh", "-c", "echo {frame} >> \(record)"],
            timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        #expect(lines.sorted() == Array(1...20))
    }

    @Test func aTaskWithMegabytesOfOutputKeepsItsWholeLog() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "chatty")
        // 30,000 lines of 100 characters: more than the server takes in one request.
        let result = try farm.run(
            [
                "job", "submit", "--type", "command", "--frames", "1", "--wait", "--", "sh", "-c",
                "head -c 3000000 /dev/zero | tr '\\0' x | fold -w 100",
            ],
            timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let log = try await farm.log(task: 1)
        let lines = log.split(separator: "\n")
        #expect(lines.filter { $0.count == 100 && $0.allSatisfy { $0 == "x" } }.count == 30_000)
        // The command reads a long log in parts too.
        let printed = try farm.run(["task", "log", "1"])
        #expect(printed.stdout == log)
    }

    @Test func aSilentProcessIsStoppedAsHungAndItsAttemptFails() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try farm.startWorker(name: "watchful", ["--silence-timeout", "1"])
        let marker = "sleep 61.\(getpid() % 1000)"  // a command line no other test runs
        let result = try farm.run(
            ["job", "submit", "--type", "command", "--frames", "1", "--max-attempts", "1", "--wait", "--", "sh", "-c", marker], timeout: 120)
        #expect(result.status == 1)
        #expect(result.stderr.contains("the process printed nothing for 1 s; stopped as hung (worker --silence-timeout)"))
        #expect(await eventually(timeout: 15) { Processes.matching(marker).isEmpty }, "the hung process was stopped, not left running")
        #expect(!worker.hasExited)
    }

    @Test func aFailingCommandFailsAfterItsAttempts() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "a")
        let result = try farm.run(
            ["job", "submit", "--type", "command", "--frames", "1", "--max-attempts", "2", "--wait", "--", "sh", "-c", "echo nope; exit 3"],
            timeout: 120)
        #expect(result.status == 1)
        #expect(result.stderr.contains("'sh -c echo nope; exit 3' ended with exit code 3"))
        let log = try farm.run(["task", "log", "1"])
        let lines = log.stdout.split(separator: "\n")
        #expect(lines.filter { $0 == "nope" }.count == 2, "both attempts' output is in the log")
        #expect(lines.contains("--- attempt 1 ended: 'sh -c echo nope; exit 3' ended with exit code 3 ---"), "the reason is in the log")
    }

    @Test func jobCommandsPauseResumeListAndRequeue() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let submitted = try farm.run(["job", "submit", "--type", "command", "--frames", "1-4", "--name", "later", "--", "true"])
        #expect(submitted.stdout == "1\n")
        #expect(try farm.run(["job", "pause", "1"]).stdout == "job 1 paused (now paused)\n")
        let updated = try farm.run(["job", "update", "1", "--priority", "90", "--max-attempts", "5"])
        #expect(updated.stdout == "1 job changed (1 matched); it takes effect at the next dispatch\n", "\(updated.stderr)")
        #expect(try await farm.job(1)?["priority"] == 90)
        #expect(try farm.run(["job", "update", "1"]).status == 2, "nothing to change is a usage error")
        _ = try farm.run(["job", "update", "1", "--priority", "50"])
        let list = try farm.run(["job", "list"])
        #expect(list.stdout.contains("1   later  paused  50        0/4     0%    0 running, 4 queued"))
        try farm.startWorker(name: "w")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await farm.job(1)?["frames_done"] == 0, "a paused job starts nothing")
        // A waiting worker may start it before the answer is written: queued or already active.
        let resumed = try farm.run(["job", "resume", "1"]).stdout
        #expect(
            resumed == "job 1 resumed (now queued)\n" || resumed == "job 1 resumed (now active)\n" || resumed == "job 1 resumed (now completed)\n")
        #expect(await eventually { try await farm.job(1)?["status"] == "completed" })
        let requeue = try farm.run(["job", "requeue", "1", "--all"])
        #expect(requeue.stdout == "4 tasks of job 1 requeued\n")
        #expect(await eventually { try await farm.job(1)?["status"] == "completed" })
        let refused = try farm.run(["job", "pause", "1"])
        #expect(refused.status == 1)
        #expect(refused.stderr == "brender: error: job 1 is completed; it cannot be paused\n")
        let tasks = try farm.run(["task", "list", "--job", "1"])
        #expect(tasks.stdout.split(separator: "\n").count == 5)
        #expect(try farm.run(["job", "delete", "1"]).stdout == "1 job deleted\n")
    }

    @Test func submitRefusesBadInputBeforeSendingIt() throws {
        let farm = try TestFarm()
        try farm.startServer()
        let reversed = try farm.run(["job", "submit", "--type", "command", "--frames", "9-1", "--", "true"])
        #expect(reversed.status == 2)
        #expect(reversed.stderr.hasPrefix("brender: error: bad --frames: reversed range '9-1'"))
        let missing = try farm.run(["job", "submit", "/no/such.blend", "--frames", "1"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "brender: error: /no/such.blend does not exist; give the path of a .blend file that the workers can read\n")
    }

    @Test func pathMapsAreSetListedAndDeletedFromTheCommandLine() throws {
        let farm = try TestFarm()
        try farm.startServer()
        let set = try farm.run(["pathmap", "set", "projects", "--linux", "/mnt/projects", "--windows", "P:\\"])
        #expect(set.stdout == "path map projects created\n", "\(set.stderr)")
        #expect(try farm.run(["pathmap", "set", "projects", "--darwin", "/Volumes/projects"]).stdout == "path map projects changed\n")
        let list = try farm.run(["pathmap", "list"]).stdout
        #expect(list.contains("projects") && list.contains("/mnt/projects") && list.contains("/Volumes/projects") && list.contains("P:\\"))
        let bad = try farm.run(["pathmap", "set", "other", "--linux", "relative", "--windows", "Q:\\"])
        #expect(bad.status == 1 && bad.stderr.contains("is not an absolute linux path"))
        #expect(try farm.run(["pathmap", "delete", "projects"]).stdout == "path map projects deleted\n")
        #expect(try farm.run(["pathmap", "delete", "projects"]).status == 1)
    }
}
