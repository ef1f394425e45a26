import Foundation
import Testing

@testable import BrenderKit

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
        let reply = WorkerProtocol.TaskUpdateReply(accepted: true, stop: false, next: assignment)
        #expect(try WorkerProtocol.TaskUpdateReply(json: reply.json) == reply)
        let update = WorkerProtocol.TaskUpdate(
            clientID: 1, taskID: 7, jobID: 3, lease: 2, state: .failed, framesDone: [4, 5], log: "x\n", logOffset: 10, error: "boom", nextWait: 5)
        #expect(try WorkerProtocol.TaskUpdate(json: update.json) == update)
        let registration = WorkerProtocol.Registration(name: "n", hostname: "h", platform: "p", tags: nil, version: "v")
        #expect(try WorkerProtocol.Registration(json: registration.json) == registration)
    }

    @Test func badMessagesNameTheField() {
        #expect(throws: APIError(.missingField, "the request has no 'client_id'; it is required", field: "client_id")) {
            try WorkerProtocol.TaskRequest(json: ["wait": 1])
        }
        #expect(throws: APIError(.invalidValue, "'client_id' must be an integer, not string", field: "client_id")) {
            try WorkerProtocol.ClientReference(json: ["client_id": "one"])
        }
        #expect(throws: APIError.self) {
            try WorkerProtocol.TaskUpdate(json: ["client_id": 1, "task_id": 1, "job_id": 1, "lease": 1, "state": "exploded"])
        }
    }
}
