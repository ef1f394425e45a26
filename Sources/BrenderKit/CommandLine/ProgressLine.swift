import FarmCore

/// A job's progress as a person follows it: frames done of the total, status, the rate and the
/// time left. On a terminal it redraws one bar on standard error (colours unless `NO_COLOR` is
/// set or the terminal is dumb); otherwise it prints a line on standard output per change.
struct ProgressLine {
    let jobID: Int64
    let context: CommandContext
    private let terminal: Bool
    private let colours: Bool
    private var lastLine = ""
    /// The first progress seen, for the rate: (time, frames done).
    private var start: (time: Double, frames: Int64)?
    private(set) var finishedStatus: JobStatus?

    init(jobID: Int64, context: CommandContext) {
        self.jobID = jobID
        self.context = context
        terminal = context.errorOutput.isTerminal
        let noColour = !(context.environment["NO_COLOR"] ?? "").isEmpty
        colours = terminal && !noColour && context.environment["TERM"] != "dumb"
    }

    /// Shows a job's state (an API item or a `job` event); true once the job has ended.
    @discardableResult
    mutating func show(_ job: JSONValue, now: Double = Timestamp.now) -> Bool {
        let status = JobStatus(rawValue: job["status"]?.stringValue ?? "") ?? .queued
        let done = job["frames_done"]?.intValue ?? 0
        let total = job["frames_total"]?.intValue ?? 0
        if start == nil || done < start!.frames { start = (now, done) }
        let pace = Self.pace(done: done, total: total, since: start!, now: now)
        let statusText = colours ? Self.coloured(status) : status.rawValue
        let line = "job \(jobID): \(done)/\(total) frames (\(JobCommands.percent(done, total))), \(statusText)\(pace.map { ", \($0)" } ?? "")"
        if terminal {
            let width = 30
            let filled = total == 0 ? 0 : min(width, Int(Double(done) / Double(total) * Double(width)))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            context.errorOutput.write("\r[\(bar)] \(line)\u{1B}[K")
        } else {
            // One line per change of frames or status (the rate alone is not a change).
            let key = "\(done)/\(total) \(status.rawValue)"
            if key != lastLine { context.print(line) }
            lastLine = key
        }
        if status.isFinished { finishedStatus = status }
        return status.isFinished
    }

    /// Ends the bar's line on a terminal.
    func end() {
        if terminal { context.errorOutput.write("\n") }
    }

    /// "4.0 frames/min, about 9m left", once frames have been done while watching.
    static func pace(done: Int64, total: Int64, since start: (time: Double, frames: Int64), now: Double) -> String? {
        let elapsed = now - start.time
        let frames = done - start.frames
        guard elapsed >= 1, frames > 0 else { return nil }
        let perMinute = Double(frames) / elapsed * 60
        let left = Double(total - done) / (perMinute / 60)
        let rate = perMinute >= 10 ? String(Int(perMinute.rounded())) : String((perMinute * 10).rounded() / 10)
        return done >= total ? "\(rate) frames/min" : "\(rate) frames/min, about \(Timestamp.duration(left)) left"
    }

    private static func coloured(_ status: JobStatus) -> String {
        let code =
            switch status {
            case .completed: "32"
            case .failed, .canceled: "31"
            case .paused, .waiting: "33"
            default: "36"
            }
        return "\u{1B}[\(code)m\(status.rawValue)\u{1B}[0m"
    }
}
