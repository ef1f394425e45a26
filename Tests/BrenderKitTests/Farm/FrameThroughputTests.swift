import Testing

@testable import BrenderKit

@Suite struct FrameThroughputTests {
    let start = 1_800_000_000.0  // a whole minute

    @Test func framesAreCountedByMinuteForAnHour() {
        var throughput = FrameThroughput()
        throughput.record(3, at: start, now: start)
        throughput.record(2, at: start + 30, now: start + 30)
        throughput.record(4, at: start + 600, now: start + 600)
        #expect(throughput.frames(inLast: 60, now: start + 600) == 9)
        #expect(throughput.frames(inLast: 1, now: start + 600) == 4)
        #expect(throughput.frames(inLast: 60, now: start + 3600) == 4, "the first minute has left the window")
        #expect(throughput.frames(inLast: 60, now: start + 4200) == 0)
    }

    @Test func aBucketReusedAnHourLaterStartsFromNothing() {
        var throughput = FrameThroughput()
        throughput.record(5, at: start, now: start)
        throughput.record(1, at: start + 3600, now: start + 3600)
        #expect(throughput.frames(inLast: 60, now: start + 3600) == 1)
    }

    @Test func framesOlderThanTheWindowAreNotRecorded() {
        var throughput = FrameThroughput()
        throughput.record(7, at: start - 3600, now: start)
        #expect(throughput.frames(inLast: 60, now: start) == 0)
    }

    @Test func theRateIsOverTheTimeSinceTheFirstRecentFrameAtLeastAMinute() {
        var throughput = FrameThroughput()
        #expect(throughput.framesPerMinute(now: start) == 0)
        throughput.record(6, at: start, now: start)
        #expect(throughput.framesPerMinute(now: start + 10) == 6, "a minute at least")
        throughput.record(6, at: start + 150, now: start + 150)
        #expect(throughput.framesPerMinute(now: start + 180) == 4, "12 frames in 3 minutes")
        // The first minute has left the 10-minute span: 6 frames in the 9 minutes since the minute of the second batch began.
        #expect(abs(throughput.framesPerMinute(now: start + 660) - 6.0 / 9) < 1e-9)
    }
}
