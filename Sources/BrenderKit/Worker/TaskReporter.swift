import Foundation
import Logging

/// Carries a running task's log and verified frames to the server: in batches every second (or
/// sooner past a few KiB), kept while the server is unreachable and delivered when it is back.
///
/// It also watches for silence: a process that prints nothing for `silenceTimeout` seconds is
/// stopped as hung (the worker itself keeps reporting, so the server would never notice).
///
/// Updates are idempotent (the full set of verified frames, and log chunks with their byte
/// offset), so a batch whose answer was lost is simply sent again.
actor TaskReporter {
    let client: BrenderClient
    let clientID: Int64
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
        client: BrenderClient, clientID: Int64, assignment: WorkerProtocol.Assignment, stop: StopSignal, logger: Logger,
        silenceTimeout: Double = 1800
    ) {
        self.client = client
        self.clientID = clientID
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
            let marker = Array("[brender: older log lines dropped while the server was unreachable]\n".utf8)
            let drop = pendingLog.count - maxPendingLog / 2
            acknowledgedBytes += drop
            pendingLog = marker + pendingLog.dropFirst(drop)
            acknowledgedBytes -= marker.count
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
        let frames = framesDone
        do {
            let reply = try await client.post(
                "/worker/task/update", update(.running, log: chunk, frames: frames), as: WorkerProtocol.TaskUpdateReply.self, timeout: 10)
            acknowledge(upTo: chunkEnd)
            if reply.stop || !reply.accepted {
                stop.stop(reason: "the server asked to stop this task (canceled, or given to another worker)")
            }
        } catch {
            // A 404: the server no longer knows this worker. Unreachable: keep everything, try again.
            if error.status == 404 { stop.stop(reason: "the server no longer knows this worker or task") }
        }
    }

    /// Reports the task's outcome, retrying until the server answers or `deadline` passes.
    /// - Returns: the server's answer (with the next task when `nextWait` asked for one), or nil.
    func finish(_ state: WorkerProtocol.TaskState, error: String?, nextWait: Double?, deadline: Double?) async -> WorkerProtocol.TaskUpdateReply? {
        if let deadline { setDeadline(deadline) }
        while flushing { try? await Task.sleep(for: .milliseconds(10)) }
        // Hold the flag to the end: a flush scheduled by `log` must not send beside the report.
        flushing = true
        defer { flushing = false }
        var backoff = Backoff()
        while true {
            let chunk = nextChunk()
            let chunkEnd = acknowledgedBytes + chunk.count
            // The outcome goes with the last of the log; a backlog goes first as progress.
            let isLast = chunk.count == pendingLog.count
            do {
                var message = update(isLast ? state : .running, log: chunk, frames: framesDone)
                if isLast {
                    message.error = error
                    message.nextWait = nextWait
                }
                let reply = try await client.post(
                    "/worker/task/update", message, as: WorkerProtocol.TaskUpdateReply.self, timeout: (isLast ? nextWait ?? 0 : 0) + 15)
                acknowledge(upTo: chunkEnd)
                if isLast { return reply }
                backoff.reset()
                continue
            } catch {
                if error.status != nil {
                    logger.warning("the server refused the task report: \(error)")
                    return nil
                }
                var delay = backoff.next()
                if let deadline = self.deadline {
                    if Timestamp.now >= deadline { return nil }
                    delay = min(delay, deadline - Timestamp.now)
                }
                logger.warning("cannot report task \(assignment.taskID) yet (\(error)); retrying in \(delay) s")
                try? await Task.sleep(for: .seconds(delay))
            }
        }
    }

    /// Bounds the final report: give up at `time`.
    func setDeadline(_ time: Double) {
        deadline = min(deadline ?? time, time)
    }

    private func update(_ state: WorkerProtocol.TaskState, log: [UInt8], frames: Set<Int>) -> WorkerProtocol.TaskUpdate {
        WorkerProtocol.TaskUpdate(
            clientID: clientID, taskID: assignment.taskID, jobID: assignment.jobID, lease: assignment.lease, state: state,
            framesDone: frames.sorted(), log: String(decoding: log, as: UTF8.self), logOffset: acknowledgedBytes)
    }

    /// The pending log up to ``maxChunkBytes``, cut after a whole line when it must be cut.
    private func nextChunk() -> [UInt8] {
        guard pendingLog.count > TaskReporter.maxChunkBytes else { return pendingLog }
        let window = pendingLog.prefix(TaskReporter.maxChunkBytes)
        guard let newline = window.lastIndex(of: UInt8(ascii: "\n")) else { return Array(window) }
        return Array(pendingLog[...newline])
    }

    /// The server has the log up to byte `offset` of this attempt: drop it from the pending log.
    /// Acknowledging the same bytes twice changes nothing.
    private func acknowledge(upTo offset: Int) {
        let bytes = min(offset - acknowledgedBytes, pendingLog.count)
        guard bytes > 0 else { return }
        pendingLog.removeFirst(bytes)
        acknowledgedBytes += bytes
    }
}
