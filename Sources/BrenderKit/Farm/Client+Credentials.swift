import FarmCore

extension Client {
    /// What is stored of a worker key.
    public static func keyDigest(_ key: String) -> String {
        SHA256.credentialDigest(key)
    }
}
