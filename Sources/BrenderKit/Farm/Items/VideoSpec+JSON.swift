import FarmCore

extension VideoSpec {
    /// How a job's video settings are given and shown: `{"path", "fps", "codec"}`.
    public var json: JSONValue { ["path": .string(path), "fps": .int(Int64(fps)), "codec": .string(codec)] }

    public init?(json: JSONValue) {
        guard let path = json["path"]?.stringValue else { return nil }
        self.init(
            path: path, fps: json["fps"]?.intValue.map(Int.init) ?? VideoSpec.fpsSetting.standard,
            codec: json["codec"]?.stringValue ?? VideoSpec.standardCodec)
    }
}
