import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The server's shared secrets, one file each in `DATA/tokens/` (the folder mode 0700, each file
/// 0600): the admin token, which every `/api` and log request needs, and the join token, which a
/// worker needs to register. Made on the server's first start; `brender server token rotate`
/// replaces one, and the running server uses the new one at once (it re-reads a file whose
/// modification time changed, looking at most once a second).
public final class ServerTokens: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Everything: the admin API, logs, and registering workers.
        case admin
        /// Registering a worker.
        case join
    }

    /// The folder of the token files.
    public let directory: URL
    private struct Cached {
        var token: String
        var modified: Double
        var checkedAt: Double
    }
    private let cache = Mutex<[Kind: Cached]>([:])

    /// The token folder of a data directory.
    public static func directory(of dataDirectory: URL) -> URL {
        dataDirectory.appendingPathComponent("tokens")
    }

    /// Opens the token folder of `dataDirectory`, making the folder and any missing token.
    public init(dataDirectory: URL) throws {
        directory = Self.directory(of: dataDirectory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o700)
        for kind in Kind.allCases where Self.read(kind, in: directory) == nil {
            try Self.write(Self.generate(), kind: kind, in: directory)
        }
    }

    /// The current token of a kind.
    public func token(_ kind: Kind) -> String {
        let now = Timestamp.now
        if let cached = cache.withLock({ $0[kind] }), now - cached.checkedAt < 1 { return cached.token }
        let path = Self.path(kind, in: directory)
        let modified = ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        if var cached = cache.withLock({ $0[kind] }), cached.modified == modified {
            cached.checkedAt = now
            cache.withLock { $0[kind] = cached }
            return cached.token
        }
        // A missing or unreadable file keeps the last token known (never an empty one).
        guard let token = Self.read(kind, in: directory) else {
            return cache.withLock { $0[kind]?.token } ?? Self.generate()
        }
        cache.withLock { $0[kind] = Cached(token: token, modified: modified, checkedAt: now) }
        return token
    }

    /// A new random token: 32 bytes from the system's generator, hex-encoded.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func path(_ kind: Kind, in directory: URL) -> String {
        directory.appendingPathComponent("\(kind.rawValue).token").path
    }

    /// The token in a folder's file, or nil when it is missing, unreadable or empty.
    public static func read(_ kind: Kind, in directory: URL) -> String? {
        read(file: path(kind, in: directory))
    }

    /// The token in a file, or nil when it is missing, unreadable or empty.
    public static func read(file: String) -> String? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// The token of the local data directory (`$BRENDER_DATA`, else `./brender-data`), when this
    /// user can read it: what commands and workers on the server machine use without being told.
    public static func local(_ kind: Kind) -> String? {
        let data = ProcessInfo.processInfo.environment["BRENDER_DATA"] ?? "./brender-data"
        return read(kind, in: directory(of: URL(fileURLWithPath: data)))
    }

    /// Writes a token file atomically, readable by its owner only.
    static func write(_ token: String, kind: Kind, in directory: URL) throws {
        let final = path(kind, in: directory)
        let temporary = final + ".new"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TokenError(message: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array((token + "\n").utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, rename(temporary, final) == 0 else {
            throw TokenError(message: "cannot write \(final): \(String(cString: strerror(errno)))")
        }
    }

    /// Replaces a token with a new random one; returns it.
    public static func rotate(_ kind: Kind, dataDirectory: URL) throws -> String {
        let directory = directory(of: dataDirectory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o700)
        let token = generate()
        try write(token, kind: kind, in: directory)
        return token
    }

    public struct TokenError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}

/// Checks credentials on the server's HTTP surface: compared in constant time, never logged,
/// and with a short delay for an address after repeated failures (a brute force gets a few
/// guesses a second, not thousands).
final class AuthGate: Sendable {
    let tokens: ServerTokens
    /// Failures within this many seconds count toward the delay.
    static let window = 60.0
    /// Failures an address may have in the window before each answer is delayed.
    static let allowedFailures = 5
    static let delay: Duration = .seconds(1)
    private let failures = Mutex<[String: [Double]]>([:])

    init(tokens: ServerTokens) {
        self.tokens = tokens
    }

    /// Whether `authorization` (the header's value) carries one of the tokens of `kinds`; after
    /// repeated failures from `address`, a refusal waits a second before it is answered.
    func admits(_ authorization: String?, as kinds: [ServerTokens.Kind], from address: String) async -> Bool {
        let presented = authorization.flatMap(Self.bearer) ?? ""
        var admitted = false
        for kind in kinds where Self.constantTimeEqual(presented, tokens.token(kind)) { admitted = true }
        if admitted { return true }
        let now = Timestamp.now
        let recent = failures.withLock { table -> Int in
            var times = (table[address] ?? []).filter { now - $0 < Self.window }
            times.append(now)
            table[address] = times
            if table.count > 10_000 { table = table.filter { $0.value.contains { now - $0 < Self.window } } }
            return times.count
        }
        if recent > Self.allowedFailures { try? await Task.sleep(for: Self.delay) }
        return false
    }

    /// The token of a `Bearer TOKEN` header value.
    static func bearer(_ value: String) -> String? {
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    /// Compares without stopping at the first difference, so the time taken tells nothing of
    /// how much of a guess was right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for index in 0..<max(x.count, y.count) {
            let left = index < x.count ? x[index] : 0
            let right = index < y.count ? y[index] : 0
            difference |= left ^ right
        }
        return difference == 0 && !y.isEmpty
    }
}
