import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct JobLifecycleTests {
    let time = 2_000.0

    func job(_ status: JobStatus, started: Bool = false, failFast: Bool = false) -> Job {
        var job = Job(
            id: 5, name: "shot", kind: .blender, status: status, priority: 50, file: "/f.blend", frames: "1-10", chunkSize: 1,
            output: "/out/#", format: "PNG", scene: nil, argv: [], tags: [], maxAttempts: 3, createdAt: 1, startedAt: started ? 10 : nil)
        job.failFast = failFast
        return job
    }

    func tally(queued: Int = 0, active: Int = 0, completed: Int = 0, failed: Int = 0, canceled: Int = 0, videoQueued: Bool = false)
        -> TaskTally
    {
        var tally = TaskTally()
        tally.queued = queued
        tally.active = active
        tally.completed = completed
        tally.failed = failed
        tally.canceled = canceled
        tally.openRender = queued + active - (videoQueued ? 1 : 0)
        tally.videoQueued = videoQueued
        tally.failedFrames = failed > 0 ? "3" : ""
        return tally
    }

    @Test func pauseIsRefusedOnceFinishedAndKeepsEverythingElse() throws {
        for status in JobStatus.allCases {
            if status.isFinished {
                #expect(throws: FarmError.self) { try JobLifecycle.apply(.pause, to: job(status), at: time) }
            } else {
                #expect(try JobLifecycle.apply(.pause, to: job(status), at: time).job.status == .paused)
            }
        }
    }

    @Test func resumeGoesBackToWhereThePausedJobBelongs() throws {
        #expect(try JobLifecycle.apply(.resume(.met), to: job(.paused), at: time).job.status == .queued)
        #expect(try JobLifecycle.apply(.resume(.met), to: job(.paused, started: true), at: time).job.status == .active)
        let waiting = try JobLifecycle.apply(.resume(.pending([3])), to: job(.paused), at: time).job
        #expect(waiting.status == .waiting && waiting.reason == "waits for job 3")
        let broken = try JobLifecycle.apply(.resume(.broken("job 3, which it waits for, failed")), to: job(.paused), at: time)
        #expect(broken.job.status == .failed && broken.cancel?.reason == "not started: job 3, which it waits for, failed")
        #expect(try JobLifecycle.apply(.resume(.met), to: job(.active, started: true), at: time).job.status == .active)
        for status in JobStatus.allCases where status.isFinished {
            #expect(
                throws: FarmError.conflict(
                    "job 5 is \(status.rawValue); it cannot be resumed; requeue its tasks to run it again", field: "values.status")
            ) {
                try JobLifecycle.apply(.resume(.met), to: job(status), at: time)
            }
        }
    }

    @Test func cancelEndsTheJobAndCancelsItsOpenTasks() throws {
        for status in JobStatus.allCases where !status.isFinished {
            let canceled = try JobLifecycle.apply(.cancel(reason: nil), to: job(status), at: time)
            #expect(canceled.job.status == .canceled && canceled.job.finishedAt == time && canceled.finishedChanged)
            #expect(canceled.cancel == TaskCancellation(role: nil, reason: "its job was canceled"))
        }
        #expect(try JobLifecycle.apply(.cancel(reason: nil), to: job(.canceled), at: time).cancel == nil)
        #expect(throws: FarmError.self) { try JobLifecycle.apply(.cancel(reason: nil), to: job(.completed), at: time) }
        #expect(throws: FarmError.self) { try JobLifecycle.apply(.cancel(reason: nil), to: job(.failed), at: time) }
    }

    @Test func theFirstTaskStartMakesTheJobActive() throws {
        let started = try JobLifecycle.apply(.taskStarted, to: job(.queued), at: time).job
        #expect(started.status == .active && started.startedAt == time)
        let paused = try JobLifecycle.apply(.taskStarted, to: job(.paused, started: true), at: time).job
        #expect(paused.status == .paused && paused.startedAt == 10)
    }

    @Test func byDefaultAFailedTaskLetsTheOtherFramesRenderThenFailsTheJob() throws {
        let going = try JobLifecycle.apply(
            .tasksChanged(tally(queued: 5, active: 1, completed: 3, failed: 1)), to: job(.active, started: true), at: time)
        #expect(going.job.status == .active && going.cancel == nil)
        let ended = try JobLifecycle.apply(.tasksChanged(tally(completed: 9, failed: 1)), to: job(.active, started: true), at: time)
        #expect(ended.job.status == .failed && ended.job.reason == "frames 3 failed" && ended.job.finishedAt == time)
    }

    @Test func failFastStopsAtTheFirstFailureAndCancelsTheRest() throws {
        let stopped = try JobLifecycle.apply(
            .tasksChanged(tally(queued: 5, active: 1, completed: 3, failed: 1)), to: job(.active, started: true, failFast: true), at: time)
        #expect(stopped.job.status == .failed && stopped.job.reason == "frames 3 failed (--fail-fast)")
        #expect(stopped.cancel == TaskCancellation(role: nil, reason: "canceled: frames 3 failed (--fail-fast)"))
    }

    @Test func aJobCompletesWhenEveryTaskHas() throws {
        let done = try JobLifecycle.apply(.tasksChanged(tally(completed: 10)), to: job(.active, started: true), at: time)
        #expect(done.job.status == .completed && done.finishedChanged)
        let pausedDone = try JobLifecycle.apply(.tasksChanged(tally(completed: 10)), to: job(.paused, started: true), at: time)
        #expect(pausedDone.job.status == .completed)
        let late = try JobLifecycle.apply(.tasksChanged(tally(completed: 9, canceled: 1)), to: job(.canceled, started: true), at: time)
        #expect(late.job.status == .canceled)
    }

    @Test func aVideoThatCannotBeMadeIsCanceledWhenTheRendersEnd() throws {
        let renders = try JobLifecycle.apply(
            .tasksChanged(tally(queued: 1, completed: 8, failed: 1, videoQueued: true)), to: job(.active, started: true), at: time)
        #expect(renders.cancel == TaskCancellation(role: .video, reason: "no video: frames 3 were not rendered"))
        let waiting = try JobLifecycle.apply(
            .tasksChanged(tally(queued: 2, completed: 8, videoQueued: true)), to: job(.active, started: true), at: time)
        #expect(waiting.cancel == nil && waiting.job.status == .active)
    }

    @Test func requeueingAFinishedJobRunsItAgainOrMakesItWait() throws {
        for status in JobStatus.allCases where status.isFinished {
            var finished = job(status, started: true)
            finished.finishedAt = 99
            finished.reason = "old"
            let again = try JobLifecycle.apply(.requeued(.met), to: finished, at: time).job
            #expect(again.status == .active && again.finishedAt == nil && again.reason == nil)
        }
        #expect(try JobLifecycle.apply(.requeued(.met), to: job(.failed), at: time).job.status == .queued)
        #expect(try JobLifecycle.apply(.requeued(.pending([2])), to: job(.failed), at: time).job.status == .waiting)
        #expect(try JobLifecycle.apply(.requeued(.met), to: job(.paused, started: true), at: time).job.status == .paused)
    }

    @Test func aWaitingJobStartsWhenItsDependenciesCompleteAndFailsWhenOneFails() throws {
        #expect(try JobLifecycle.apply(.dependenciesChanged(.met), to: job(.waiting), at: time).job.status == .queued)
        #expect(try JobLifecycle.apply(.dependenciesChanged(.pending([4])), to: job(.waiting), at: time).job.status == .waiting)
        let broken = try JobLifecycle.apply(.dependenciesChanged(.broken("job 4, which it waits for, was canceled")), to: job(.waiting), at: time)
        #expect(broken.job.status == .failed && broken.job.reason == "job 4, which it waits for, was canceled")
        #expect(broken.cancel != nil && broken.finishedChanged)
        #expect(try JobLifecycle.apply(.dependenciesChanged(.met), to: job(.paused), at: time).job.status == .paused)
        #expect(try JobLifecycle.apply(.dependenciesChanged(.pending([4])), to: job(.queued), at: time).job.status == .waiting)
        #expect(try JobLifecycle.apply(.dependenciesChanged(.pending([4])), to: job(.active, started: true), at: time).job.status == .active)
    }

    @Test func noCapableClientFailsAnUnfinishedJobAtOnce() throws {
        let failed = try JobLifecycle.apply(.noCapableClient("no client has the tags gpu"), to: job(.queued), at: time)
        #expect(failed.job.status == .failed && failed.job.reason == "no client has the tags gpu")
        #expect(failed.cancel == TaskCancellation(role: nil, reason: "not run: no client has the tags gpu"))
        #expect(try JobLifecycle.apply(.noCapableClient("x"), to: job(.waiting), at: time).job.status == .waiting)
        #expect(try JobLifecycle.apply(.noCapableClient("x"), to: job(.completed), at: time).job.status == .completed)
    }

    @Test func theFastNoChangeCheckAgreesWithApply() throws {
        var events: [JobEvent] = [.taskStarted]
        for queued in [0, 2] {
            for active in [0, 1] {
                for failed in [0, 1] {
                    for canceled in [0, 1] {
                        for video in [false, true] {
                            var tally = tally(
                                queued: queued + (video ? 1 : 0), active: active, completed: 3, failed: failed, canceled: canceled, videoQueued: video
                            )
                            tally.openRender = queued + active
                            events.append(.tasksChanged(tally))
                        }
                    }
                }
            }
        }
        for status in JobStatus.allCases {
            for started in [false, true] {
                for failFast in [false, true] {
                    let subject = job(status, started: started, failFast: failFast)
                    for event in events
                    where JobLifecycle.leavesUnchanged(event, status: status, started: started, failFast: failFast) {
                        let transition = try JobLifecycle.apply(event, to: subject, at: time)
                        #expect(transition.job == subject && transition.cancel == nil, "\(status) \(event)")
                    }
                }
            }
        }
    }

    @Test func theTableOfChangesIsExactlyWhatTheEventsDo() throws {
        let events: [JobEvent] = [
            .pause, .resume(.met), .resume(.pending([1])), .resume(.broken("x")), .cancel(reason: nil), .taskStarted,
            .tasksChanged(tally(completed: 10)), .tasksChanged(tally(completed: 9, failed: 1)), .requeued(.met), .requeued(.pending([1])),
            .dependenciesChanged(.met), .dependenciesChanged(.pending([1])), .dependenciesChanged(.broken("x")), .noCapableClient("x"),
        ]
        var reached: Set<String> = []
        for status in JobStatus.allCases {
            for started in [false, true] {
                for event in events {
                    guard let next = try? JobLifecycle.apply(event, to: job(status, started: started), at: time).job.status, next != status
                    else { continue }
                    reached.insert("\(status) -> \(next)")
                }
            }
        }
        let drawn = Set(JobLifecycle.allowed.flatMap { from, targets in targets.map { "\(from) -> \($0)" } })
        #expect(reached == drawn)
    }
}
