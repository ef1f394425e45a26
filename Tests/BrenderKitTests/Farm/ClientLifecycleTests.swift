import Testing

@testable import FarmCore

@Suite struct ClientLifecycleTests {
    let time = 2_000.0

    func client(_ connection: Client.Connection = .online, status: Client.Status = .enabled) -> Client {
        var client = Client(
            id: 4, name: "node", hostname: "old-host", platform: "linux-x86_64", tags: ["gpu"], status: status, connection: connection,
            version: "0.1.0", registeredAt: 100, lastSeen: 500, keyDigest: "sha256:old", pid: 10)
        client.running = [0: Client.RunningTask(jobID: 1, taskID: 7)]
        return client
    }

    let worker = WorkerDescription(
        hostname: "new-host", platform: "linux-x86_64", version: "0.2.0", tags: nil, keyDigest: "sha256:new", pid: 20, timeZone: "Europe/Amsterdam",
        capabilities: ["ffmpeg"], slots: 2)

    @Test func attachingTakesTheWorkersDescriptionComesOnlineAndHandsBackWhatTheRecordRan() {
        let next = ClientLifecycle.apply(.attach(worker), to: client(.offline), at: time)
        #expect(next.client.connection == .online && next.client.lastSeen == time)
        #expect(next.client.hostname == "new-host" && next.client.keyDigest == "sha256:new" && next.client.pid == 20 && next.client.slots == 2)
        #expect(next.client.tags == ["gpu"], "a worker started without tags keeps the record's")
        #expect(next.connectionChanged && next.needsWrite)
        #expect(ClientEvent.attach(worker).handsBackTasks == .taken)
        var tagged = worker
        tagged.tags = ["big"]
        #expect(ClientLifecycle.apply(.attach(tagged), to: client(), at: time).client.tags == ["big"])
        #expect(ClientLifecycle.apply(.attach(worker), to: client(), at: time).needsWrite, "an attach is written even when online")
    }

    @Test func hearingFromAnOnlineClientOnlyMovesLastSeenAndWritesNothing() {
        let next = ClientLifecycle.apply(.heard, to: client(), at: time)
        #expect(next.client.lastSeen == time && next.client.connection == .online)
        #expect(!next.connectionChanged && !next.needsWrite)
        #expect(ClientEvent.heard.handsBackTasks == nil)
    }

    @Test func hearingFromAnOfflineClientBringsItBackOnline() {
        let next = ClientLifecycle.apply(.heard, to: client(.offline), at: time)
        #expect(next.client.connection == .online && next.connectionChanged && next.needsWrite)
    }

    @Test func signingOffAndGoingSilentTakeItOfflineAndHandBackItsTasks() {
        for event in [ClientEvent.signOff, .silent] {
            let next = ClientLifecycle.apply(event, to: client(), at: time)
            #expect(next.client.connection == .offline && next.connectionChanged && next.needsWrite, "\(event)")
            #expect(next.client.lastSeen == 500, "\(event) is not hearing from the worker")
        }
        #expect(ClientEvent.signOff.handsBackTasks == .taken)
        #expect(ClientEvent.silent.handsBackTasks == .resumable, "a silent worker may still be rendering")
        let again = ClientLifecycle.apply(.silent, to: client(.offline), at: time)
        #expect(!again.connectionChanged && !again.needsWrite)
    }

    @Test func disablingStopsItsTasksOnlyWithNow() {
        let later = ClientLifecycle.apply(.disable(now: false), to: client(), at: time)
        #expect(later.client.status == .disabled && later.needsWrite && !later.connectionChanged)
        #expect(ClientEvent.disable(now: false).handsBackTasks == nil, "its running task finishes first")
        #expect(ClientEvent.disable(now: true).handsBackTasks == .taken)
        let enabled = ClientLifecycle.apply(.enable, to: client(status: .disabled), at: time)
        #expect(enabled.client.status == .enabled && enabled.needsWrite)
        #expect(!ClientLifecycle.apply(.enable, to: client(), at: time).needsWrite)
    }

    @Test func noEventChangesWhatTheClientRuns() {
        for event in [ClientEvent.attach(worker), .heard, .signOff, .silent, .enable, .disable(now: true)] {
            #expect(ClientLifecycle.apply(event, to: client(), at: time).client.running == client().running, "\(event): the farm hands tasks back")
        }
    }
}
