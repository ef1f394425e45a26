import Testing

@testable import BrenderKit

@Suite struct ReadOrderTests {
    @Test func textIsFoundWithoutRegardToCase() {
        #expect(ReadOrder.contains("Shot_010 Lighting", "lighting"))
        #expect(ReadOrder.contains("SHOT", "shot"))
        #expect(ReadOrder.contains("a-shot-b", "-shot-"))
        #expect(!ReadOrder.contains("shot", "shots"))
        #expect(!ReadOrder.contains("[shot]", "{shot}"), "only letters fold: '[' is not '{'")
        #expect(ReadOrder.contains("anything", ""))
        #expect(ReadOrder.contains("Ärger im Büro", "ärger"))
        #expect(ReadOrder.contains("SZENE GRÜN", "grün"))
        #expect(!ReadOrder.contains("grun", "grün"))
    }

    @Test func keysOrderNumbersByValueTextWithoutCaseAndEmptyValuesLast() {
        let values: [JSONValue] = [.null, "b", 10, "A", 2, .array([])]
        let ascending = values.map(SortKey.init).sorted { $0 != $1 && SortKey.precedes($0, $1, descending: false) }
        #expect(ascending.prefix(4) == [.number(2), .number(10), .text("a"), .text("b")])
        #expect(ascending.suffix(2).allSatisfy { $0 == .missing })
        let descending = values.map(SortKey.init).sorted { $0 != $1 && SortKey.precedes($0, $1, descending: true) }
        #expect(descending.prefix(4) == [.text("b"), .text("a"), .number(10), .number(2)])
    }
}
