/// Frames the farm rendered in the last hour, in one-minute buckets: what the dashboard's
/// "frames in the last hour" and "frames per minute" read.
///
/// Fed with each verified frame as it is committed; at start it is refilled from the tasks that
/// completed in the last hour (by their finish time, so frames of a task still running then are
/// counted only as they land).
struct FrameThroughput: Equatable {
    static let bucketSeconds = 60.0
    static let bucketCount = 60
    /// Frames per minute, by minute number (seconds since 1970 / 60) modulo ``bucketCount``.
    private var frames: [Int]
    /// The minute number each bucket holds; a bucket of an older minute counts as empty.
    private var minutes: [Int64]

    init() {
        frames = Array(repeating: 0, count: Self.bucketCount)
        minutes = Array(repeating: -1, count: Self.bucketCount)
    }

    private static func minute(_ time: Double) -> Int64 { Int64((time / bucketSeconds).rounded(.down)) }

    /// Counts `count` frames rendered at `time`. Frames older than the window are dropped.
    mutating func record(_ count: Int, at time: Double, now: Double) {
        let minute = Self.minute(time)
        guard count > 0, minute > Self.minute(now) - Int64(Self.bucketCount) else { return }
        let slot = Int(minute % Int64(Self.bucketCount))
        if minutes[slot] != minute {
            minutes[slot] = minute
            frames[slot] = 0
        }
        frames[slot] += count
    }

    /// Frames rendered in the last `minutes` whole minutes including the current one (at most
    /// ``bucketCount``).
    func frames(inLast span: Int, now: Double) -> Int {
        let current = Self.minute(now)
        let oldest = current - Int64(min(span, Self.bucketCount)) + 1
        var total = 0
        for slot in 0..<Self.bucketCount where minutes[slot] >= oldest && minutes[slot] <= current { total += frames[slot] }
        return total
    }

    /// The recent rate in frames per minute: the frames of the last 10 minutes over the time
    /// since the first of them began (so a farm that started rendering two minutes ago shows
    /// its pace, not a tenth of it), at least a minute.
    func framesPerMinute(now: Double) -> Double {
        let span = 10
        let current = Self.minute(now)
        let oldest = current - Int64(span) + 1
        var total = 0
        var first: Int64?
        for slot in 0..<Self.bucketCount where minutes[slot] >= oldest && minutes[slot] <= current && frames[slot] > 0 {
            total += frames[slot]
            first = min(first ?? minutes[slot], minutes[slot])
        }
        guard let first else { return 0 }
        let elapsed = max(60, now - Double(first) * Self.bucketSeconds)
        return Double(total) / (elapsed / 60)
    }
}
