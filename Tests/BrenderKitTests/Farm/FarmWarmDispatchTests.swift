import BrenderTesting
import Foundation
import Testing

@testable import BrenderKit

/// A worker whose Blender has a job's file loaded gets that job's next task before another job of
/// the same priority, never before a job of a higher one.
@Suite struct FarmWarmDispatchTests {
    let fixture: FarmFixture
    var farm: Farm { fixture.farm }

    init() throws {
        fixture = try FarmFixture()
    }

    private func submit(_ name: String, priority: Int = 50) async throws -> Int64 {
        let values: [String: JSONValue] = [
            "type": "command", "argv": ["true"], "name": .string(name), "frames": "1-4", "priority": .int(Int64(priority)),
        ]
        return try await farm.handle(APIRequest(item: "job", action: "create", values: values)).items[0]["id"]!.intValue!
    }

    @Test func theWarmJobGoesFirstAmongJobsOfItsPriority() async throws {
        let client = try await farm.register(.simulated("w")).clientID
        let older = try await submit("older")
        let warm = try await submit("warm")
        #expect(try await farm.requestTask(clientID: client, wait: 0)?.jobID == older, "without a warm job, the older job first")
        let next = try await farm.requestTask(await farm.sender(client), wait: 0, warmJob: warm)
        #expect(next?.jobID == warm)
    }

    @Test func aHigherPriorityJobStillGoesBeforeTheWarmOne() async throws {
        let client = try await farm.register(.simulated("w")).clientID
        let warm = try await submit("warm", priority: 50)
        let urgent = try await submit("urgent", priority: 90)
        #expect(try await farm.requestTask(await farm.sender(client), wait: 0, warmJob: warm)?.jobID == urgent)
    }

    @Test func aWarmJobThatCannotRunIsPassedOver() async throws {
        let client = try await farm.register(.simulated("w")).clientID
        let other = try await submit("other")
        let warm = try await submit("warm")
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(warm)], values: ["status": "paused"]))
        #expect(try await farm.requestTask(await farm.sender(client), wait: 0, warmJob: warm)?.jobID == other)
        #expect(try await farm.requestTask(await farm.sender(client), wait: 0, warmJob: 999)?.jobID == other, "an unknown job")
    }

    @Test func theWarmJobTravelsWithACompletionThatAsksForTheNextTask() async throws {
        let client = try await farm.register(.simulated("w")).clientID
        let older = try await submit("older")
        let warm = try await submit("warm")
        let first = try #require(try await farm.requestTask(clientID: client, wait: 0))
        #expect(first.jobID == older)
        var update = WorkerProtocol.TaskUpdate(
            sender: await farm.sender(client), taskID: first.taskID, jobID: first.jobID, lease: first.lease, state: .completed, framesDone: [1],
            log: "", logOffset: 0, nextWait: 0)
        update.warmJob = warm
        let reply = try await farm.updateTask(update)
        #expect(reply.next?.jobID == warm)
    }

    private func submitBlender(_ name: String, priority: Int = 50) async throws -> Int64 {
        let values: [String: JSONValue] = [
            "file": .string("/srv/\(name).blend"), "name": .string(name), "frames": "1-4", "priority": .int(Int64(priority)),
        ]
        return try await farm.handle(APIRequest(item: "job", action: "create", values: values)).items[0]["id"]!.intValue!
    }

    @Test func aWorkerStartingBlenderTakesABlenderJobOfThatPriorityNobodyRendersYet() async throws {
        let first = try await farm.register(.simulated("first")).clientID
        let second = try await farm.register(.simulated("second")).clientID
        let third = try await farm.register(.simulated("third")).clientID
        let older = try await submitBlender("older")
        let newer = try await submitBlender("newer")
        let lower = try await submitBlender("lower", priority: 10)
        #expect(try await farm.requestTask(clientID: first, wait: 0)?.jobID == older)
        #expect(try await farm.requestTask(clientID: second, wait: 0)?.jobID == newer, "spread to the job nobody renders")
        #expect(try await farm.requestTask(clientID: third, wait: 0)?.jobID == older, "both rendered: the older again, never the lower priority")
        _ = lower
    }
}
