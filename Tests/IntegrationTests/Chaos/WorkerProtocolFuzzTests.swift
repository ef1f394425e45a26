import BrenderKit
import BrenderTesting
import FarmCore
import Foundation
import NIOHTTP1
import Testing

/// Seeded hostile traffic on the worker protocol of a real server: forged leases, other clients'
/// tasks, wrong keys, log offsets ahead and behind, states out of order, huge and non-UTF-8 logs.
/// No answer is a 5xx, no refused update changes anything, and no task is left active.
@Suite struct WorkerProtocolFuzzTests {
    struct Worker {
        let sender: WorkerProtocol.Sender
        var task: WorkerProtocol.Assignment?
    }

    /// The server's view of a task, to compare before and after a refused update.
    /// The task's stored state (without `slow`, which the clock alone changes).
    private func snapshot(_ farm: TestFarm, _ taskID: Int64) async throws -> JSONValue? {
        try await farm.api(APIRequest(item: "task", action: "read", filters: ["id": .int(taskID)])).items.first?.adding("slow", .null)
    }

    /// What the fuzz saw.
    struct Tally {
        var statuses: [Int: Int] = [:]
        var refusedUnchanged = 0
    }

    @Test func forgedAndMisorderedWorkerTrafficNeverGetsA5xxChangesNothingWhenRefusedAndStrandsNoTask() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        _ = try await farm.submit(["type": "command", "frames": "1-40", "argv": ["true"], "max_attempts": 100])
        let requests = 500
        let tally = try await HTTP1Connection.with(port: farm.port, token: farm.adminToken) { connection in
            try await fuzz(farm, &connection, requests: requests)
        }
        #expect(farm.server?.hasExited == false)
        let tasks = try await farm.api(APIRequest(item: "task", action: "read")).items
        #expect(tasks.allSatisfy { $0["status"] != "active" }, "a task was left active after every worker signed off")
        let clients = try await farm.api(APIRequest(item: "client", action: "read")).items
        #expect(clients.allSatisfy { $0["activity"] == "idle" })
        print(
            "worker-protocol fuzz: \(requests) requests, answers \(tally.statuses.sorted { $0.key < $1.key }), \(tally.refusedUnchanged) refused unchanged"
        )
        #expect(tally.refusedUnchanged > 50, "the fuzz refused too little to mean anything: \(tally.statuses)")
    }

    private func fuzz(_ farm: TestFarm, _ connection: inout HTTP1Connection, requests: Int) async throws -> Tally {
        var random = SeededGenerator(seed: 20_261_130)
        var tally = Tally()
        var workers: [Worker] = []
        for index in 0..<3 {
            let registration = WorkerProtocol.Registration.simulated("fuzz-\(index)")
            let registered = try await connection.post("/worker/register", registration, as: WorkerProtocol.Registered.self)
            workers.append(Worker(sender: .simulated(registered.clientID, name: "fuzz-\(index)")))
        }
        for _ in 0..<requests {
            let index = Int(random.next() % UInt64(workers.count))
            let me = workers[index]
            guard let own = me.task, random.next() % 6 != 0 else {
                let reply = try await connection.post(
                    "/worker/task", WorkerProtocol.TaskRequest(sender: me.sender, wait: 0), as: WorkerProtocol.TaskReply.self)
                workers[index].task = reply.task
                tally.statuses[200, default: 0] += 1
                continue
            }
            // An update about some task: its own, or another worker's, with the lease or not.
            let others = workers.compactMap(\.task)
            var target = random.next() % 4 == 0 && !others.isEmpty ? others[Int(random.next() % UInt64(others.count))] : own
            var sender = me.sender
            switch random.next() % 8 {
            case 0: target.lease = Int32.max
            case 1: target.lease = max(1, target.lease - 1)
            case 2: sender = WorkerProtocol.Sender(clientID: sender.clientID, key: "forged-key-0000000000")
            case 3: target.taskID += Int64(random.next() % 3) + 1
            default: break
            }
            let states: [WorkerProtocol.TaskState] = [.running, .running, .completed, .failed, .released]
            let state = states[Int(random.next() % UInt64(states.count))]
            let logs = [String(repeating: "x", count: 600_000), "caf\u{E9} \u{1F3AC}\n", "line \(random.next() % 1000)\n"]
            let log = logs[Int(random.next() % 3)]
            let offset = [0, 5, 1 << 30, Int(random.next() % 100)][Int(random.next() % 4)]
            let update = WorkerProtocol.TaskUpdate(
                sender: sender, taskID: target.taskID, jobID: target.jobID, lease: target.lease, state: state,
                framesDone: random.next() % 2 == 0 ? Array(target.chunk.frames) : [], log: log, logOffset: offset,
                error: state == .failed ? "fuzzed failure" : nil)
            var body = update.json.serializedBytes()
            if random.next() % 10 == 0, let quote = body.lastIndex(of: UInt8(ascii: "n")) {
                body.insert(contentsOf: [0xC3, 0x28, 0xFF], at: quote)  // invalid UTF-8 inside the JSON
            }
            let before = try await snapshot(farm, target.taskID)
            let answer = try await connection.send(method: .POST, path: "/worker/task/update", body: body)
            tally.statuses[answer.status, default: 0] += 1
            #expect(answer.status < 500, "answered \(answer.status): \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
            let reply = answer.status == 200 ? try? WorkerProtocol.TaskUpdateReply(json: JSONValue.parse(Data(answer.body))) : nil
            if answer.status != 200 || reply?.accepted == false {
                let after = try await snapshot(farm, target.taskID)
                #expect(before == after, "a refused update changed task \(target.taskID)")
                tally.refusedUnchanged += 1
            }
            let finalAndWhole = state != .running && reply?.accepted == true && reply?.logOffset == offset + log.utf8.count
            if sender == me.sender && target.taskID == own.taskID && target.lease == own.lease && finalAndWhole {
                workers[index].task = nil
            }
        }
        for worker in workers {
            let answer = try await connection.send(
                method: .POST, path: "/worker/signoff", body: WorkerProtocol.ClientReference(sender: worker.sender).json.serializedBytes())
            #expect(answer.status == 200)
        }
        return tally
    }
}
