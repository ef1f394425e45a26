import BrenderTesting
import Foundation
import Testing

@testable import BrenderKit
@testable import FarmCore

/// A client with several slots runs one task in each at once: each slot asks for work on its
/// own, a slot's request hands back only that slot's lost task, and the client shows once, with
/// its slots busy and all.
@Suite struct FarmSlotsTests {
    let fixture: FarmFixture
    var farm: Farm { fixture.farm }

    init() throws {
        fixture = try FarmFixture()
    }

    private func register(_ name: String, slots: Int) async throws -> Int64 {
        var registration = WorkerProtocol.Registration.simulated(name)
        registration.slots = slots
        return try await farm.register(registration).clientID
    }

    private func submit(frames: String = "1-4") async throws -> Int64 {
        let values: [String: JSONValue] = ["type": "command", "argv": ["true"], "frames": .string(frames)]
        return try await farm.handle(APIRequest(item: "job", action: "create", values: values)).items[0]["id"]!.intValue!
    }

    private func take(_ client: Int64, slot: Int, wait: Double = 0) async throws -> WorkerProtocol.Assignment? {
        try await farm.requestTask(await farm.sender(client), wait: wait, slot: slot)
    }

    private func clientItem(_ id: Int64) async throws -> JSONValue {
        try await farm.handle(APIRequest(item: "client", action: "read", filters: ["id": .int(id)])).items[0]
    }

    @Test func eachSlotRunsATaskAtOnceAndTheClientShowsThemAll() async throws {
        let client = try await register("gpu-node", slots: 2)
        _ = try await submit()
        let first = try #require(try await take(client, slot: 0))
        let second = try #require(try await take(client, slot: 1))
        #expect(first.taskID != second.taskID)
        let item = try await clientItem(client)
        #expect(item["slots"] == 2 && item["slots_busy"] == 2 && item["activity"] == "busy")
        #expect(item["tasks"] == .array([.int(first.taskID), .int(second.taskID)]))
        #expect(item["task"] == .int(first.taskID))
        #expect(await farm.repairInvariants().isEmpty)
        let overview = try await farm.handle(APIRequest(item: "farm", action: "read")).items[0]
        #expect(overview["slots_online"] == 2 && overview["slots_busy"] == 2 && overview["clients_busy"] == 1)
    }

    @Test func aSlotThatIsNotTheClientsIsRefusedNamingTheField() async throws {
        let client = try await register("two", slots: 2)
        _ = try await submit()
        await #expect {
            try await take(client, slot: 2)
        } throws: { error in
            (error as? APIError)?.field == "slot" && "\(error)".contains("has 2 slots")
        }
        let item = try await clientItem(client)
        #expect(item["slots_busy"] == 0, "nothing was handed out")
    }

    @Test func aSlotAskingAgainHandsBackOnlyItsOwnLostTask() async throws {
        let client = try await register("two", slots: 2)
        let job = try await submit()
        let first = try #require(try await take(client, slot: 0))
        let second = try #require(try await take(client, slot: 1))
        // Slot 0's answer was lost: it asks again. Its task goes back; slot 1's keeps running.
        let third = try #require(try await take(client, slot: 0))
        let tasks = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(job)])).items
        let status = Dictionary(uniqueKeysWithValues: tasks.map { ($0["id"]!.intValue!, $0["status"]!.stringValue!) })
        #expect(status[second.taskID] == "active")
        #expect(third.taskID != second.taskID)
        #expect(status[first.taskID] == (third.taskID == first.taskID ? "active" : "queued"))
        #expect(try await clientItem(client)["slots_busy"] == 2)
        #expect(await farm.repairInvariants().isEmpty)
    }

    @Test func aCompletionBringsTheNextTaskForTheSameSlot() async throws {
        let client = try await register("two", slots: 2)
        _ = try await submit(frames: "1-3")
        let first = try #require(try await take(client, slot: 0))
        let second = try #require(try await take(client, slot: 1))
        let reply = try await farm.updateTask(clientID: client, second, .completed, frames: [second.chunk.start], nextWait: 0)
        let next = try #require(reply.next)
        #expect(![first.taskID, second.taskID].contains(next.taskID))
        // The next task runs in slot 1, so slot 1 asking again hands it back; slot 0 keeps its own.
        _ = try await take(client, slot: 1)
        let tasks = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["id": .array([.int(first.taskID)])])).items
        #expect(tasks[0]["status"] == "active")
        #expect(await farm.repairInvariants().isEmpty)
    }

    @Test func waitingSlotsAreEachGivenATaskWhenWorkArrives() async throws {
        let client = try await register("two", slots: 2)
        let farm = self.farm
        let sender = await farm.sender(client)
        let zero = Task { try await farm.requestTask(sender, wait: 20, slot: 0) }
        let one = Task { try await farm.requestTask(sender, wait: 20, slot: 1) }
        #expect(await eventually { await farm.gauges().waitingWorkers == 2 })
        _ = try await submit()
        let tasks = [try await zero.value, try await one.value]
        #expect(tasks.compactMap { $0?.taskID }.count == 2)
        #expect(Set(tasks.compactMap { $0?.taskID }).count == 2)
    }

    @Test func signingOffOrGoingSilentHandsBackEverySlotsTask() async throws {
        let client = try await register("two", slots: 2)
        let job = try await submit()
        _ = try await take(client, slot: 0)
        _ = try await take(client, slot: 1)
        try await farm.signOff(clientID: client)
        var tasks = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(job)])).items
        #expect(tasks.allSatisfy { $0["status"] == "queued" })
        #expect(try await clientItem(client)["slots_busy"] == 0)

        _ = try await take(client, slot: 0)
        _ = try await take(client, slot: 1)
        fixture.clock.advance(11)
        #expect(await farm.sweepTimedOutWorkers() == [client])
        tasks = try await farm.handle(APIRequest(item: "task", action: "read", filters: ["job": .int(job)])).items
        #expect(tasks.allSatisfy { $0["status"] == "queued" })
    }

    @Test func aRestartedServerKnowsWhichSlotRunsWhichTask() async throws {
        let client = try await register("two", slots: 2)
        _ = try await submit()
        let first = try #require(try await take(client, slot: 0))
        let second = try #require(try await take(client, slot: 1))
        let reopened = try fixture.reopen()
        let item = try await reopened.handle(APIRequest(item: "client", action: "read", filters: ["id": .int(client)])).items[0]
        #expect(item["slots"] == 2)
        #expect(item["tasks"] == .array([.int(first.taskID), .int(second.taskID)]))
        #expect(await reopened.repairInvariants().isEmpty)
        // Slot 1 asking hands back its task only.
        _ = try await reopened.requestTask(await reopened.sender(client), wait: 0, slot: 1)
        let tasks = try await reopened.handle(APIRequest(item: "task", action: "read", filters: ["id": .array([.int(first.taskID)])])).items
        #expect(tasks[0]["status"] == "active")
    }

    @Test func aWorkerThatComesBackWithFewerSlotsStartsWithNothingRunning() async throws {
        let client = try await register("shrinks", slots: 3)
        _ = try await submit()
        _ = try await take(client, slot: 2)
        _ = try await register("shrinks", slots: 1)
        let item = try await clientItem(client)
        #expect(item["slots"] == 1 && item["slots_busy"] == 0)
        await #expect(throws: APIError.self) { try await take(client, slot: 2) }
        #expect(try await take(client, slot: 0) != nil)
    }
}
