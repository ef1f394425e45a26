import BrenderKit
import BrenderSimulation
import FarmCore
import Testing

/// The deterministic simulation: it runs the real farm through seeded events and its checks
/// hold; a seed repeats exactly; and the checks do fail on a state that breaks a rule.
@Suite struct FarmSimulationTests {
    @Test(arguments: [UInt64(20_261_207), 42])
    func aSeededRunOfTheRealFarmKeepsEveryInvariant(seed: UInt64) async throws {
        let (events, failure) = try await FarmSimulation.run(seed: seed, events: 2_500, settleEvery: 800)
        #expect(failure == nil, "seed \(seed): \(failure.map { "\($0)" } ?? "")")
        #expect(events.count == 2_500)
        // The run met what it is for: crashes, full disks, lost answers, admins, settling.
        #expect(events.contains { if case .crash = $0 { true } else { false } })
        #expect(events.contains { if case .crashDuring = $0 { true } else { false } })
        #expect(events.contains(.diskFull(true)))
        #expect(events.contains(.settle))
    }

    @Test func aSeedRunsTheSameEventsEveryTime() async throws {
        let first = try await FarmSimulation.run(seed: 7, events: 600, settleEvery: 300).events
        let second = try await FarmSimulation.run(seed: 7, events: 600, settleEvery: 300).events
        #expect(first == second)
        let replayed = try await FarmSimulation.replay(first)
        #expect(replayed == nil)
    }

    @Test func theChecksFindAStateThatBreaksARule() async throws {
        let file = try TemporaryDatabase()
        let farm = try Farm(databasePath: file.path, logger: quietLogger)
        _ = try await farm.handle(APIRequest(item: "job", action: "create", values: ["type": "command", "argv": ["true"], "frames": "1-4"]))
        let sound = await farm.snapshot()
        #expect(FarmInvariants.check(sound).isEmpty)
        var miscounted = sound
        let id = sound.jobs.keys.first!
        miscounted.jobs[id]!.counted[TaskStatus.queued.index] += 1
        #expect(FarmInvariants.check(miscounted) == ["job \(id) counts 5 queued tasks, but has 4"])
        var finished = sound
        finished.jobs[id]!.job.status = .completed
        #expect(FarmInvariants.check(finished).contains("job \(id) is completed with 4 open tasks"))
        #expect(!FarmInvariants.differences(sound, finished, ignoring: .restart).isEmpty)
        #expect(FarmInvariants.differences(sound, sound, ignoring: .restart).isEmpty)
    }
}
