import Testing

@testable import BrenderKit

@Suite struct StatusTests {
    @Test func jobTransitionsFollowTheTable() {
        #expect(JobStatus.queued.canChange(to: .active))
        #expect(JobStatus.active.canChange(to: .paused))
        #expect(JobStatus.paused.canChange(to: .active))
        #expect(JobStatus.failed.canChange(to: .queued))
        #expect(!JobStatus.completed.canChange(to: .paused))
        #expect(!JobStatus.canceled.canChange(to: .paused))
        #expect(!JobStatus.completed.canChange(to: .canceled))
        #expect(!JobStatus.paused.canChange(to: .completed))
    }

    @Test func taskTransitionsFollowTheTable() {
        #expect(TaskStatus.queued.canChange(to: .active))
        #expect(TaskStatus.active.canChange(to: .completed))
        #expect(TaskStatus.active.canChange(to: .queued))
        #expect(TaskStatus.failed.canChange(to: .queued))
        #expect(!TaskStatus.queued.canChange(to: .completed))
        #expect(!TaskStatus.completed.canChange(to: .failed))
        #expect(!TaskStatus.canceled.canChange(to: .active))
    }

    @Test func onlyQueuedAndActiveJobsAreDispatched() {
        #expect(JobStatus.allCases.filter(\.isDispatchable) == [.queued, .active])
        #expect(JobStatus.allCases.filter(\.isFinished) == [.completed, .failed, .canceled])
    }
}
