/// The platforms path mapping knows.
public enum PathPlatform: String, Sendable, CaseIterable {
    case linux, darwin, windows

    /// The platform of a client, from the platform text its worker reports (`linux-x86_64`,
    /// `darwin-arm64`, `windows-x86_64`, ...).
    public init(clientPlatform: String) {
        let lowered = clientPlatform.lowercased()
        if lowered.hasPrefix("darwin") || lowered.hasPrefix("macos") {
            self = .darwin
        } else if lowered.hasPrefix("windows") || lowered.hasPrefix("win") {
            self = .windows
        } else {
            self = .linux
        }
    }

    public var separator: Character { self == .windows ? "\\" : "/" }
}

/// One shared storage location under its name on each platform, e.g. `projects`:
/// `/mnt/projects` on Linux, `/Volumes/projects` on macOS, `P:\` on Windows.
public struct PathMap: Sendable, Equatable {
    public var name: String
    public var prefixes: [PathPlatform: String]

    public init(name: String, prefixes: [PathPlatform: String]) {
        self.name = name
        self.prefixes = prefixes.filter { !$0.value.isEmpty }
    }
}

/// Rewrites a task's paths for the platform of the client that runs it. Pure.
///
/// A path is matched against every prefix of every map, on any platform, at a path-component
/// boundary; the longest match wins and is replaced by the same map's prefix for the target
/// platform, with the rest of the path's separators made the target's. Windows prefixes match
/// without regard to case or slash direction (`P:\Shots`, `p:/shots`, `\\nas\share`). A path
/// that no map covers, or whose map has no prefix for the target, is sent unchanged.
public enum PathMapping {
    public static func rewrite(_ path: String, for target: PathPlatform, maps: [PathMap]) -> String {
        var best: (map: PathMap, length: Int)?
        for map in maps {
            for (platform, prefix) in map.prefixes {
                guard let length = matchLength(of: prefix, platform: platform, in: path) else { continue }
                if best == nil || length > best!.length { best = (map, length) }
            }
        }
        guard let best, let replacement = best.map.prefixes[target] else { return path }
        var rest = String(path.dropFirst(best.length))
        let separator = target.separator
        rest = String(rest.map { $0 == "/" || $0 == "\\" ? separator : $0 })
        var prefix = replacement
        while let last = prefix.last, last == "/" || last == "\\", prefix.count > 1 { prefix.removeLast() }
        if prefix.last == "/" || prefix.last == "\\" {
            while rest.first == separator { rest.removeFirst() }
        } else if !rest.isEmpty && rest.first != separator {
            rest = String(separator) + rest
        }
        return prefix + rest
    }

    /// How many characters of `path` the prefix covers, or nil when it does not match at a
    /// component boundary.
    public static func matchLength(of prefix: String, platform: PathPlatform, in path: String) -> Int? {
        var trimmed = prefix
        while let last = trimmed.last, last == "/" || last == "\\", trimmed.count > 1 { trimmed.removeLast() }
        guard !trimmed.isEmpty, path.count >= trimmed.count else { return nil }
        let head = String(path.prefix(trimmed.count))
        let matches =
            platform == .windows
            ? normalizedWindows(head) == normalizedWindows(trimmed)
            : head == trimmed
        guard matches else { return nil }
        if path.count == trimmed.count { return trimmed.count }
        let next = path[path.index(path.startIndex, offsetBy: trimmed.count)]
        let boundary = next == "/" || (platform == .windows && next == "\\") || trimmed.last == "/" || trimmed.last == "\\"
        return boundary ? trimmed.count : nil
    }

    private static func normalizedWindows(_ text: String) -> String {
        String(text.lowercased().map { $0 == "\\" ? "/" : $0 })
    }

    /// Whether a path is absolute on some platform: `/...`, `C:\...`, `C:/...` or `\\server\share`.
    public static func isAbsolute(_ path: String) -> Bool {
        if path.hasPrefix("/") || path.hasPrefix("\\\\") { return true }
        let characters = Array(path.prefix(3))
        return characters.count == 3 && characters[0].isASCII && characters[0].isLetter && characters[1] == ":"
            && (characters[2] == "\\" || characters[2] == "/")
    }
}
