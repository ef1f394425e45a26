import Foundation
import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    private func refusal(_ text: String) -> JSONParseError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesEveryKindOfValue() throws {
        #expect(
            try parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d"}} "#) == [
                "a": [1, -2, .double(3.5), .double(1000), true, false, nil], "b": ["c": "d"],
            ])
        #expect(try parse("9223372036854775807") == .int(Int64.max))
        #expect(try parse("92233720368547758080") == .double(92233720368547758080.0))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try parse(#""q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83c\udfac""#) == .string("q\" b\\ s/ \u{8}\u{c}\n\r\t é 🎬"))
        #expect(try parse(#""ünïcödé""#) == "ünïcödé")
    }

    @Test func refusesWhatIsNotStrictJSON() {
        for text in [
            "", "{", "[1,]", "{\"a\":1,}", "{a:1}", "'x'", "01", "1.", ".5", "-", "tru", "nul", "[1 2]", "\"\u{1}\"", #""\x""#,
            #""\ud800""#, "{} {}", "NaN", "1e",
        ] {
            #expect(refusal(text) != nil, "accepted \(text.debugDescription)")
        }
        #expect(refusal("[1,]")?.offset == 3)
    }

    @Test func refusesNestingDeeperThanTheLimitInsteadOfCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(refusal(deep)?.message == "nesting deeper than 256")
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(refusal(fine) == nil)
    }

    @Test func serializationRoundTrips() throws {
        let value: JSONValue = ["s": "line\nbreak \"quoted\" \u{7f} é", "n": [.double(0.25), -7, .null], "e": [:], "a": []]
        #expect(try JSONValue.parse(Data(value.serializedBytes())) == value)
        #expect(try JSONValue.parse(Data(value.prettyPrinted().utf8)) == value)
    }
}

@Suite struct WorkerProtocolTests {
    @Test func everyMessageRoundTripsThroughJSON() throws {
        var job = Job(
            id: 3, name: "shot", kind: .blender, status: .active, priority: 50, file: "/a.blend", frames: "1-9", chunkSize: 3,
            output: "/r/f_####", format: "PNG", scene: "Main", argv: [], tags: [], maxAttempts: 3, createdAt: 0)
        job.scene = "Main"
        var task = RenderTask(id: 7, jobID: 3, chunk: FrameChunk(start: 4, end: 6))
        task.lease = 2
        let assignment = WorkerProtocol.Assignment(job: job, task: task)
        #expect(try WorkerProtocol.Assignment(json: assignment.json) == assignment)
        let reply = WorkerProtocol.TaskUpdateReply(accepted: true, stop: false, logOffset: 12, next: assignment)
        #expect(try WorkerProtocol.TaskUpdateReply(json: reply.json) == reply)
        let refusal = WorkerProtocol.TaskUpdateReply(accepted: false, stop: true, reason: "task 7 was canceled")
        #expect(try WorkerProtocol.TaskUpdateReply(json: refusal.json) == refusal)
        let update = WorkerProtocol.TaskUpdate(
            sender: .init(clientID: 1, key: Self.key), taskID: 7, jobID: 3, lease: 2, state: .failed, framesDone: [4, 5], log: "x\n",
            logOffset: 10, error: "boom", nextWait: 5)
        #expect(try WorkerProtocol.TaskUpdate(json: update.json) == update)
        let registration = WorkerProtocol.Registration(
            name: "n", hostname: "h", platform: "p", tags: nil, version: "v", key: Self.key, pid: 42, nameGiven: false)
        #expect(try WorkerProtocol.Registration(json: registration.json) == registration)
    }

    static let key = "0123456789abcdef0123"

    /// A valid task update with `field` set to `value`.
    private func update(_ field: String, _ value: JSONValue) -> JSONValue {
        var object: [String: JSONValue] = [
            "client_id": 1, "key": .string(Self.key), "task_id": 1, "job_id": 1, "lease": 1, "state": "running", "log_offset": 0,
        ]
        object[field] = value
        return .object(object)
    }

    @Test func integersOutOfRangeAreRefusedNeverWrapped() {
        // 2^32 + 1 would wrap to lease 1 if truncated to 32 bits.
        #expect(throws: APIError(.invalidValue, "'lease' is 4294967297, out of range; it must be from 1 to 2147483647", field: "lease")) {
            try WorkerProtocol.TaskUpdate(json: update("lease", .int(4_294_967_297)))
        }
        for (field, value) in [("lease", JSONValue.int(0)), ("log_offset", -100), ("task_id", -1), ("client_id", 0), ("job_id", 0)] {
            #expect(throws: APIError.self, "\(field) = \(value)") { try WorkerProtocol.TaskUpdate(json: update(field, value)) }
        }
        #expect(throws: APIError.self) { try WorkerProtocol.TaskUpdate(json: update("frames_done", [-1])) }
        #expect(throws: APIError.self) { try WorkerProtocol.TaskUpdate(json: update("frames_done", [.int(Int64(FrameSpec.maxFrame) + 1)])) }
        #expect(throws: APIError.self) { try WorkerProtocol.TaskUpdate(json: update("next_wait", .double(1e9))) }
        #expect(throws: APIError.self) {
            try WorkerProtocol.TaskRequest(json: ["client_id": 1, "key": .string(Self.key), "wait": -5])
        }
        #expect(throws: APIError.self) { try WorkerProtocol.Assignment(json: ["lease": .int(Int64(Int32.max) + 1)]) }
    }

    @Test func oversizedTextAndListsAreRefusedWithTheFieldNamed() {
        func registration(_ field: String, _ value: JSONValue) -> JSONValue {
            var object: [String: JSONValue] = ["name": "n", "hostname": "h", "platform": "p", "version": "v", "key": .string(Self.key)]
            object[field] = value
            return .object(object)
        }
        func refusedField(_ json: JSONValue) -> String? {
            do {
                _ = try WorkerProtocol.Registration(json: json)
                return nil
            } catch {
                return error.field
            }
        }
        #expect(refusedField(registration("hostname", .string(String(repeating: "h", count: 500_000)))) == "hostname")
        #expect(refusedField(registration("tags", .array((0..<20_000).map { .string("t\($0)") }))) == "tags")
        #expect(refusedField(registration("tags", [.string(String(repeating: "t", count: 65))])) == "tags")
        #expect(refusedField(registration("platform", .string(String(repeating: "p", count: 65)))) == "platform")
        #expect(refusedField(registration("key", "short")) == "key")
        #expect(refusedField(registration("key", .string(Self.key + "!"))) == "key")
        #expect(refusedField(registration("pid", -3)) == "pid")
        #expect(refusedField(registration("hostname", .string(String(repeating: "h", count: 255)))) == nil)
        #expect(throws: APIError.self) { try WorkerProtocol.TaskUpdate(json: update("error", .string(String(repeating: "e", count: 5000)))) }
        #expect(throws: APIError.self) { try WorkerProtocol.TaskUpdate(json: update("frames_done", .array((0..<100_001).map { _ in 1 }))) }
    }

    @Test func badMessagesNameTheField() {
        #expect(throws: APIError(.missingField, "the request has no 'client_id'; it is required", field: "client_id")) {
            try WorkerProtocol.TaskRequest(json: ["wait": 1])
        }
        #expect(throws: APIError(.invalidValue, "'client_id' must be an integer, not string", field: "client_id")) {
            try WorkerProtocol.ClientReference(json: ["client_id": "one", "key": .string(Self.key)])
        }
        #expect(throws: APIError.self) {
            try WorkerProtocol.TaskUpdate(json: update("state", "exploded"))
        }
    }
}
