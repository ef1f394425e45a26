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

    @Test func timestampsParseWithAndWithoutFractionsAndOtherOffsets() {
        #expect(Timestamp.parse("2026-11-29T11:09:55Z") == 1_795_950_595)
        #expect(Timestamp.parse("2026-11-29T11:09:55.5Z") == 1_795_950_595.5)
        #expect(Timestamp.parse("2026-11-29T12:09:55+01:00") == 1_795_950_595)
        #expect(Timestamp.parse("yesterday") == nil)
        #expect(Timestamp.parse("2026-13-29T11:09:55Z") == nil)
        #expect(Timestamp.format(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(0.9996) == "1970-01-01T00:00:01.000Z")
    }

    @Test func timestampsRoundTripThroughISO8601() {
        let text = Timestamp.format(1_764_000_000.25)
        #expect(text == "2025-11-24T16:00:00.250Z")
        #expect(Timestamp.parse(text) == 1_764_000_000.25)
    }
}
