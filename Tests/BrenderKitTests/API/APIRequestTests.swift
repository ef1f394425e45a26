import Foundation
import Testing

@testable import BrenderKit

@Suite struct APIRequestTests {
    private func decode(_ text: String) -> Result<APIRequest, APIError> {
        Result { () throws(APIError) -> APIRequest in try APIRequest(body: Data(text.utf8)) }
    }

    private func error(_ text: String) -> APIError? {
        if case .failure(let error) = decode(text) { return error }
        return nil
    }

    @Test func fullRequestDecodes() throws {
        let request = try APIRequest(
            body: Data(
                #"{"item":"client","action":"update","filters":{"id":[1,2]},"values":{"status":"disabled"},"all":false,"limit":5,"offset":2}"#.utf8))
        #expect(request.item == "client")
        #expect(request.action == "update")
        #expect(request.filters == ["id": [1, 2]])
        #expect(request.values == ["status": "disabled"])
        #expect(request.limit == 5)
        #expect(request.offset == 2)
    }

    @Test func filtersAndValuesAreOptional() throws {
        let request = try APIRequest(body: Data(#"{"item":"client","action":"read"}"#.utf8))
        #expect(request.filters.isEmpty && request.values.isEmpty && !request.all)
    }

    @Test func nonJSONIsInvalidJSON() {
        #expect(error("item=client")?.code == .invalidJSON)
        #expect(error("item=client")?.httpStatus == 400)
    }

    @Test func nonObjectIsRefused() {
        #expect(error("[1,2]")?.message == "the request must be a JSON object, not array")
    }

    @Test func missingItemOrActionNamesTheField() {
        #expect(error(#"{"action":"read"}"#) == APIError(.missingField, "the request has no 'item'; it is required", field: "item"))
        #expect(error(#"{"item":"client"}"#)?.field == "action")
    }

    @Test func wrongTypesNameTheField() {
        #expect(error(#"{"item":3,"action":"read"}"#)?.field == "item")
        #expect(error(#"{"item":"client","action":"read","filters":"status=enabled"}"#)?.field == "filters")
        #expect(error(#"{"item":"client","action":"read","values":[1]}"#)?.field == "values")
        #expect(error(#"{"item":"client","action":"read","all":"yes"}"#)?.field == "all")
        #expect(error(#"{"item":"client","action":"read","limit":0}"#)?.field == "limit")
        #expect(error(#"{"item":"client","action":"read","offset":-1}"#)?.field == "offset")
    }

    @Test func unknownMemberIsRefusedSoTyposShow() {
        let failure = error(#"{"item":"client","action":"read","filter":{}}"#)
        #expect(failure?.code == .unknownField)
        #expect(failure?.field == "filter")
        #expect(failure?.message.contains("allowed: item, action, filters, values") == true)
    }

    @Test func requestRoundTripsThroughItsJSON() throws {
        let request = APIRequest(item: "client", action: "delete", filters: ["name": "a"], all: true, force: true, limit: 3, offset: 1)
        #expect(try APIRequest(json: request.json) == request)
    }

    @Test func errorBodyHasCodeMessageAndField() {
        let body = APIError(.invalidValue, "bad", field: "values.status").json
        #expect(body.serialized() == #"{"error":{"code":"invalid_value","field":"values.status","message":"bad"},"ok":false}"#)
    }
}

@Suite struct JSONValueTests {
    @Test func serializesCompactlyWithSortedKeysAndEscapes() {
        let value: JSONValue = ["b": [1, true, nil], "a": "quote\" slash\\ line\n tab\t \u{1}"]
        #expect(value.serialized() == #"{"a":"quote\" slash\\ line\n tab\t \u0001","b":[1,true,null]}"#)
    }

    @Test func parsesWhatItSerializes() throws {
        let value: JSONValue = ["n": .double(1.5), "i": -3, "s": "ü", "o": ["x": []]]
        #expect(try JSONValue.parse(Data(value.serialized().utf8)) == value)
    }
}
