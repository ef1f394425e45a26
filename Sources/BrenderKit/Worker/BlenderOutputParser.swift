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
    /// Anything else.
    case other
}

public enum BlenderOutputParser {
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
            return .error(String(line.dropFirst(7)))
        }
        if line.hasPrefix("Warning: ") {
            return .warning(String(line.dropFirst(9)))
        }
        return .other
    }
}
