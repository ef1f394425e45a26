import Foundation
import Testing

@testable import BrenderKit

@Suite struct AuthGateTests {
    private func gate() throws -> (AuthGate, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("brender-auth-\(UUID().uuidString.prefix(8))")
        return (AuthGate(tokens: try ServerTokens(dataDirectory: directory)), directory)
    }

    @Test func onlyTheExactTokenIsAdmittedAndTheJoinTokenOnlyRegisters() async throws {
        let (gate, directory) = try gate()
        defer { try? FileManager.default.removeItem(at: directory) }
        let admin = gate.tokens.token(.admin)
        let join = gate.tokens.token(.join)
        #expect(await gate.principal("Bearer \(admin)", from: "a") == .admin)
        #expect(await gate.admitsWorker("bearer \(join)", from: "a"))
        #expect(await gate.admitsWorker("Bearer \(admin)", from: "a"), "the admin may register a worker too")
        #expect(await gate.principal("Bearer \(join)", from: "a") == nil, "the join token opens no API")
        #expect(await gate.principal("Bearer \(admin.dropLast())", from: "a") == nil)
        #expect(await gate.principal("Bearer \(admin)x", from: "a") == nil)
        #expect(await gate.principal(admin, from: "a") == nil, "the Bearer scheme is required")
        #expect(await gate.principal(nil, from: "a") == nil)
        #expect(await gate.principal("Bearer ", from: "a") == nil)
    }

    @Test func aNamedTokenIsKnownByItsNameAndRoleAndARevokedOneIsNot() async throws {
        let (gate, directory) = try gate()
        defer { try? FileManager.default.removeItem(at: directory) }
        let alice = try ServerTokens.create(name: "alice", role: .submit, dataDirectory: directory)
        let wall = try ServerTokens.create(name: "wall", role: .readOnly, dataDirectory: directory)
        #expect(throws: ServerTokens.TokenError.self) { try ServerTokens.create(name: "alice", role: .admin, dataDirectory: directory) }
        #expect(throws: ServerTokens.TokenError.self) { try ServerTokens.create(name: "join", role: .admin, dataDirectory: directory) }
        #expect(throws: ServerTokens.TokenError.self) { try ServerTokens.create(name: "two words", role: .admin, dataDirectory: directory) }
        #expect(try ServerTokens.namedTokens(dataDirectory: directory).map(\.name) == ["alice", "wall"])
        #expect(await eventually { await gate.principal("Bearer \(alice.token)", from: "a") == Principal(name: "alice", role: .submit) })
        #expect(await gate.principal("Bearer \(wall.token)", from: "a") == Principal(name: "wall", role: .readOnly))
        #expect(await !gate.admitsWorker("Bearer \(alice.token)", from: "a"), "only an admin's token registers workers")
        try ServerTokens.revoke(name: "alice", dataDirectory: directory)
        #expect(await eventually { await gate.principal("Bearer \(alice.token)", from: "a") == nil })
        #expect(await gate.principal("Bearer \(wall.token)", from: "a") != nil)
    }

    @Test func deletingTheNamedTokenFileRevokesEveryNamedToken() async throws {
        let (gate, directory) = try gate()
        defer { try? FileManager.default.removeItem(at: directory) }
        let wall = try ServerTokens.create(name: "wall", role: .readOnly, dataDirectory: directory)
        #expect(await eventually { await gate.principal("Bearer \(wall.token)", from: "a") != nil })
        try FileManager.default.removeItem(atPath: ServerTokens.namedPath(in: ServerTokens.directory(of: directory)))
        #expect(await eventually { await gate.principal("Bearer \(wall.token)", from: "a") == nil })
        #expect(await gate.principal("Bearer \(gate.tokens.token(.admin))", from: "a") == .admin)
    }

    @Test func aDamagedNamedTokenFileIsRefusedNotHalfRead() {
        #expect(ServerTokens.parseNamed("# comment\nalice submit 1.5 sha256:abc\n\n")?.map(\.name) == ["alice"])
        #expect(ServerTokens.parseNamed("alice superuser 1.5 sha256:abc\n") == nil)
        #expect(ServerTokens.parseNamed("alice submit sha256:abc\n") == nil)
        #expect(ServerTokens.parseNamed("alice submit 1.5 plain-secret\n") == nil, "only digests are kept")
    }

    @Test func constantTimeComparisonIsStillAComparison() {
        #expect(AuthGate.constantTimeEqual("abc", "abc"))
        #expect(!AuthGate.constantTimeEqual("abc", "abd"))
        #expect(!AuthGate.constantTimeEqual("abc", "abcd"))
        #expect(!AuthGate.constantTimeEqual("", ""), "an empty token never matches")
    }

    @Test func repeatedFailuresFromOneAddressAreAnsweredSlowly() async throws {
        let (gate, directory) = try gate()
        defer { try? FileManager.default.removeItem(at: directory) }
        for _ in 0..<AuthGate.allowedFailures { _ = await gate.principal("Bearer guess", from: "10.0.0.9") }
        let clock = ContinuousClock()
        let started = clock.now
        #expect(await gate.principal("Bearer guess", from: "10.0.0.9") == nil)
        #expect(clock.now - started >= AuthGate.delay, "past the allowed failures, a refusal waits")
        // The right token is never delayed by the failures.
        #expect(await gate.principal("Bearer \(gate.tokens.token(.admin))", from: "10.0.0.9") == .admin)
    }

    @Test func aTokenFileChangedOnDiskIsUsedAtOnce() throws {
        let (gate, directory) = try gate()
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = gate.tokens.token(.join)
        let new = try ServerTokens.rotate(.join, dataDirectory: directory)
        #expect(new != old)
        var seen = gate.tokens.token(.join)
        let deadline = Date().addingTimeInterval(5)
        while seen != new && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            seen = gate.tokens.token(.join)
        }
        #expect(seen == new)
    }
}

/// Polls `condition` for up to five seconds (a changed token file is read within a second).
private func eventually(_ condition: () async -> Bool) async -> Bool {
    for _ in 0..<50 {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return false
}
