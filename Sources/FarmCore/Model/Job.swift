/// A render job: what to render, how it is split into tasks, and the rules it runs by.
public struct Job: Sendable, Equatable {
    /// What the job's tasks run.
    public enum Kind: String, Sendable, CaseIterable {
        /// Blender renders the chunk's frames of a .blend file.
        case blender
        /// An arbitrary argv with `{start}`, `{end}` and `{frame}` placeholders.
        case command
    }

    public var id: Int64
    public var name: String
    public var kind: Kind
    public var status: JobStatus
    /// 0...100, higher first.
    public var priority: Int
    /// The .blend file (blender jobs).
    public var file: String
    /// The frame spec as submitted.
    public var frames: String
    public var chunkSize: Int
    /// Output path pattern with `#` for the frame number (blender jobs).
    public var output: String
    /// Blender's `-F` image format.
    public var format: String
    public var scene: String?
    /// The command (command jobs).
    public var argv: [String]
    /// Tags a client must all have to take this job's tasks.
    public var tags: [String]
    /// Failed attempts after which a task fails for good.
    public var maxAttempts: Int
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    /// Jobs that must complete before this one starts.
    public var after: [Int64] = []
    /// Stop the whole job at the first task that fails for good (else the other frames go on).
    public var failFast: Bool = false
    /// Start Blender afresh for every task instead of rendering in a warm one (scenes whose
    /// add-ons or scripts keep state between frames).
    public var cold: Bool = false
    /// The Blender version its tasks need (a prefix: `3.4` is any 3.4.x); nil for any Blender.
    public var blenderVersion: String?
    /// Run the Python in the .blend (Blender's `-y`): only on a server started with `--allow-scripts`.
    public var allowScripts: Bool = false
    /// Seconds a task may run before it is stopped and counted as failed; 0 for no limit.
    public var taskTimeout: Double = 0
    /// Failed tasks of this job after which a client gets no more of its tasks.
    public var blocklistThreshold: Int = 3
    /// Why the job waits, failed or was canceled, in words; nil when there is nothing to say.
    public var reason: String?
    /// An mp4 made from the rendered frames by a last task, when asked for.
    public var video: VideoSpec?
    /// Where the frames and format came from: "submitted", or a note on the scene probe.
    public var settingsSource: String = "submitted"
    /// The name of the token that submitted it ("admin" for the admin token; empty for jobs
    /// submitted before tokens had names).
    public var submittedBy: String = ""

    public init(
        id: Int64, name: String, kind: Kind, status: JobStatus, priority: Int, file: String, frames: String, chunkSize: Int,
        output: String, format: String, scene: String?, argv: [String], tags: [String], maxAttempts: Int, createdAt: Double,
        startedAt: Double? = nil, finishedAt: Double? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.status = status
        self.priority = priority
        self.file = file
        self.frames = frames
        self.chunkSize = chunkSize
        self.output = output
        self.format = format
        self.scene = scene
        self.argv = argv
        self.tags = tags
        self.maxAttempts = maxAttempts
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// The image formats a job may render, with the file extension Blender gives each.
    public static let formats: [String: String] = [
        "PNG": "png", "JPEG": "jpg", "OPEN_EXR": "exr", "OPEN_EXR_MULTILAYER": "exr", "TIFF": "tif", "BMP": "bmp",
        "TARGA": "tga", "TARGA_RAW": "tga", "HDR": "hdr", "WEBP": "webp", "JPEG2000": "jp2", "DPX": "dpx", "CINEON": "cin",
        "IRIS": "rgb",
    ]
}

/// The video a job's last task encodes from its frames.
public struct VideoSpec: Sendable, Equatable {
    /// The .mp4 file to write (absolute).
    public var path: String
    public var fps: Int
    /// ffmpeg's codec family: only `h264` for now.
    public var codec: String

    public static let codecs = ["h264"]

    public init(path: String, fps: Int = VideoSpec.fpsSetting.standard, codec: String = VideoSpec.standardCodec) {
        self.path = path
        self.fps = fps
        self.codec = codec
    }
}
