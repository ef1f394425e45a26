import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct ProgressLineTests {
    @Test func theRateAndTimeLeftComeFromFramesDoneWhileWatching() {
        #expect(ProgressLine.pace(done: 10, total: 100, since: (0, 0), now: 0.5) == nil, "too soon to say")
        #expect(ProgressLine.pace(done: 0, total: 100, since: (0, 0), now: 60) == nil, "nothing done yet")
        #expect(ProgressLine.pace(done: 10, total: 100, since: (0, 0), now: 60) == "10 frames/min, about 9m left")
        #expect(ProgressLine.pace(done: 12, total: 14, since: (100, 10), now: 160) == "2.0 frames/min, about 1m left")
        #expect(ProgressLine.pace(done: 100, total: 100, since: (0, 0), now: 600) == "10 frames/min")
    }

    @Test func offATerminalEachChangeIsOneLineAndColourIsNeverUsed() {
        let output = CapturedText()
        let context = CommandContext(output: output, errorOutput: CapturedText(), environment: [:])
        var line = ProgressLine(jobID: 4, context: context)
        line.show(["status": "active", "frames_done": 1, "frames_total": 4], now: 0)
        line.show(["status": "active", "frames_done": 1, "frames_total": 4], now: 1)
        let ended = line.show(["status": "completed", "frames_done": 4, "frames_total": 4], now: 2)
        #expect(ended)
        #expect(output.text == "job 4: 1/4 frames (25%), active\njob 4: 4/4 frames (100%), completed, 90 frames/min\n")
        #expect(line.finishedStatus == .completed)
    }
}
