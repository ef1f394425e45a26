import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct TaskLifecycleTests {
    let time = 1_000.0

    func task(_ status: TaskStatus, client: Int64 = 0, lease: Int32 = 0, failures: Int32 = 0) -> RenderTask {
        var task = RenderTask(id: 7, jobID: 1, chunk: FrameChunk(start: 1, end: 4, step: 1))
        task.status = status
        task.clientID = client
        task.lease = lease
        task.failures = failures
        return task
    }

    /// Every event, with the statuses it is allowed from.
    static let allowedFrom: [(TaskEvent, Set<TaskStatus>)] = [
        (.start(clientID: 3), [.queued]),
        (.reclaim, [.queued]),  // (a queued task with a lease and no end is a resumable one)
        (.progress(framesDone: 2), [.active]),
        (.complete(framesDone: 4), [.active]),
        (.fail(error: "boom", maxAttempts: 3), [.active]),
        (.release(reason: "stopping"), [.active]),
        (.cancel(reason: nil), [.queued, .active]),
        (.requeue, [.active, .completed, .failed, .canceled]),
    ]

    @Test func everyEventIsRefusedFromEveryOtherStatusAndChangesNothing() {
        for (event, allowed) in Self.allowedFrom {
            for status in TaskStatus.allCases where !allowed.contains(status) {
                #expect(throws: FarmError.self, "\(event) from \(status)") {
                    try TaskLifecycle.apply(event, to: task(status, client: 3, lease: 1), at: time)
                }
            }
        }
    }

    @Test func startingTakesANewLeaseOnTheClient() throws {
        let started = try TaskLifecycle.apply(.start(clientID: 3), to: task(.queued, lease: 1), at: time)
        #expect(started.task.status == .active)
        #expect(started.task.clientID == 3)
        #expect(started.task.lease == 2)
        #expect(started.task.startedAt == time)
        #expect(started.attemptBegan)
        #expect(started.freedClient == nil)
    }

    @Test func onlyAResumableReleaseCanBeReclaimedUnderTheSameLease() throws {
        let silent = try TaskLifecycle.apply(.release(reason: "silent", resumable: true), to: task(.active, client: 3, lease: 2), at: time)
        #expect(silent.task.isResumable)
        let reclaimed = try TaskLifecycle.apply(.reclaim, to: silent.task, at: time)
        #expect(reclaimed.task.status == .active && reclaimed.task.lease == 2 && !reclaimed.attemptBegan)
        let stopped = try TaskLifecycle.apply(.release(reason: "restarted"), to: task(.active, client: 3, lease: 2), at: time)
        #expect(!stopped.task.isResumable)
        #expect(throws: FarmError.self) { try TaskLifecycle.apply(.reclaim, to: stopped.task, at: time) }
        let failed = try TaskLifecycle.apply(.fail(error: "boom", maxAttempts: 3), to: task(.active, client: 3, lease: 2), at: time)
        #expect(throws: FarmError.self) { try TaskLifecycle.apply(.reclaim, to: failed.task, at: time) }
        #expect(throws: FarmError.self) { try TaskLifecycle.apply(.reclaim, to: task(.queued), at: time) }
    }

    @Test func completingFreesTheClientAndClearsTheError() throws {
        var running = task(.active, client: 3, lease: 1)
        running.error = "earlier"
        let done = try TaskLifecycle.apply(.complete(framesDone: 4), to: running, at: time)
        #expect(done.task.status == .completed && done.task.framesDone == 4 && done.task.error == nil)
        #expect(done.freedClient == 3)
        #expect(done.task.finishedAt == time)
    }

    @Test func aFailureRequeuesUntilTheLastAttemptThenFailsForGood() throws {
        let first = try TaskLifecycle.apply(.fail(error: "boom", maxAttempts: 2), to: task(.active, client: 3, lease: 1), at: time)
        #expect(first.task.status == .queued && first.nowQueued)
        #expect(first.task.failures == 1 && first.task.failedOn == [3] && first.task.error == "boom")
        #expect(first.freedClient == 3 && first.failedOnClient == 3)
        let last = try TaskLifecycle.apply(.fail(error: "boom", maxAttempts: 2), to: task(.active, client: 4, lease: 2, failures: 1), at: time)
        #expect(last.task.status == .failed && !last.nowQueued)
        #expect(last.failedOnClient == 4)
    }

    @Test func releasingRequeuesWithoutCountingAFailure() throws {
        let released = try TaskLifecycle.apply(.release(reason: "worker stopped"), to: task(.active, client: 3, lease: 1, failures: 1), at: time)
        #expect(released.task.status == .queued && released.task.failures == 1 && released.failedOnClient == nil)
        #expect(released.freedClient == 3)
        #expect(released.task.error == "worker stopped")
    }

    @Test func cancelingARunningTaskFreesItsClientAndSaysWhy() throws {
        let canceled = try TaskLifecycle.apply(.cancel(reason: "fail-fast"), to: task(.active, client: 3, lease: 1), at: time)
        #expect(canceled.task.status == .canceled && canceled.freedClient == 3 && canceled.task.error == "fail-fast")
        let queued = try TaskLifecycle.apply(.cancel(reason: nil), to: task(.queued), at: time)
        #expect(queued.freedClient == nil && queued.task.error == nil)
    }

    @Test func requeueingStartsFromACleanSlate() throws {
        var failed = task(.failed, client: 3, lease: 3, failures: 3)
        failed.failedOn = [3, 4]
        failed.error = "boom"
        let requeued = try TaskLifecycle.apply(.requeue, to: failed, at: time)
        #expect(requeued.task.status == .queued && requeued.task.failures == 0 && requeued.task.failedOn.isEmpty && requeued.task.error == nil)
        #expect(requeued.task.lease == 3, "the lease only grows, so old workers stay refused")
    }
}
