import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct EventHubTests {
    private func jobEvent(_ id: Int64) -> FarmEvent.Body { .jobDeleted(id) }

    /// Takes what a stream has ready, up to `count` deliveries.
    private func take(_ count: Int, from stream: AsyncStream<EventHub.Delivery>) async -> [EventHub.Delivery] {
        var taken: [EventHub.Delivery] = []
        for await delivery in stream {
            taken.append(delivery)
            if taken.count == count { break }
        }
        return taken
    }

    private func ids(_ deliveries: [EventHub.Delivery]) -> [Int64] {
        deliveries.compactMap { if case .event(let event) = $0 { event.id } else { nil } }
    }

    @Test func aReaderResumingFromItsLastIdGetsEveryLaterEventOnceInOrderThenLiveOnes() async {
        let hub = EventHub(capacity: 100, retention: .infinity, firstID: 1000)
        hub.publish((1...10).map(jobEvent))
        let resumed = hub.subscribe(after: 1004)
        hub.publish((11...12).map(jobEvent))
        #expect(ids(await take(7, from: resumed)) == Array(1005...1011))
    }

    @Test func aReaderWithoutALastIdGetsOnlyNewEvents() async {
        let hub = EventHub(capacity: 100, retention: .infinity, firstID: 1)
        hub.publish((1...3).map(jobEvent))
        let stream = hub.subscribe(after: nil)
        hub.publish(jobEvent(4))
        #expect(ids(await take(1, from: stream)) == [4])
    }

    @Test func anIdOlderThanWhatIsKeptOrFromAnotherLifeGetsAResetFirst() async {
        let hub = EventHub(capacity: 4, retention: .infinity, firstID: 1)
        hub.publish((1...10).map(jobEvent))  // keeps 7...10
        let old = await take(5, from: hub.subscribe(after: 2))
        guard case .reset(let oldest) = old.first else {
            Issue.record("no reset: \(old)")
            return
        }
        #expect(oldest == 7)
        #expect(ids(old) == [7, 8, 9, 10])
        let justInside = await take(3, from: hub.subscribe(after: 7))
        #expect(ids(justInside) == [8, 9, 10], "no reset when nothing was lost")
        // An id beyond any event of this life (a reader of a server before a restart, clock set back).
        let future = hub.subscribe(after: 500)
        hub.publish(jobEvent(11))
        let deliveries = await take(2, from: future)
        #expect(deliveries.count == 2)
        if case .reset = deliveries.first {} else { Issue.record("expected a reset first") }
        #expect(ids(deliveries) == [11])
    }

    @Test func aJobFilterKeepsThatJobsEventsAndNoClientEvents() async {
        let hub = EventHub(capacity: 100, retention: .infinity, firstID: 1)
        let stream = hub.subscribe(after: nil, filter: .init(jobs: [2]))
        hub.publish([.jobDeleted(1), .clientDeleted(2), .log(taskID: 9, jobID: 2, bytes: 10), .jobDeleted(2)])
        let got = await take(2, from: stream)
        #expect(got.map { if case .event(let event) = $0 { event.type } else { "reset" } } == ["log", "job_deleted"])
    }

    @Test func aReaderTooFarBehindIsEndedAndCanResumeWithoutAGap() async {
        let hub = EventHub(capacity: 8, retention: .infinity, firstID: 1)
        let slow = hub.subscribe(after: nil)
        hub.publish((1...40).map(jobEvent))  // more than it can hold: its stream ends
        var seen: [Int64] = []
        for await delivery in slow { if case .event(let event) = delivery { seen.append(event.id) } }
        #expect(!seen.isEmpty && seen.count < 40)
        #expect(hub.readerCount == 0)
        let resumed = await take(9, from: hub.subscribe(after: seen.last!))
        // What was lost past the kept window is said with a reset, never skipped silently.
        if case .reset = resumed.first {} else { Issue.record("expected a reset") }
        #expect(ids(resumed) == Array(33...40))
    }

    @Test func closingEndsEveryStreamAndRefusesNewOnes() async {
        let hub = EventHub(capacity: 8, retention: .infinity, firstID: 1)
        let stream = hub.subscribe(after: nil)
        hub.close()
        #expect(await take(1, from: stream).isEmpty)
        #expect(await take(1, from: hub.subscribe(after: nil)).isEmpty)
    }

    @Test func eventsCarryNoWorkerKey() {
        var client = Client(
            id: 3, name: "n", hostname: "h", platform: "p", tags: [], version: "v", registeredAt: 0, lastSeen: 0,
            keyDigest: Client.keyDigest("secret-key-123456"),
            pid: 1)
        client.running[0] = Client.RunningTask(jobID: 1, taskID: 7)
        let json = FarmEvent(id: 1, body: .client(ClientSummary(client))).json
        #expect(!json.serialized().contains("secret-key"))
        #expect(json["activity"] == "busy" && json["client"] == 3)
    }

    @Test func withNobodyReadingNothingIsKeptAndALateReaderGetsAReset() async {
        let hub = EventHub(capacity: 100, retention: 0, firstID: 1)
        var built = 0
        hub.publish {
            built += 1
            return [.jobDeleted(1)]
        }
        #expect(built == 0, "no reader: the events are not even made")
        let late = hub.subscribe(after: 0)
        hub.publish(.jobDeleted(2))
        let got = await take(2, from: late)
        if case .reset = got.first {} else { Issue.record("expected a reset, got \(got)") }
        #expect(ids(got) == [2], "ids go on increasing past what was not kept")
    }

    @Test func eventsAreKeptForAReaderThatReconnectsWithinTheRetention() async {
        let hub = EventHub(capacity: 100, retention: 300, firstID: 1)
        let first = hub.subscribe(after: nil)
        hub.publish(.jobDeleted(1))
        #expect(ids(await take(1, from: first)) == [1])
        // The reader goes (its stream ends); events go on while it is away.
        let finished = Task { for await _ in first {} }
        finished.cancel()
        hub.publish(.jobDeleted(2))
        hub.publish(.jobDeleted(3))
        #expect(ids(await take(2, from: hub.subscribe(after: 1))) == [2, 3])
    }
}
