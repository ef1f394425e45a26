import Testing

@testable import BrenderKit

@Suite struct TextTableTests {
    @Test func columnsAlignToTheWidestCell() {
        var table = TextTable(headers: ["ID", "NAME", "TAGS"])
        table.append(["1", "a-long-name", "gpu"])
        table.append(["10", "b", "-"])
        #expect(table.rendered() == "ID  NAME         TAGS\n1   a-long-name  gpu\n10  b            -\n")
    }

    @Test func agoIsShortAndHuman() {
        #expect(Timestamp.ago(100, now: 100.5) == "just now")
        #expect(Timestamp.ago(100, now: 112) == "12s ago")
        #expect(Timestamp.ago(0, now: 300) == "5m ago")
        #expect(Timestamp.ago(0, now: 7200) == "2h ago")
        #expect(Timestamp.ago(0, now: 200_000) == "2d ago")
    }

    @Test func timestampsRoundTripThroughISO8601() {
        let text = Timestamp.format(1_764_000_000.25)
        #expect(text == "2025-11-24T16:00:00.250Z")
        #expect(Timestamp.parse(text) == 1_764_000_000.25)
    }
}
