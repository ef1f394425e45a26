/// A whole number a job submission may give: the range it may take and what it is when not given.
public struct BoundedSetting: Sendable {
    public let range: ClosedRange<Int>
    public let standard: Int

    public init(_ range: ClosedRange<Int>, standard: Int) {
        precondition(range.contains(standard))
        self.range = range
        self.standard = standard
    }
}

extension Job {
    /// What a new job gets for what its submission does not say, and the ranges it may say:
    /// declared once, for the API's schema, its checks and the command line's options and help.
    public enum Settings {
        /// 0 to 100, higher first.
        public static let priority = BoundedSetting(0...100, standard: 50)
        /// Frames per task.
        public static let chunk = BoundedSetting(1...100_000, standard: 1)
        /// Attempts before a task fails for good.
        public static let maxAttempts = BoundedSetting(1...100, standard: 3)
        /// Failed tasks after which a client gets no more of the job.
        public static let blocklistThreshold = BoundedSetting(1...100, standard: 3)
        /// Seconds a task may run; 0 for no limit (up to 30 days).
        public static let taskTimeout = BoundedSetting(0...2_592_000, standard: 0)
        /// The image format when neither the submission nor the scene says.
        public static let format = "PNG"
        public static let kind = Kind.blender
    }
}

extension VideoSpec {
    /// Frames per second of a job's video.
    public static let fpsSetting = BoundedSetting(1...240, standard: 24)
    /// The codec when the submission names none.
    public static let standardCodec = "h264"
}
