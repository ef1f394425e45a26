import FarmCore
import Foundation

/// The command line that renders a task's frames with Blender, and where each frame's file lands.
///
/// Blender reads its arguments left to right: the .blend file first, then scene, threads,
/// output and format, and the frames last; an `-o` after `-f` would be ignored. A slot pinned to
/// a GPU adds brender's device check (`--python`) before the render and `-- --cycles-device TYPE`
/// at the end, where Cycles reads it.
public struct BlenderInvocation: Sendable, Equatable {
    public let arguments: [String]
    /// The file each frame must produce.
    public let expectedFiles: [Int: String]

    /// - Parameters:
    ///   - allowScripts: run the Python in the file (`-y`, before the file is loaded).
    ///   - slot: the worker's slot that renders it: its threads and GPU.
    ///   - deviceCheck: the path of ``BlenderDeviceCheck/script``, run when the slot has a GPU.
    public init(
        file: String, chunk: FrameChunk, output: String, format: String, scene: String?, allowScripts: Bool = false,
        slot: RenderSlot = RenderSlot(index: 0), deviceCheck: String? = nil
    ) {
        var arguments = (allowScripts ? ["-y"] : []) + ["-b", "-noaudio", file]
        if let scene { arguments += ["-S", scene] }
        arguments += slot.threadArguments
        if slot.cyclesDevice != nil, let deviceCheck { arguments += ["--python", deviceCheck] }
        arguments += ["-o", output, "-F", format, "-f", chunk.blenderFrameArgument]
        arguments += slot.cyclesArguments
        self.arguments = arguments
        let fileExtension = Job.formats[format] ?? format.lowercased()
        var expected: [Int: String] = [:]
        for frame in chunk.frames {
            expected[frame] = BlenderInvocation.path(for: frame, pattern: output, fileExtension: fileExtension)
        }
        expectedFiles = expected
    }

    public init(_ assignment: WorkerProtocol.Assignment, slot: RenderSlot = RenderSlot(index: 0), deviceCheck: String? = nil) {
        self.init(
            file: assignment.file, chunk: assignment.chunk, output: assignment.output, format: assignment.format, scene: assignment.scene,
            allowScripts: assignment.allowScripts, slot: slot, deviceCheck: deviceCheck)
    }

    /// The path Blender writes `frame` to: the last run of `#` becomes the zero-padded frame
    /// number (four digits are appended when there is none), then the extension unless present.
    public static func path(for frame: Int, pattern: String, fileExtension: String) -> String {
        var characters = Array(pattern)
        let number: String
        if let last = characters.lastIndex(of: "#") {
            var first = last
            while first > 0 && characters[first - 1] == "#" { first -= 1 }
            let width = last - first + 1
            number = frame < 0 ? "-" + pad(-frame, width - 1) : pad(frame, width)
            characters.replaceSubrange(first...last, with: Array(number))
        } else {
            characters += Array(frame < 0 ? "-" + pad(-frame, 3) : pad(frame, 4))
        }
        var path = String(characters)
        if !path.lowercased().hasSuffix("." + fileExtension) { path += "." + fileExtension }
        return path
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

/// Checks that a rendered frame's file is really there.
public enum OutputVerifier {
    /// Why a file does not count as a rendered frame, or nil when it does: it must exist, be
    /// non-empty, and for PNG and JPEG end the way a complete file ends (a full disk leaves
    /// truncated files behind while Blender still says `Saved:`).
    public static func problem(with path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "\(path) is missing" }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd(), size > 0 else { return "\(path) is empty" }
        let lower = path.lowercased()
        if lower.hasSuffix(".png") {
            guard size >= 12, (try? handle.seek(toOffset: size - 12)) != nil, let tail = try? handle.readToEnd(),
                tail.count == 12, tail[tail.startIndex + 4..<tail.startIndex + 8] == Data("IEND".utf8)
            else { return "\(path) is not a complete PNG (no IEND chunk at its end)" }
        } else if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") {
            guard size >= 2, (try? handle.seek(toOffset: size - 2)) != nil, let tail = try? handle.readToEnd(), tail == Data([0xFF, 0xD9])
            else { return "\(path) is not a complete JPEG" }
        }
        return nil
    }
}
