/// Blender versions as workers offer them and jobs ask for them.
///
/// A worker reports each Blender build it has as a capability `blender-VERSION` (`blender-3.4.1`);
/// a job's `blender_version` is a prefix at a dot boundary: `3.4` matches 3.4 and 3.4.1, not 3.41.
public enum BlenderVersions {
    public static let prefix = "blender-"

    /// The capability that says a worker has `version`.
    public static func capability(_ version: String) -> String { prefix + version }

    /// The versions among a client's capabilities.
    public static func offered(in capabilities: [String]) -> [String] {
        capabilities.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// Whether `version` (a full version, 3.4.1) satisfies `requested` (3, 3.4 or 3.4.1).
    public static func matches(_ version: String, requested: String) -> Bool {
        version == requested || version.hasPrefix(requested + ".")
    }

    /// Whether a client with `capabilities` has a Blender that satisfies `requested`.
    public static func satisfies(_ capabilities: [String], requested: String) -> Bool {
        offered(in: capabilities).contains { matches($0, requested: requested) }
    }

    /// The version in `blender --version`'s first line (`Blender 3.4.1`), or nil.
    public static func parse(versionOutput lines: [String]) -> String? {
        for line in lines {
            let words = line.split(separator: " ")
            if words.count >= 2, words[0] == "Blender", let first = words[1].first, first.isNumber,
                words[1].allSatisfy({ $0.isNumber || $0 == "." })
            {
                return String(words[1])
            }
        }
        return nil
    }
}
