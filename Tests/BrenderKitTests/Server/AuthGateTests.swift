import Foundation
import Testing

@testable import BrenderKit

@Suite struct AuthGateTests {
    private func gate() throws -> (AuthGate, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("brender-auth-\(UUID().uuidString.prefix(8))")
        return (AuthGate(tokens: try ServerTokens(dataDirectory: directory)), directory)
    }

    @Test func onlyTheExactTokenOfAnAllowedKindIsAdmitted() async throws {
        let (gate, directory) = try gate()
        defer { try? FileManager.default.removeItem(at: directory) }
        let admin = gate.tokens.token(.admin)
        let join = gate.tokens.token(.join)
        #expect(await gate.admits("Bearer \(admin)", as: [.admin], from: "a"))
        #expect(await gate.admits("bearer \(join)", as: [.join, .admin], from: "a"))
        #expect(await !gate.admits("Bearer \(join)", as: [.admin], from: "a"))
        #expect(await !gate.admits("Bearer \(admin.dropLast())", as: [.admin], from: "a"))
        #expect(await !gate.admits("Bearer \(admin)x", as: [.admin], from: "a"))
        #expect(await !gate.admits(admin, as: [.admin], from: "a"), "the Bearer scheme is required")
        #expect(await !gate.admits(nil, as: [.admin], from: "a"))
        #expect(await !gate.admits("Bearer ", as: [.admin], from: "a"))
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
        for _ in 0..<AuthGate.allowedFailures { _ = await gate.admits("Bearer guess", as: [.admin], from: "10.0.0.9") }
        let clock = ContinuousClock()
        let started = clock.now
        #expect(await !gate.admits("Bearer guess", as: [.admin], from: "10.0.0.9"))
        #expect(clock.now - started >= AuthGate.delay, "past the allowed failures, a refusal waits")
        // The right token is never delayed by the failures.
        #expect(await gate.admits("Bearer \(gate.tokens.token(.admin))", as: [.admin], from: "10.0.0.9"))
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
