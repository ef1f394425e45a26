import Testing

@testable import BrenderKit

@Suite struct ServerSentEventParserTests {
    @Test func eventsSplitAnywhereAcrossPiecesAreReadWhole() {
        let text = "retry: 1000\n\nid: 5\nevent: job\ndata: {\"a\":1}\n\n: keep-alive\n\nid: 6\nevent: log\ndata: x\n\n"
        let bytes = Array(text.utf8)
        for size in [1, 2, 3, 7, bytes.count] {
            var parser = ServerSentEventParser()
            var events: [ServerSentEvent] = []
            var index = 0
            while index < bytes.count {
                events += parser.feed(bytes[index..<min(bytes.count, index + size)])
                index += size
            }
            #expect(events == [ServerSentEvent(id: "5", event: "job", data: "{\"a\":1}"), ServerSentEvent(id: "6", event: "log", data: "x")])
            #expect(parser.retry == 1000)
        }
    }

    @Test func crlfAndCrEndLinesAndDataLinesJoinWithNewlines() {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array("data: one\r\ndata:two\r\rdata: three\n\n".utf8))
        #expect(events == [ServerSentEvent(data: "one\ntwo"), ServerSentEvent(data: "three")])
    }

    @Test func theLastIdCarriesOverToEventsWithoutOne() {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array("id: 9\nevent: reset\ndata: {}\n\nevent: job\ndata: 1\n\n".utf8))
        #expect(events.map(\.id) == ["9", "9"])
    }
}
