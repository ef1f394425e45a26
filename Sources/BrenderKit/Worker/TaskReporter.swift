import Foundation
import Logging

/// Carries a running task's log and verified frames to the server: in batches every second (or
/// sooner past a few KiB), kept while the server is unreachable and delivered when it is back.
///
/// It also watches for silence: a process that prints nothing for `silenceTimeout` seconds is
/// stopped as hung (the worker itself keeps reporting, so the server would never notice).
///
/// Updates are idempotent (the full set of verified frames, and log chunks with their byte
/// offset), so a batch whose answer was lost is simply sent again. The server says how much of
/// the log it has stored; only that is dropped here. Nothing (no log, no result) is given up
/// while the server is away or cannot store it (a full disk): it is kept and sent again.
actor TaskReporter {
    let client: BrenderClient
    let sender: WorkerProtocol.Sender
    let assignment: WorkerProtocol.Assignment
    let stop: StopSignal
    let logger: Logger
    /// Seconds without a line of output after which the task is stopped as hung.
    let silenceTimeout: Double
    private var lastOutput = Timestamp.now
    /// Whether the task was stopped for printing nothing for too long.
    private(set) var stoppedAsHung = false

    /// Log bytes not yet acknowledged, after `acknowledgedBytes` bytes that were.
    private var pendingLog: [UInt8] = []
    private var acknowledgedBytes = 0
    private var framesDone: Set<Int> = []
    private var flushing = false
    /// When set, the final report gives up at this time (the worker is stopping).
    private var deadline: Double?
    /// Keep at most this much unsent log while the server is away; older text is dropped.
    private let maxPendingLog = 16 << 20

    static let batchBytes = 4096
    /// The most log one update carries, well under the server's 1 MiB body limit; a backlog
    /// (after the server was away) goes up over several updates.
    static let maxChunkBytes = 256 * 1024
    static let interval: Duration = .seconds(1)

    init(
        client: BrenderClient, sender: WorkerProtocol.Sender, assignment: WorkerProtocol.Assignment, stop: StopSignal, logger: Logger,
        silenceTimeout: Double = 1800
    ) {
        self.client = client
        self.sender = sender
        self.assignment = assignment
        self.stop = stop
        self.logger = logger
        self.silenceTimeout = silenceTimeout
    }

    func log(_ line: String) {
        lastOutput = Timestamp.now
        pendingLog += Array(line.utf8)
        pendingLog.append(UInt8(ascii: "\n"))
        if pendingLog.count > maxPendingLog {
            // Keep the newest half, from a line start; the marker stands in for what was dropped,
            // so the log's offsets stay contiguous.
            var drop = pendingLog.count - maxPendingLog / 2
            while drop < pendingLog.count && pendingLog[drop - 1] != UInt8(ascii: "\n") { drop += 1 }
            let marker = Array("[brender: \(drop) bytes of log dropped here while the server could not take them]\n".utf8)
            pendingLog = marker + pendingLog.dropFirst(drop)
        }
        if pendingLog.count >= TaskReporter.batchBytes && !flushing {
            Task { await self.flush() }
        }
    }

    func frameDone(_ frame: Int) {
        framesDone.insert(frame)
    }

    var verifiedFrames: [Int] { framesDone.sorted() }

    /// Sends progress every second, and stops the task when its process has been silent for
    /// `silenceTimeout`, until cancelled.
    func runPeriodicFlush() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: TaskReporter.interval)
            if Task.isCancelled { return }
            if !stoppedAsHung && Timestamp.now - lastOutput >= silenceTimeout {
                stoppedAsHung = true
                stop.stop(reason: "the process printed nothing for \(Self.describe(silenceTimeout))")
            }
            await flush()
        }
    }

    static func describe(_ seconds: Double) -> String {
        seconds >= 120 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60)) minutes" : "\(seconds.formatted()) s"
    }

    /// Sends a `running` update with what is pending. Sent every second even when empty: its
    /// answer is how the worker learns that the task was canceled or given to another worker.
    func flush() async {
        guard !flushing else { return }
        flushing = true
        defer { flushing = false }
        let chunk = nextChunk()
        let chunkEnd = acknowledgedBytes + chunk.count
        do {
            let reply = try await client.post(
                "/worker/task/update", update(.running, log: chunk, frames: framesDone), as: WorkerProtocol.TaskUpdateReply.self,
                timeout: 10)
            guard reply.accepted else {
                stop.stop(reason: "the server took this task away: \(reply.reason ?? "canceled, or given to another worker")")
                return
            }
            acknowledge(stored: reply.logOffset ?? chunkEnd)
            if reply.stop { stop.stop(reason: "the server asked to stop this task: \(reply.reason ?? "no reason given")") }
        } catch {
            // A 404: the server no longer knows this worker. Anything else: keep everything, try again.
            if error.status == 404 { stop.stop(reason: "the server no longer knows this worker or task") }
        }
    }

    /// Reports the task's outcome, retrying until the server has stored it with the whole log,
    /// refuses it, or `deadline` passes.
    /// - Returns: the server's answer (with the next task when `nextWait` asked for one), or nil.
    /// - Parameter warmJob: with `nextWait`, the job whose file the worker's warm Blender holds.
    func finish(_ state: WorkerProtocol.TaskState, error: String?, nextWait: Double?, deadline: Double?, warmJob: Int64? = nil) async
        -> WorkerProtocol.TaskUpdateReply?
    {
        if let deadline { setDeadline(deadline) }
        while flushing { try? await Task.sleep(for: .milliseconds(10)) }
        // Hold the flag to the end: a flush scheduled by `log` must not send beside the report.
        flushing = true
        defer { flushing = false }
        var backoff = Backoff()
        let errorText = error.map { Self.truncated($0, to: WorkerProtocol.Limits.errorBytes) }
        while true {
            let chunk = nextChunk()
            let chunkEnd = acknowledgedBytes + chunk.count
            // The outcome goes with the last of the log; a backlog goes first as progress.
            let isLast = chunk.count == pendingLog.count
            do {
                var message = update(isLast ? state : .running, log: chunk, frames: framesDone)
                if isLast {
                    message.error = errorText
                    message.nextWait = nextWait
                    message.warmJob = nextWait == nil ? nil : warmJob
                }
                let reply = try await client.post(
                    "/worker/task/update", message, as: WorkerProtocol.TaskUpdateReply.self, timeout: (isLast ? nextWait ?? 0 : 0) + 15)
                guard reply.accepted else {
                    if state != .released {
                        logger.warning(
                            "the server refused the result of task \(assignment.taskID) (\(state.rawValue)): \(reply.reason ?? "no reason given")")
                    }
                    return reply
                }
                let stored = reply.logOffset ?? chunkEnd
                acknowledge(stored: stored)
                // The outcome counted only if the server stored the log up to its end.
                if isLast && stored == chunkEnd { return reply }
                backoff.reset()
                continue
            } catch {
                if let status = error.status, status < 500 {
                    logger.warning("the server refused the report of task \(assignment.taskID): \(error)")
                    return nil
                }
                var delay = backoff.next()
                if let deadline = self.deadline {
                    if Timestamp.now >= deadline { return nil }
                    delay = min(delay, deadline - Timestamp.now)
                }
                logger.warning("cannot report task \(assignment.taskID) yet (\(error)); keeping it and retrying in \(delay) s")
                try? await Task.sleep(for: .seconds(delay))
            }
        }
    }

    static func truncated(_ text: String, to bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var cut = text.utf8.prefix(bytes - 3)
        while let last = cut.last, last & 0xC0 == 0x80 { cut = cut.dropLast() }
        if let last = cut.last, last >= 0xC0 { cut = cut.dropLast() }
        return String(decoding: cut, as: UTF8.self) + "..."
    }

    /// Bounds the final report: give up at `time`.
    func setDeadline(_ time: Double) {
        deadline = min(deadline ?? time, time)
    }

    private func update(_ state: WorkerProtocol.TaskState, log: [UInt8], frames: Set<Int>) -> WorkerProtocol.TaskUpdate {
        WorkerProtocol.TaskUpdate(
            sender: sender, taskID: assignment.taskID, jobID: assignment.jobID, lease: assignment.lease, state: state,
            framesDone: frames.sorted(), log: String(decoding: log, as: UTF8.self), logOffset: acknowledgedBytes)
    }

    /// The pending log up to ``maxChunkBytes``, cut after a whole line when it must be cut, and
    /// never inside a character.
    private func nextChunk() -> [UInt8] {
        guard pendingLog.count > TaskReporter.maxChunkBytes else { return pendingLog }
        let window = pendingLog.prefix(TaskReporter.maxChunkBytes)
        if let newline = window.lastIndex(of: UInt8(ascii: "\n")) { return Array(pendingLog[...newline]) }
        var end = TaskReporter.maxChunkBytes
        while end > 0 && pendingLog[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(pendingLog[..<end])
    }

    /// The server has `stored` bytes of this attempt's log: drop them from the pending log.
    /// Acknowledging the same bytes twice changes nothing. Should the server hold less than it
    /// acknowledged before (it lost text), a line in the log says so and the rest follows.
    private func acknowledge(stored: Int) {
        if stored < acknowledgedBytes {
            let lost = acknowledgedBytes - stored
            logger.warning("the server lost \(lost) bytes of the log of task \(assignment.taskID); a note in the log marks the place")
            pendingLog = Array("[brender: the server lost \(lost) bytes of this log here]\n".utf8) + pendingLog
            acknowledgedBytes = stored
            return
        }
        let bytes = min(stored - acknowledgedBytes, pendingLog.count)
        guard bytes > 0 else { return }
        pendingLog.removeFirst(bytes)
        acknowledgedBytes += bytes
    }
}
