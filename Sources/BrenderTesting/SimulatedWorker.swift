import BrenderKit

extension WorkerProtocol.Registration {
    /// A registration for a simulated worker whose key follows from its name, so a test can
    /// register the same worker again (a restart) or another with its name (a second process).
    public static func simulated(_ name: String, tags: [String]? = nil, key: String? = nil) -> Self {
        .init(
            name: name, hostname: "sim-host", platform: "linux-x86_64", tags: tags, version: "test",
            key: key ?? WorkerProtocol.Sender.simulatedKey(name), capabilities: ["commands"])
    }
}

extension WorkerProtocol.Sender {
    /// The key ``WorkerProtocol/Registration/simulated(_:tags:key:)`` gives a worker named `name`.
    public static func simulatedKey(_ name: String) -> String {
        let cleaned = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return String(("simulated-key-" + cleaned).prefix(128))
    }

    /// The sender of a simulated worker named `name`, registered as client `clientID`.
    public static func simulated(_ clientID: Int64, name: String) -> Self {
        .init(clientID: clientID, key: simulatedKey(name))
    }
}
