import Foundation
import Logging

/// Makes a small JPEG of each frame this worker renders and sends it to the server, for the
/// dashboard's contact sheet.
///
/// ffmpeg reads the frame (PNG, JPEG, OpenEXR with its linear light mapped to sRGB, and most other
/// formats Blender writes) and scales it to fit ``maxWidth`` x ``maxHeight``. Previews are made one
/// at a time, after the frame is verified, at a lower CPU priority than the render, and never hold
/// up a task: a preview that cannot be made or sent is logged and skipped. The queue is bounded,
/// so a worker rendering faster than it can make previews drops the oldest.
actor FramePreviewMaker {
    static let maxWidth = 320
    static let maxHeight = 240
    static let queueLimit = 64

    struct Frame: Hashable {
        let taskID: Int64
        let lease: Int32
        let frame: Int
        let path: String
    }

    private let ffmpeg: String
    private let client: BrenderClient
    private let sender: WorkerProtocol.Sender
    private let scratchDirectory: URL
    private let logger: Logger
    private var queue: [Frame] = []
    private var seen: Set<Frame> = []
    private var running = false

    init(ffmpeg: String, client: BrenderClient, sender: WorkerProtocol.Sender, scratchDirectory: URL, logger: Logger) {
        self.ffmpeg = ffmpeg
        self.client = client
        self.sender = sender
        self.scratchDirectory = scratchDirectory
        self.logger = logger
    }

    /// The ffmpeg arguments that turn `source` into a preview JPEG at `destination`.
    static func arguments(source: String, destination: String) -> [String] {
        [
            "-nostdin", "-v", "error", "-y",
            // OpenEXR frames hold linear light: shown as sRGB, like Blender's own view. Other decoders ignore it.
            "-apply_trc", "iec61966_2_1",
            "-i", source,
            "-vf", "scale=w=\(maxWidth):h=\(maxHeight):force_original_aspect_ratio=decrease",
            "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "5", "-f", "image2", destination,
        ]
    }

    /// Queues a verified frame; a frame already queued or sent for this attempt is ignored.
    func add(_ frame: Frame) {
        guard seen.insert(frame).inserted else { return }
        queue.append(frame)
        if queue.count > Self.queueLimit { queue.removeFirst(queue.count - Self.queueLimit) }
        if seen.count > 10 * Self.queueLimit { seen = Set(queue) }
        guard !running else { return }
        running = true
        Task { await drain() }
    }

    private func drain() async {
        while !queue.isEmpty {
            let frame = queue.removeFirst()
            await make(frame)
        }
        running = false
    }

    private func make(_ frame: Frame) async {
        let destination = scratchDirectory.appendingPathComponent("brender-preview-\(getpid())-\(frame.taskID)-\(frame.frame).jpg").path
        defer { try? FileManager.default.removeItem(atPath: destination) }
        do {
            let (exit, lines) = try await ProcessRunner.capture(
                "nice", arguments: ["-n", "10", ffmpeg] + Self.arguments(source: frame.path, destination: destination), stop: StopSignal())
            guard exit == .exited(0), let image = FileManager.default.contents(atPath: destination), !image.isEmpty else {
                logger.info(
                    "could not make a preview of a frame",
                    metadata: ["frame": "\(frame.path)", "ffmpeg": "\(lines.suffix(2).joined(separator: " | "))"])
                return
            }
            let upload = WorkerProtocol.FramePreview(sender: sender, taskID: frame.taskID, frame: frame.frame, image: image)
            _ = try await client.post("/worker/preview", upload, as: WorkerProtocol.Acknowledgement.self, timeout: 30)
        } catch {
            logger.info("could not send a frame's preview", metadata: ["frame": "\(frame.path)", "error": "\(error)"])
        }
    }
}
