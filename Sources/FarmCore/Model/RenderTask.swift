/// One chunk of a job's frames, given to one worker at a time.
///
/// Kept small (a million are held in memory): frame numbers as Int32, times as 0 for "not yet".
public struct RenderTask: Sendable, Equatable {
    /// What a task does.
    public enum Role: String, Sendable, CaseIterable {
        /// Renders its frames (or runs its command).
        case render
        /// Encodes the job's rendered frames into a video; runs once every render task completed.
        case video
    }

    public var id: Int64
    public var jobID: Int64
    public var frameStart: Int32
    public var frameEnd: Int32
    public var frameStep: Int32
    public var role: Role
    public var status: TaskStatus
    /// The client running it (active) or that ran it last; 0 for none.
    public var clientID: Int64
    /// The slot of that client (0 for a client with one): its worker runs one task per slot.
    public var slot: Int16
    /// How many times it was handed out; a worker's updates must carry the current lease.
    public var lease: Int32
    /// Failed attempts so far.
    public var failures: Int32
    /// Frames rendered and verified in the current or last attempt.
    public var framesDone: Int32
    public var startedAt: Double
    public var finishedAt: Double
    /// Why the last attempt failed, or why the task was canceled.
    public var error: String?
    /// Clients on which an attempt failed; the task goes to others first.
    public var failedOn: [Int64]

    public init(id: Int64, jobID: Int64, chunk: FrameChunk, role: Role = .render) {
        self.id = id
        self.jobID = jobID
        frameStart = Int32(chunk.start)
        frameEnd = Int32(chunk.end)
        frameStep = Int32(chunk.step)
        self.role = role
        status = .queued
        clientID = 0
        slot = 0
        lease = 0
        failures = 0
        framesDone = 0
        startedAt = 0
        finishedAt = 0
        error = nil
        failedOn = []
    }

    public var chunk: FrameChunk { FrameChunk(start: Int(frameStart), end: Int(frameEnd), step: Int(frameStep)) }

    /// Whether the task is back in the queue from an attempt that may go on: its worker only
    /// went silent, and no one has taken it since (see ``TaskEvent/reclaim``).
    public var isResumable: Bool { status == .queued && lease > 0 && finishedAt == 0 }

    /// Frames the task produces: its chunk's frames for a render task; none for a video task.
    public var frameCount: Int { role == .render ? chunk.count : 0 }
}
