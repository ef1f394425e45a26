import Testing

@testable import BrenderKit

@Suite struct EventStreamQueryTests {
    @Test func jobsAndTheResumePointAreReadAndTheHeaderWins() throws {
        let query = try EventStream.Query(jobParameters: ["3,4", "7"], since: "10", lastEventID: "12")
        #expect(query == EventStream.Query(jobs: [3, 4, 7], since: 12))
        #expect(try EventStream.Query(jobParameters: [], since: "10", lastEventID: nil) == EventStream.Query(since: 10))
        #expect(try EventStream.Query(jobParameters: [], since: nil, lastEventID: nil) == EventStream.Query())
    }

    @Test func aBadJobOrIdIsRefusedNamingTheParameter() {
        #expect(throws: APIError(.invalidValue, "job must be job ids separated by commas, not 'x'", field: "job")) {
            try EventStream.Query(jobParameters: ["1,x"], since: nil, lastEventID: nil)
        }
        #expect(throws: APIError.self) { try EventStream.Query(jobParameters: ["0"], since: nil, lastEventID: nil) }
        do {
            _ = try EventStream.Query(jobParameters: [], since: nil, lastEventID: "later")
            Issue.record("accepted a bad Last-Event-ID")
        } catch {
            #expect(error.field == "Last-Event-ID")
        }
    }

    @Test func deliveriesAreWrittenInTheEventStreamFormat() {
        let event = EventStream.format(.event(FarmEvent(id: 42, body: .jobDeleted(7))))
        #expect(event == "id: 42\nevent: job_deleted\ndata: {\"job\":7}\n\n")
        #expect(EventStream.format(.reset(oldest: 5)) == "event: reset\ndata: {\"oldest\":5}\n\n")
        var parser = ServerSentEventParser()
        #expect(parser.feed(Array(event.utf8)) == [ServerSentEvent(id: "42", event: "job_deleted", data: "{\"job\":7}")])
    }
}
