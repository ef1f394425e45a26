import Foundation

/// What a line of Blender's output means to the worker.
///
/// Follows Debian Blender 3.4.1's headless output: `Fra:` progress lines, `Saved: '...'` when a
/// frame's file is written, `Error: ...` for failures that often still exit 0.
public enum BlenderLine: Equatable, Sendable {
    /// Rendering of a frame is under way; `sample`/`samples` when Cycles reports them.
    case progress(frame: Int, sample: Int?, samples: Int?)
    /// A frame's image was written to this path (not yet verified).
    case saved(path: String)
    /// `Append frame N`: a frame added to a movie file.
    case appendedFrame(Int)
    /// An error: the render failed, whatever the exit code says.
    case error(String)
    /// `Warning: ...`.
    case warning(String)
    /// brender's device check: Cycles renders on these GPUs (`BRENDER-DEVICE gpu "..."`).
    case gpu(String)
    /// Cycles would render on the CPU though the slot is pinned to a GPU: brender's device check
    /// found no device (`BRENDER-DEVICE cpu "why"`), or Cycles itself found none of the type
    /// given with `--cycles-device` (`Error: Found no Cycles device of the specified type`).
    case cpuFallback(String)
    /// Anything else.
    case other
}

public enum BlenderOutputParser {
    /// What Cycles says when `--cycles-device` names a type it has no device of.
    static let noDeviceOfType = "Found no Cycles device of the specified type"
    /// The start of the line ``BlenderDeviceCheck`` prints.
    static let deviceMarker = "BRENDER-DEVICE "

    public static func parse(_ line: String) -> BlenderLine {
        if line.hasPrefix("Fra:") {
            let afterTag = line.dropFirst(4)
            let digits = afterTag.prefix { $0 == "-" || $0.isNumber }
            guard let frame = Int(digits) else { return .other }
            if let range = line.range(of: "Sample ", options: .backwards) {
                let counts = line[range.upperBound...].split(separator: "/")
                if counts.count == 2, let sample = Int(counts[0]), let samples = Int(counts[1].prefix { $0.isNumber }) {
                    return .progress(frame: frame, sample: sample, samples: samples)
                }
            }
            return .progress(frame: frame, sample: nil, samples: nil)
        }
        if line.hasPrefix("Saved: '") && line.hasSuffix("'") && line.count >= 9 {
            return .saved(path: String(line.dropFirst(8).dropLast()))
        }
        if line.hasPrefix("Append frame "), let frame = Int(line.dropFirst(13)) {
            return .appendedFrame(frame)
        }
        if line.hasPrefix("Error: ") {
            let message = String(line.dropFirst(7))
            return message.hasPrefix(noDeviceOfType) ? .cpuFallback(message) : .error(message)
        }
        if line.hasPrefix(deviceMarker) {
            let words = line.dropFirst(deviceMarker.count).split(separator: " ", maxSplits: 1).map(String.init)
            guard words.count == 2 else { return .other }
            let detail = (try? JSONValue.parse(Data(words[1].utf8)))?.stringValue ?? words[1]
            switch words[0] {
            case "gpu": return .gpu(detail)
            case "cpu": return .cpuFallback(detail)
            default: return .other
            }
        }
        if line.hasPrefix("Warning: ") {
            return .warning(String(line.dropFirst(9)))
        }
        return .other
    }
}
