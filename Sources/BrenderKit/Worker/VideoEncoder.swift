import FarmCore
import Foundation

/// Encodes a job's rendered frames into an H.264 MP4 with Debian's ffmpeg: the last task of a
/// job submitted with `--video`.
///
/// The frame sequence is checked first (a missing or truncated frame is the task's error, naming
/// the frames); the frames are linked in order into the task's scratch folder, so any frame spec
/// (steps, gaps between ranges) encodes as one sequence; the video is written beside its final
/// name and renamed into place only once ffprobe counted every frame in it.
struct VideoEncoder: Sendable {
    /// ffmpeg and ffprobe, resolved.
    let ffmpeg: String
    let ffprobe: String
    var groups: WorkerStateDirectory? = nil

    /// Finds ffmpeg (`executable`: a path or a name in PATH) and the ffprobe beside it or in PATH.
    static func find(_ executable: String) -> VideoEncoder? {
        guard let ffmpeg = ProcessRunner.resolve(executable) else { return nil }
        let beside = URL(fileURLWithPath: ffmpeg).deletingLastPathComponent().appendingPathComponent("ffprobe").path
        guard let ffprobe = FileManager.default.isExecutableFile(atPath: beside) ? beside : ProcessRunner.resolve("ffprobe") else { return nil }
        return VideoEncoder(ffmpeg: ffmpeg, ffprobe: ffprobe)
    }

    func run(_ assignment: WorkerProtocol.Assignment, reporter: TaskReporter, stop: StopSignal, scratch: URL) async -> TaskOutcome {
        guard let video = assignment.video else { return TaskOutcome(state: .failed, error: "the task names no video to make") }
        let frames: [Int]
        do {
            frames = try FrameSpec(parsing: assignment.jobFrames).frames
        } catch {
            return TaskOutcome(state: .failed, error: "the job's frames '\(assignment.jobFrames)' cannot be read: \(error.message)")
        }
        let fileExtension = Job.formats[assignment.format] ?? assignment.format.lowercased()
        var missing: [Int] = []
        var firstProblem: String?
        var sources: [String] = []
        for frame in frames {
            let path = BlenderInvocation.path(for: frame, pattern: assignment.output, fileExtension: fileExtension)
            if let problem = OutputVerifier.problem(with: path) {
                missing.append(frame)
                firstProblem = firstProblem ?? problem
            }
            sources.append(path)
        }
        guard missing.isEmpty else {
            return TaskOutcome(
                state: .failed,
                error:
                    "frames \(FrameSpec.describe(missing)) are missing, so the video would have gaps (\(firstProblem ?? "")); requeue them and then this task"
            )
        }
        // Link the frames in order, numbered from 1, so the sequence has no holes.
        let sequence = scratch.appendingPathComponent("sequence")
        do {
            try FileManager.default.createDirectory(at: sequence, withIntermediateDirectories: true)
            for (index, source) in sources.enumerated() {
                try FileManager.default.createSymbolicLink(
                    atPath: sequence.appendingPathComponent(String(format: "%07d.%@", index + 1, fileExtension)).path, withDestinationPath: source)
            }
        } catch {
            return TaskOutcome(state: .failed, error: "cannot prepare the frame sequence in \(sequence.path): \(error.localizedDescription)")
        }
        let target = URL(fileURLWithPath: video.path)
        do {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            return TaskOutcome(state: .failed, error: "cannot create the folder of \(video.path): \(error.localizedDescription)")
        }
        let partial = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).partial.mp4")
        let arguments = [
            "-hide_banner", "-nostdin", "-y", "-framerate", String(video.fps), "-start_number", "1", "-i",
            sequence.appendingPathComponent("%07d.\(fileExtension)").path, "-c:v", "libx264", "-pix_fmt", "yuv420p",
            // H.264 in yuv420p needs even dimensions: round odd ones down.
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-movflags", "+faststart", partial.path,
        ]
        await reporter.log("[brender] \(ffmpeg) \(arguments.joined(separator: " "))")
        let exit: ProcessExit
        do {
            exit = try await ProcessRunner.run(ffmpeg, arguments: arguments, environment: ["TMPDIR": scratch.path], stop: stop, groups: groups) {
                await reporter.log($0)
            }
        } catch {
            return TaskOutcome(state: .failed, error: "cannot run ffmpeg '\(ffmpeg)': \(error); install it or start the worker with --ffmpeg PATH")
        }
        defer { try? FileManager.default.removeItem(at: partial) }
        guard exit == .exited(0) else {
            return TaskOutcome(state: .failed, error: "ffmpeg ended with \(exit) (its output is in this task's log)")
        }
        // ffprobe decodes the video and counts its frames.
        let counted = await countFrames(partial.path, stop: stop)
        guard counted == frames.count else {
            return TaskOutcome(
                state: .failed,
                error: "the encoded video has \(counted.map(String.init) ?? "an unknown number of") frames, not the job's \(frames.count)")
        }
        guard rename(partial.path, target.path) == 0 else {
            return TaskOutcome(state: .failed, error: "cannot move the video into place at \(video.path): \(String(cString: strerror(errno)))")
        }
        await reporter.log("[brender] wrote \(video.path): \(frames.count) frames at \(video.fps) fps, verified with ffprobe")
        return TaskOutcome(state: .completed, error: nil)
    }

    private func countFrames(_ path: String, stop: StopSignal) async -> Int? {
        let probe = try? await ProcessRunner.capture(
            ffprobe,
            arguments: [
                "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path,
            ], stop: stop, groups: groups)
        guard let probe, probe.exit == .exited(0) else { return nil }
        return probe.lines.lazy.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.first
    }
}
