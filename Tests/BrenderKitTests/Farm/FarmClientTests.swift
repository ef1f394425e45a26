import BrenderTesting
import Foundation
import Logging
import Synchronization
import Testing

@testable import BrenderKit
@testable import FarmCore

/// A logger that drops everything, so test output shows only test results.
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// A farm on a fresh temporary database with a hand-moved clock, for farm-level tests.
struct FarmFixture {
    let file: TemporaryDatabase
    let clock = ManualClock()
    let farm: Farm

    init() throws {
        file = try TemporaryDatabase()
        farm = try Self.open(file, clock)
    }

    /// A second farm on the same database, as after a restart.
    func reopen() throws -> Farm {
        try Self.open(file, clock)
    }

    private static func open(_ file: TemporaryDatabase, _ clock: ManualClock) throws -> Farm {
        try Farm(databasePath: file.path, options: .init(workerTimeout: 10), logger: quietLogger, now: { clock.now })
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let time = Mutex<Double>(1_800_000_000)
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

private func registration(_ name: String, tags: [String]? = nil) -> WorkerProtocol.Registration {
    .init(
        name: name, hostname: "\(name).local", platform: "linux-x86_64", tags: tags, version: "test",
        key: WorkerProtocol.Sender.simulatedKey(name))
}

@Suite struct FarmClientTests {
    let fixture: FarmFixture
    var farm: Farm { fixture.farm }
    var clock: ManualClock { fixture.clock }

    init() throws {
        fixture = try FarmFixture()
    }

    private func reopen() throws -> Farm {
        try fixture.reopen()
    }

    private func read(_ farm: Farm, _ filters: [String: JSONValue] = [:]) async throws -> [JSONValue] {
        try await farm.handle(APIRequest(item: "client", action: "read", filters: filters)).items
    }

    @Test func registrationCreatesAnOnlineIdleEnabledClient() async throws {
        let registered = try await farm.register(registration("n1", tags: ["gpu"]))
        #expect(registered.clientID == 1)
        let items = try await read(farm)
        #expect(items.count == 1)
        #expect(items[0]["name"] == "n1")
        #expect(items[0]["status"] == "enabled")
        #expect(items[0]["connection"] == "online")
        #expect(items[0]["activity"] == "idle")
        #expect(items[0]["tags"] == ["gpu"])
    }

    @Test func knownNameReattachesToItsRecordAndKeepsAdminChanges() async throws {
        let first = try await farm.register(registration("n1", tags: ["gpu"]))
        _ = try await farm.handle(APIRequest(item: "client", action: "update", filters: ["id": .int(first.clientID)], values: ["status": "disabled"]))
        try await farm.signOff(clientID: first.clientID)
        let again = try await farm.register(registration("n1"))
        #expect(again.clientID == first.clientID)
        let items = try await read(farm)
        #expect(items.count == 1)
        #expect(items[0]["status"] == "disabled")
        #expect(items[0]["tags"] == ["gpu"])
        #expect(items[0]["connection"] == "online")
    }

    @Test func silentWorkerGoesOfflineAfterTheTimeoutAndBackOnlineWithAHeartbeat() async throws {
        let id = try await farm.register(registration("n1")).clientID
        clock.advance(9)
        #expect(await farm.sweepTimedOutWorkers().isEmpty)
        clock.advance(2)
        #expect(await farm.sweepTimedOutWorkers() == [id])
        #expect(try await read(farm)[0]["connection"] == "offline")
        _ = try await farm.heartbeat(clientID: id)
        #expect(try await read(farm)[0]["connection"] == "online")
    }

    @Test func aClientThatComesBackOrRegistersAgainIsPublishedOnceEachTime() async throws {
        let id = try await farm.register(registration("n1")).clientID
        clock.advance(11)
        #expect(await farm.sweepTimedOutWorkers() == [id])
        let stream = farm.events.subscribe(after: nil)
        _ = try await farm.heartbeat(clientID: id)  // back online
        _ = try await farm.register(registration("n1"))  // restarted
        // A job's event closes what is looked at.
        _ = try await farm.handle(APIRequest(item: "job", action: "create", values: ["file": "/scenes/a.blend", "frames": "1"]))
        var connections: [String] = []
        for await delivery in stream {
            guard case .event(let event) = delivery else { continue }
            if case .client(let client) = event.body { connections.append(client.connection.rawValue) }
            if case .job = event.body { break }
        }
        #expect(connections == ["online", "online"])
    }

    @Test func heartbeatKeepsAWorkerOnline() async throws {
        let id = try await farm.register(registration("n1")).clientID
        for _ in 0..<5 {
            clock.advance(6)
            _ = try await farm.heartbeat(clientID: id)
            #expect(await farm.sweepTimedOutWorkers().isEmpty)
        }
    }

    @Test func heartbeatFromAnUnknownClientIsNotFound() async throws {
        await #expect(throws: APIError.self) { try await farm.heartbeat(clientID: 42) }
    }

    @Test func everyChangeIsInTheDatabaseWhenTheCallReturns() async throws {
        let id = try await farm.register(registration("n1")).clientID
        _ = try await farm.register(registration("n2"))
        _ = try await farm.handle(
            APIRequest(item: "client", action: "update", filters: ["id": .int(id)], values: ["name": "renamed", "tags": ["a", "b"]]))
        _ = try await farm.handle(APIRequest(item: "client", action: "delete", filters: ["name": "n2"], force: true))
        // A second farm on the same file sees exactly what the first acknowledged.
        let reopened = try reopen()
        let items = try await read(reopened)
        #expect(items.count == 1)
        #expect(items[0]["name"] == "renamed")
        #expect(items[0]["tags"] == ["a", "b"])
    }

    @Test func updateWithoutFiltersNeedsAll() async throws {
        _ = try await farm.register(registration("n1"))
        await #expect(throws: APIError.self) {
            try await farm.handle(APIRequest(item: "client", action: "update", values: ["status": "disabled"]))
        }
        let all = try await farm.handle(APIRequest(item: "client", action: "update", values: ["status": "disabled"], all: true))
        #expect(all.count == 1)
    }

    @Test func updateCountsOnlyClientsThatChanged() async throws {
        _ = try await farm.register(registration("n1"))
        _ = try await farm.register(registration("n2"))
        _ = try await farm.handle(APIRequest(item: "client", action: "update", filters: ["name": "n1"], values: ["status": "disabled"]))
        let response = try await farm.handle(APIRequest(item: "client", action: "update", values: ["status": "disabled"], all: true))
        #expect(response.count == 1)
        #expect(response.total == 2)
    }

    @Test func renameToATakenNameIsAConflictAndChangesNothing() async throws {
        _ = try await farm.register(registration("n1"))
        _ = try await farm.register(registration("n2"))
        do {
            _ = try await farm.handle(
                APIRequest(item: "client", action: "update", filters: ["name": "n2"], values: ["name": "n1", "status": "disabled"]))
            Issue.record("expected a conflict")
        } catch {
            #expect(error.code == .conflict)
            #expect(error.field == "values.name")
        }
        #expect(try await read(farm, ["name": "n2"])[0]["status"] == "enabled")
    }

    @Test func deletingAnOnlineClientNeedsForce() async throws {
        _ = try await farm.register(registration("n1"))
        do {
            _ = try await farm.handle(APIRequest(item: "client", action: "delete", filters: ["name": "n1"]))
            Issue.record("expected a conflict")
        } catch {
            #expect(error.httpStatus == 409)
            #expect(error.message.contains("is online"))
        }
        #expect(try await read(farm).count == 1)
        #expect(try await farm.handle(APIRequest(item: "client", action: "delete", filters: ["name": "n1"], force: true)).count == 1)
        #expect(try await read(farm).isEmpty)
    }

    @Test func deletedIdsAreNeverReused() async throws {
        let id = try await farm.register(registration("n1")).clientID
        _ = try await farm.handle(APIRequest(item: "client", action: "delete", filters: ["id": .int(id)], force: true))
        #expect(try await farm.register(registration("n2")).clientID == id + 1)
    }

    @Test func readFiltersAndPages() async throws {
        for index in 1...5 { _ = try await farm.register(registration("n\(index)", tags: index.isMultiple(of: 2) ? ["even"] : [])) }
        #expect(try await read(farm, ["tags": "even"]).map { $0["name"] } == ["n2", "n4"])
        #expect(try await read(farm, ["id": [5, 1, 99]]).map { $0["name"] } == ["n1", "n5"])
        let page = try await farm.handle(APIRequest(item: "client", action: "read", limit: 2, offset: 1))
        #expect(page.items.map { $0["name"] } == ["n2", "n3"])
        #expect(page.total == 5)
    }

    @Test func unknownItemAndActionAreRefusedWithTheAllowedList() async throws {
        do {
            _ = try await farm.handle(APIRequest(item: "widget", action: "read"))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownItem)
            #expect(error.message.contains("items: client"))
        }
        do {
            _ = try await farm.handle(APIRequest(item: "client", action: "create"))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unknownAction)
            #expect(error.message.contains("allowed: read, update, delete"))
        }
    }

    @Test func invalidRegistrationIsRefused() async throws {
        await #expect(throws: APIError.self) { try await farm.register(registration("bad name")) }
        await #expect(throws: APIError.self) { try await farm.register(registration("ok", tags: ["bad tag"])) }
    }
}

/// Worker keys at rest: the database holds their digests only.
@Suite struct WorkerKeyStorageTests {
    @Test func theDatabaseHoldsADigestOfEachKeyNeverTheKey() async throws {
        let fixture = try FarmFixture()
        let key = "a-worker-key-0123456789abcdef"
        let id = try await fixture.farm.register(.simulated("keeper", key: key)).clientID
        let stored = try await fixture.farm.storedWorkerKeys()
        #expect(stored == [Client.keyDigest(key)] && !stored[0].contains(key))
        _ = try await fixture.farm.heartbeat(.init(clientID: id, key: key))
        await #expect(throws: APIError.self) { try await fixture.farm.heartbeat(.init(clientID: id, key: key + "x")) }
        // After a restart, with nothing in memory, the key is checked against its digest.
        let reopened = try fixture.reopen()
        _ = try await reopened.heartbeat(.init(clientID: id, key: key))
        await #expect(throws: APIError.self) { try await reopened.heartbeat(.init(clientID: id, key: "someone-elses-key-0000")) }
    }

    @Test func aKeyStoredBeforeDigestsIsReplacedByItsDigestAndStillAccepted() async throws {
        let fixture = try FarmFixture()
        let key = "an-old-plain-key-0123456789"
        let id = try await fixture.farm.register(.simulated("veteran", key: key)).clientID
        try await fixture.farm.storeWorkerKeyAsPlainText(key)
        let reopened = try fixture.reopen()
        let stored = try await reopened.storedWorkerKeys()
        #expect(stored == [Client.keyDigest(key)])
        _ = try await reopened.heartbeat(.init(clientID: id, key: key))
    }
}

/// The database check the server runs at start and daily.
@Suite struct DatabaseHealthTests {
    @Test func aHealthyDatabasePassesAndABrokenForeignKeyIsFound() async throws {
        let fixture = try FarmFixture()
        #expect(await fixture.farm.checkDatabaseHealth())
        try await fixture.farm.storeTaskOfAMissingJob()
        #expect(await !fixture.farm.checkDatabaseHealth())
    }
}
