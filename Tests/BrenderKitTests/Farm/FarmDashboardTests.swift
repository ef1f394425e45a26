import BrenderTesting
import Foundation
import Testing

@testable import BrenderKit
@testable import FarmCore

/// What the dashboard reads from the farm: sorted and searched pages, the overview, a job's time
/// left, and the contact sheet with the previews workers send.
@Suite struct FarmDashboardTests {
    let fixture: FarmFixture
    var farm: Farm { fixture.farm }
    var clock: ManualClock { fixture.clock }

    init() throws {
        fixture = try FarmFixture()
    }

    private func worker(_ name: String) async throws -> Int64 {
        try await farm.register(.simulated(name)).clientID
    }

    @discardableResult
    private func submit(_ name: String, frames: String = "1-4", chunk: Int = 1, priority: Int = 50, tags: [String] = []) async throws -> Int64 {
        let values: [String: JSONValue] = [
            "type": "command", "argv": ["true"], "name": .string(name), "frames": .string(frames), "chunk": .int(Int64(chunk)),
            "priority": .int(Int64(priority)), "tags": .array(tags.map(JSONValue.string)),
        ]
        return try await farm.handle(APIRequest(item: "job", action: "create", values: values)).items[0]["id"]!.intValue!
    }

    private func read(_ request: APIRequest) async throws -> [String] {
        try await farm.handle(request).items.compactMap { $0["name"]?.stringValue }
    }

    private func complete(_ assignment: WorkerProtocol.Assignment, client: Int64) async throws {
        _ = try await farm.updateTask(clientID: client, assignment, .completed, frames: Array(assignment.chunk.frames))
    }

    // MARK: sorted and searched reads

    @Test func readsSortByAnyFieldEitherWayWithTiesInIDOrder() async throws {
        try await submit("b-shot", priority: 20)
        try await submit("A-shot", priority: 80)
        try await submit("c-shot", priority: 20)
        #expect(try await read(APIRequest(item: "job", action: "read", sort: "name")) == ["A-shot", "b-shot", "c-shot"])
        #expect(try await read(APIRequest(item: "job", action: "read", sort: "-name")) == ["c-shot", "b-shot", "A-shot"])
        #expect(try await read(APIRequest(item: "job", action: "read", sort: "priority")) == ["b-shot", "c-shot", "A-shot"])
        #expect(try await read(APIRequest(item: "job", action: "read", sort: "-priority")) == ["A-shot", "b-shot", "c-shot"])
        #expect(try await read(APIRequest(item: "job", action: "read", limit: 1, offset: 1, sort: "-id")) == ["A-shot"])
    }

    @Test func emptyValuesSortLastInBothDirections() async throws {
        let client = try await worker("w")
        try await submit("waiting-1")
        try await submit("waiting-2")
        let assignment = try #require(try await farm.requestTask(clientID: client, wait: 0))
        try await complete(assignment, client: client)
        for sort in ["started_at", "-started_at"] {
            #expect(try await read(APIRequest(item: "job", action: "read", sort: sort)).first == "waiting-1", "\(sort)")
        }
    }

    @Test func searchFindsTextInNamesAndTagsWhateverItsCaseAndCountsOnlyWhatItFinds() async throws {
        try await submit("Shot 010 lighting")
        try await submit("shot 020", tags: ["FX"])
        try await submit("layout")
        let found = try await farm.handle(APIRequest(item: "job", action: "read", limit: 1, search: "SHOT"))
        #expect(found.total == 2)
        #expect(found.items.map { $0["name"] } == ["Shot 010 lighting"])
        #expect(try await read(APIRequest(item: "job", action: "read", search: "fx")) == ["shot 020"])
        #expect(try await read(APIRequest(item: "job", action: "read", filters: ["status": "queued"], search: "nothing")).isEmpty)
    }

    @Test func aSortByAnUnknownFieldOrASearchOfAnUnsearchableItemIsRefusedNamingTheMember() async throws {
        await #expect(throws: APIError.self) { try await farm.handle(APIRequest(item: "job", action: "read", sort: "-colour")) }
        do {
            _ = try await farm.handle(APIRequest(item: "job", action: "read", sort: "colour"))
        } catch {
            #expect(error.field == "sort")
            #expect(error.message.contains("priority"))
        }
        do {
            _ = try await farm.handle(APIRequest(item: "farm", action: "read", search: "x"))
            Issue.record("a farm read with a search was accepted")
        } catch {
            #expect(error.field == "search")
        }
    }

    @Test func sortAndSearchAreForReadsOnly() throws {
        let body = #"{"item": "job", "action": "update", "filters": {"id": 1}, "values": {"priority": 1}, "search": "shot"}"#
        #expect(throws: APIError.self) { try APIRequest(body: Data(body.utf8)) }
    }

    // MARK: the overview and time left

    @Test func theOverviewCountsClientsJobsAndTheFramesOfTheLastHour() async throws {
        let busy = try await worker("busy")
        _ = try await worker("idle")
        let disabled = try await worker("off")
        _ = try await farm.handle(APIRequest(item: "client", action: "update", filters: ["id": .int(disabled)], values: ["status": "disabled"]))
        try await submit("running", frames: "1-6", chunk: 2)
        let paused = try await submit("paused")
        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(paused)], values: ["status": "paused"]))
        let first = try #require(try await farm.requestTask(clientID: busy, wait: 0))
        try await complete(first, client: busy)
        _ = try #require(try await farm.requestTask(clientID: busy, wait: 0))

        let overview = try await farm.handle(APIRequest(item: "farm", action: "read")).items[0]
        #expect(overview["clients_total"] == 3)
        #expect(overview["clients_busy"] == 1)
        #expect(overview["clients_idle"] == 2)
        #expect(overview["clients_disabled"] == 1)
        #expect(overview["jobs_active"] == 1)
        #expect(overview["jobs_paused"] == 1)
        #expect(overview["tasks_active"] == 1)
        #expect(overview["frames_last_hour"] == 2)
        #expect(overview["frames_per_minute"] == .double(2))

        clock.advance(3601)
        let later = try await farm.handle(APIRequest(item: "farm", action: "read")).items[0]
        #expect(later["frames_last_hour"] == 0)
        #expect(later["frames_per_minute"] == .double(0))
    }

    @Test func theFramesOfTheLastHourSurviveARestart() async throws {
        let client = try await worker("w")
        try await submit("job", frames: "1-3", chunk: 3)
        try await complete(try #require(try await farm.requestTask(clientID: client, wait: 0)), client: client)
        let reopened = try fixture.reopen()
        #expect(try await reopened.handle(APIRequest(item: "farm", action: "read")).items[0]["frames_last_hour"] == 3)
    }

    @Test func timeLeftIsTheFramesLeftAtThePaceSoFarOverTheTasksRunning() async throws {
        let one = try await worker("one")
        let two = try await worker("two")
        let id = try await submit("paced", frames: "1-10", chunk: 2)
        func timeLeft() async throws -> JSONValue? {
            try await farm.handle(APIRequest(item: "job", action: "read", filters: ["id": .int(id)])).items[0]["time_left"]
        }
        let first = try #require(try await farm.requestTask(clientID: one, wait: 0))
        #expect(try await timeLeft() == .null, "no pace yet")
        clock.advance(20)  // 10 s a frame
        try await complete(first, client: one)
        #expect(try await timeLeft() == .null, "nothing runs")
        _ = try #require(try await farm.requestTask(clientID: one, wait: 0))
        _ = try #require(try await farm.requestTask(clientID: two, wait: 0))
        // 8 frames left at 10 s each, two at a time.
        #expect(try await timeLeft() == 40)
    }

    // MARK: the contact sheet and previews

    private static let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0, count: 60))

    @Test func aPreviewFromTheClientThatRenderedTheFrameIsStoredListedAndAnnounced() async throws {
        let client = try await worker("w")
        let id = try await submit("sheet", frames: "1-4", chunk: 2)
        let assignment = try #require(try await farm.requestTask(clientID: client, wait: 0))
        _ = try await farm.updateTask(clientID: client, assignment, .running, frames: [1])
        let events = farm.events.subscribe(after: nil, filter: .init(jobs: [id]))

        try await farm.storePreview(.init(sender: farm.sender(client), taskID: assignment.taskID, frame: 1, image: Self.jpeg))
        let sheet = try #require(await farm.contactSheet(jobID: id))
        #expect(sheet["frames"] == [1, 2, 3, 4])
        #expect(sheet["rendered"] == [1])
        #expect(sheet["previews"]?["1"] != nil)
        #expect(sheet["previews"]?["2"] == nil)
        let stored = try #require(await farm.preview(jobID: id, frame: 1))
        #expect(stored.data == Self.jpeg)
        #expect(stored.kind == .jpeg)
        var announced = false
        for await delivery in events {
            if case .event(let event) = delivery, case .preview(let job, let frame) = event.body {
                #expect(job == id && frame == 1)
                announced = true
                break
            }
        }
        #expect(announced)

        _ = try await farm.handle(APIRequest(item: "job", action: "update", filters: ["id": .int(id)], values: ["status": "canceled"]))
        _ = try await farm.handle(APIRequest(item: "job", action: "delete", filters: ["id": .int(id)]))
        let folder = await farm.previews.directory.appendingPathComponent(String(id)).path
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    @Test func aPreviewIsRefusedFromAnotherClientForAnotherFrameOrWhenItIsNoImage() async throws {
        let client = try await worker("w")
        let other = try await worker("other")
        try await submit("sheet", frames: "1-4", chunk: 2)
        let assignment = try #require(try await farm.requestTask(clientID: client, wait: 0))
        func refusal(_ sender: Int64, frame: Int, image: Data) async -> APIError? {
            do {
                try await farm.storePreview(.init(sender: farm.sender(sender), taskID: assignment.taskID, frame: frame, image: image))
                return nil
            } catch {
                return error
            }
        }
        #expect(await refusal(other, frame: 1, image: Self.jpeg)?.code == .forbidden)
        #expect(await refusal(client, frame: 3, image: Self.jpeg)?.field == "frame")
        #expect(await refusal(client, frame: 1, image: Data("<svg/>".utf8))?.field == "image")
        #expect(await farm.contactSheet(jobID: assignment.jobID)?["previews"] == [:])
    }

    @Test func aTaskEventCountsAttemptsAsTheAPIDoes() async throws {
        let client = try await worker("w")
        let id = try await submit("counted")
        let events = farm.events.subscribe(after: nil, filter: .init(jobs: [id]))
        let assignment = try #require(try await farm.requestTask(clientID: client, wait: 0))
        for await delivery in events {
            guard case .event(let event) = delivery, case .task = event.body else { continue }
            #expect(event.json["attempts"] == 1)
            #expect(event.json["failures"] == 0)
            #expect(event.json["task"] == .int(assignment.taskID))
            break
        }
    }
}
