import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// `brender job delete --finished-before`: the clean-up of old jobs.
@Suite struct JobDeleteTests {
    @Test func jobsThatEndedLongerAgoThanTheAgeAreDeletedAndNoOthers() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try await SimulatedWorkerSession.register("sim", on: farm)
        let done = try await farm.submit(["file": "/tmp/done.blend", "frames": "1"])
        #expect(try await worker.completeNextTask() != nil)
        let canceled = try await farm.submit(["file": "/tmp/canceled.blend", "frames": "1"])
        _ = try await farm.api(APIRequest(item: "job", action: "update", filters: ["id": .int(canceled)], values: ["status": "canceled"]))
        let waiting = try await farm.submit(["file": "/tmp/waiting.blend", "frames": "1"])

        let none = try farm.run(["job", "delete", "--finished-before", "1d"])
        #expect(none.status == 0 && none.stdout == "no job ended more than 1d ago\n")
        try await Task.sleep(for: .seconds(1.1))
        let cleaned = try farm.run(["job", "delete", "--finished-before", "0m"])
        #expect(cleaned.status == 0, "\(cleaned.stderr)")
        #expect(cleaned.stdout == "2 jobs deleted\n")
        #expect(try await farm.job(done) == nil)
        #expect(try await farm.job(canceled) == nil)
        #expect(try await farm.job(waiting) != nil, "a job that has not ended stays")
        #expect(try farm.run(["job", "delete", "--finished-before", "soon"]).status == 2)
        #expect(try farm.run(["job", "delete", "3", "--finished-before", "1d"]).status == 2)
    }
}
