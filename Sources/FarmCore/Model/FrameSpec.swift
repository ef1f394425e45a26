/// A set of frames as people write them: `1-250`, `1..250`, `7`, `1-10,20,30..40`, `1-100x5`.
///
/// Parsing sorts the frames and drops duplicates, so every frame is rendered once.
public struct FrameSpec: Sendable, Equatable {
    /// The frames, ascending, each once.
    public let frames: [Int]

    /// The largest frame Blender accepts (its MAXFRAME).
    public static let maxFrame = 1_048_574
    /// The most frames one job may have.
    public static let maxCount = 1_048_575

    /// Why a frame spec was refused; the message shows the bad part.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public init(frames: [Int]) {
        self.frames = Array(Set(frames)).sorted()
    }

    public init(parsing text: String) throws(ParseError) {
        let trimmed = text.trimmingCharacters(in: " ")
        guard !trimmed.isEmpty else {
            throw ParseError(message: "the frame spec is empty; write frames like 1-250, 1..250, 7, 1-10,20 or 1-100x5")
        }
        var frames: [Int] = []
        for rawPart in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let part = rawPart.trimmingCharacters(in: " ")
            guard !part.isEmpty else {
                throw ParseError(message: "empty part in frame spec '\(text)' (two commas in a row, or a comma at an end)")
            }
            frames += try FrameSpec.expand(part)
            if frames.count > FrameSpec.maxCount * 2 {
                throw ParseError(message: "frame spec '\(text)' has more than \(FrameSpec.maxCount) frames")
            }
        }
        self.init(frames: frames)
        if self.frames.count > FrameSpec.maxCount {
            throw ParseError(message: "frame spec '\(text)' has \(self.frames.count) frames; the most a job may have is \(FrameSpec.maxCount)")
        }
    }

    /// Frames written short for people: runs of consecutive frames as `a-b`, e.g. `1-3,7,9-12`.
    public static func describe(_ frames: [Int]) -> String {
        let sorted = Array(Set(frames)).sorted()
        var parts: [String] = []
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? String(sorted[index]) : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    private static func expand(_ part: String) throws(ParseError) -> [Int] {
        let hint = "write N, A-B, A..B, or A-BxSTEP"
        var body = Substring(part)
        var step = 1
        if let x = body.firstIndex(where: { $0 == "x" || $0 == "X" }) {
            guard let parsed = Int(body[body.index(after: x)...]), parsed > 0 else {
                throw ParseError(message: "bad step in '\(part)': the step after 'x' must be a whole number of at least 1")
            }
            step = parsed
            body = body[..<x]
        }
        let bounds: [Substring]
        if body.contains("..") {
            bounds = body.split(separator: "..", maxSplits: 1, omittingEmptySubsequences: false).map { $0 }
        } else if body.contains("-") {
            bounds = body.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        } else {
            bounds = [body]
        }
        func number(_ text: Substring) throws(ParseError) -> Int {
            let cleaned = text.trimmingCharacters(in: " ")
            guard let value = Int(cleaned), cleaned.allSatisfy(\.isNumber) else {
                throw ParseError(message: "'\(part)' is not a frame or a range (\(hint))")
            }
            guard value <= maxFrame else {
                throw ParseError(message: "frame \(value) in '\(part)' is beyond Blender's last frame \(maxFrame)")
            }
            return value
        }
        if bounds.count == 1 {
            if step != 1 {
                throw ParseError(message: "a step needs a range in '\(part)' (\(hint))")
            }
            return [try number(bounds[0])]
        }
        let start = try number(bounds[0])
        let end = try number(bounds[1])
        guard start <= end else {
            throw ParseError(message: "reversed range '\(part)': the first frame must not be after the last")
        }
        return Array(stride(from: start, through: end, by: step))
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice.removeFirst() }
        while slice.last == character { slice.removeLast() }
        return String(slice)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(self).trimmingCharacters(in: character)
    }
}

/// A run of frames one task renders: `start`, `start + step`, ... up to `end`.
public struct FrameChunk: Sendable, Equatable, Hashable {
    public let start: Int
    public let end: Int
    public let step: Int

    public init(start: Int, end: Int, step: Int = 1) {
        self.start = start
        self.end = end
        self.step = max(1, step)
    }

    public var frames: StrideThrough<Int> { stride(from: start, through: end, by: step) }
    public var count: Int { (end - start) / step + 1 }

    /// Whether `frame` is one of the chunk's frames (in constant time).
    public func contains(_ frame: Int) -> Bool {
        frame >= start && frame <= end && (frame - start) % step == 0
    }

    /// The frames in Blender's `-f` syntax: `7`, `1..5`, or `1,6,11`.
    public var blenderFrameArgument: String {
        if start == end { return String(start) }
        if step == 1 { return "\(start)..\(end)" }
        return frames.map(String.init).joined(separator: ",")
    }

    /// `7`, `1-5`, `1-11x5`, for people.
    public var description: String {
        if start == end { return String(start) }
        return step == 1 ? "\(start)-\(end)" : "\(start)-\(end)x\(step)"
    }
}

/// Splits sorted frames into tasks of at most `size` consecutive frames.
///
/// Consecutive means neighbours in the frame list, keeping an even step inside a chunk, so each
/// chunk is one `start..end` by `step`. No frame is in two chunks and none is left out.
public func chunk(_ frames: [Int], size: Int) -> [FrameChunk] {
    precondition(size >= 1)
    var chunks: [FrameChunk] = []
    chunks.reserveCapacity(frames.count / size + 1)
    var index = 0
    while index < frames.count {
        let start = frames[index]
        var end = start
        var step = 0
        var count = 1
        index += 1
        while index < frames.count && count < size {
            let gap = frames[index] - end
            if step == 0 { step = gap } else if gap != step { break }
            end = frames[index]
            count += 1
            index += 1
        }
        chunks.append(FrameChunk(start: start, end: end, step: max(1, step)))
    }
    return chunks
}
