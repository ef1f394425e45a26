import Testing

@testable import BrenderKit

@Suite struct AccessPolicyTests {
    private let reader = Principal(name: "wall", role: .readOnly)
    private let artist = Principal(name: "alice", role: .submit)

    private func allowed(_ item: String, _ action: String, by principal: Principal) -> Bool {
        (try? AccessPolicy.check(APIRequest(item: item, action: action), by: principal)) != nil
    }

    @Test func aReadOnlyTokenMayOnlyRead() {
        for item in Farm.schemas.map(\.item) {
            #expect(allowed(item, "read", by: reader))
            for action in ["create", "update", "delete"] { #expect(!allowed(item, action, by: reader), "\(action) \(item)") }
        }
    }

    @Test func aSubmitTokenChangesJobsAndTasksButNotClientsOrPathMaps() {
        for action in ["create", "read", "update", "delete"] { #expect(allowed("job", action, by: artist)) }
        #expect(allowed("task", "update", by: artist))
        for item in ["client", "pathmap"] {
            #expect(allowed(item, "read", by: artist))
            for action in ["create", "update", "delete"] { #expect(!allowed(item, action, by: artist), "\(action) \(item)") }
        }
    }

    @Test func theAdminMayDoAnythingAndARefusalIsA403NamingTheToken() throws {
        for item in Farm.schemas.map(\.item) { #expect(allowed(item, "delete", by: .admin)) }
        do {
            try AccessPolicy.check(APIRequest(item: "client", action: "delete"), by: artist)
            Issue.record("a submit token deleted a client")
        } catch {
            #expect(error.httpStatus == 403 && error.code == .forbidden)
            #expect(error.message.contains("alice") && error.field == "action")
        }
    }
}
