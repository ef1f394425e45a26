import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct ItemSchemaTests {
    let schema = Client.schema

    private func filterError(_ filters: [String: JSONValue]) -> APIError? {
        do {
            _ = try schema.filterSet(filters)
            return nil
        } catch {
            return error
        }
    }

    private func updateError(_ values: [String: JSONValue]) -> APIError? {
        do {
            _ = try schema.updateValues(values)
            return nil
        } catch {
            return error
        }
    }

    @Test func unknownFilterFieldIsRefusedWithTheAllowedList() {
        let error = filterError(["colour": "red"])
        #expect(error?.code == .unknownField)
        #expect(error?.field == "filters.colour")
        #expect(error?.message.contains("allowed: id, name") == true)
    }

    @Test func filterOnATimestampIsRefused() {
        #expect(filterError(["last_seen": "2026-01-01T00:00:00Z"])?.code == .unknownField)
    }

    @Test func filterValuesAreCheckedAgainstTheFieldType() {
        #expect(filterError(["status": "sleeping"])?.message.contains("expected one of: enabled, disabled") == true)
        #expect(filterError(["id": "seven"])?.field == "filters.id")
        #expect(filterError(["id": [1, "x"]])?.field == "filters.id")
        #expect(filterError(["status": []])?.message.contains("empty list") == true)
    }

    @Test func arrayFilterMatchesAnyOfItsValues() throws {
        let filters = try schema.filterSet(["status": ["enabled", "disabled"], "name": "a"])
        let record: [String: JSONValue] = ["status": "disabled", "name": "a"]
        #expect(filters.matches { record[$0] ?? .null })
        let other: [String: JSONValue] = ["status": "disabled", "name": "b"]
        #expect(!filters.matches { other[$0] ?? .null })
    }

    @Test func tagFilterMatchesRecordsCarryingTheTag() throws {
        let filters = try schema.filterSet(["tags": ["gpu", "cuda"]])
        #expect(filters.matches { $0 == "tags" ? ["fast", "cuda"] : .null })
        #expect(!filters.matches { $0 == "tags" ? ["fast"] : .null })
    }

    @Test func updateAcceptsOnlyUpdatableFields() {
        #expect(updateError(["connection": "online"])?.message.contains("cannot be changed") == true)
        #expect(updateError(["colour": "red"])?.message.contains("is not a field of item 'client'") == true)
        #expect(updateError([:])?.code == .missingField)
        #expect(updateError(["name": "has space"])?.field == "values.name")
    }

    @Test func tagsAreSortedAndDeduplicated() throws {
        let values = try schema.updateValues(["tags": ["gpu", "cuda", "gpu"]])
        #expect(values["tags"] == ["cuda", "gpu"])
    }

    @Test func commandLineValuesAreTypedByTheSchema() {
        #expect(schema.commandLineValue(field: "id", text: "7", forFilter: true) == 7)
        #expect(schema.commandLineValue(field: "id", text: "1,2", forFilter: true) == [1, 2])
        #expect(schema.commandLineValue(field: "status", text: "enabled", forFilter: true) == "enabled")
        #expect(schema.commandLineValue(field: "tags", text: "gpu", forFilter: false) == ["gpu"])
        #expect(schema.commandLineValue(field: "tags", text: "a,b", forFilter: false) == ["a", "b"])
    }

    @Test func namesAreShortIdentifiers() {
        #expect(FieldType.isValidName("node-07.farm_a"))
        #expect(!FieldType.isValidName("-lead"))
        #expect(!FieldType.isValidName("has space"))
        #expect(!FieldType.isValidName(""))
        #expect(!FieldType.isValidName("ü"))
        #expect(!FieldType.isValidName(String(repeating: "a", count: 65)))
    }
}
