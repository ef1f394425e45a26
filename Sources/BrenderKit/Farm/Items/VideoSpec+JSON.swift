import FarmCore

extension VideoSpec {
    /// How a job's video settings are given and shown: `{"path", "fps", "codec"}`.
    public var json: JSONValue { ["path": .string(path), "fps": .int(Int64(fps)), "codec": .string(codec)] }

    public init?(json: JSONValue) {
        guard let path = json["path"]?.stringValue else { return nil }
        self.init(path: path, fps: Int(json["fps"]?.intValue ?? 24), codec: json["codec"]?.stringValue ?? "h264")
    }
}
