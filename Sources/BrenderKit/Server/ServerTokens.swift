import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The server's secrets, in `DATA/tokens/` (the folder mode 0700, each file 0600): the admin
/// token, which opens everything; the join token, which a worker needs to register; and named
/// tokens with a role (`named.tokens`), for people and programs that should not hold the admin
/// token. The first two are made on the server's first start; `brender server token` prints,
/// replaces, makes and revokes them, and the running server uses a changed file at once (it
/// re-reads a file whose modification time changed, looking at most once a second).
public final class ServerTokens: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Everything: the admin API, logs, and registering workers.
        case admin
        /// Registering a worker.
        case join
    }

    /// A token with a name and a role, made by `brender server token create`. Only its digest is
    /// kept: the secret is printed once, when it is made.
    public struct Named: Sendable, Equatable {
        public var name: String
        public var role: Role
        /// ``SHA256/credentialDigest(_:)`` of the secret.
        public var digest: String
        public var createdAt: Double
    }

    /// The folder of the token files.
    public let directory: URL
    private let secrets: [Kind: WatchedFile<String>]
    private let named: WatchedFile<[Named]>

    /// The token folder of a data directory.
    public static func directory(of dataDirectory: URL) -> URL {
        dataDirectory.appendingPathComponent("tokens")
    }

    /// Opens the token folder of `dataDirectory`, making the folder and any missing token.
    public init(dataDirectory: URL) throws {
        directory = try Self.prepare(Self.directory(of: dataDirectory))
        for kind in Kind.allCases where Self.read(kind, in: directory) == nil {
            try Self.write(Self.generate() + "\n", to: Self.path(kind, in: directory))
        }
        var secrets: [Kind: WatchedFile<String>] = [:]
        for kind in Kind.allCases {
            // A missing or unreadable file keeps the last token known (never an empty one).
            secrets[kind] = WatchedFile(path: Self.path(kind, in: directory), initial: Self.generate()) { Self.token(in: $0) }
        }
        self.secrets = secrets
        // No file: no named tokens (deleting it revokes them all). A damaged one keeps the last good list.
        named = WatchedFile(path: Self.namedPath(in: directory), initial: [], whenMissing: []) { Self.parseNamed($0) }
    }

    /// The current token of a kind.
    public func token(_ kind: Kind) -> String {
        secrets[kind]!.value
    }

    /// Whether `presented` is the current token of a kind (looking at the file again before
    /// saying no, so a token rotated a moment ago works at once).
    func isCurrent(_ presented: String, _ kind: Kind) -> Bool {
        AuthGate.constantTimeEqual(presented, secrets[kind]!.current(recheck: false))
            || AuthGate.constantTimeEqual(presented, secrets[kind]!.current(recheck: true))
    }

    /// Who a presented token belongs to: the admin, or a named token; nil for any other. Every
    /// candidate is compared, in constant time, whichever matches.
    func principal(presenting presented: String) -> Principal? {
        if let found = principal(presenting: presented, recheck: false) { return found }
        // Not known: a token made or rotated a moment ago may not have been read yet.
        return principal(presenting: presented, recheck: true)
    }

    private func principal(presenting presented: String, recheck: Bool) -> Principal? {
        var found: Principal?
        if AuthGate.constantTimeEqual(presented, secrets[.admin]!.current(recheck: recheck)) { found = .admin }
        let entries = named.current(recheck: recheck)
        guard !entries.isEmpty else { return found }
        let digest = SHA256.credentialDigest(presented)
        for entry in entries where AuthGate.constantTimeEqual(digest, entry.digest) && found == nil {
            found = Principal(name: entry.name, role: entry.role)
        }
        return found
    }

    /// A new random token: 32 bytes from the system's generator, hex-encoded.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func path(_ kind: Kind, in directory: URL) -> String {
        directory.appendingPathComponent("\(kind.rawValue).token").path
    }

    /// The file of the named tokens in a token folder.
    public static func namedPath(in directory: URL) -> String {
        directory.appendingPathComponent("named.tokens").path
    }

    /// The token in a folder's file, or nil when it is missing, unreadable or empty.
    public static func read(_ kind: Kind, in directory: URL) -> String? {
        read(file: path(kind, in: directory))
    }

    /// The token in a file, or nil when it is missing, unreadable or empty.
    public static func read(file: String) -> String? {
        (try? String(contentsOfFile: file, encoding: .utf8)).flatMap(token(in:))
    }

    private static func token(in text: String) -> String? {
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// The token of the local data directory (`$BRENDER_DATA`, else `./brender-data`), when this
    /// user can read it: what commands and workers on the server machine use without being told.
    public static func local(_ kind: Kind) -> String? {
        let data = ProcessInfo.processInfo.environment["BRENDER_DATA"] ?? "./brender-data"
        return read(kind, in: directory(of: URL(fileURLWithPath: data)))
    }

    /// Replaces a token with a new random one; returns it.
    public static func rotate(_ kind: Kind, dataDirectory: URL) throws -> String {
        let directory = try prepare(directory(of: dataDirectory))
        let token = generate()
        try write(token + "\n", to: path(kind, in: directory))
        return token
    }

    // MARK: Named tokens

    /// The named tokens of a data directory.
    public static func namedTokens(dataDirectory: URL) throws -> [Named] {
        let path = namedPath(in: directory(of: dataDirectory))
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TokenError(message: "cannot read \(path); run this as the user the server runs as")
        }
        guard let entries = parseNamed(text) else { throw TokenError(message: "\(path) is damaged: a line is not 'NAME ROLE CREATED DIGEST'") }
        return entries
    }

    /// Makes a named token; returns its entry and its secret (which is not kept). Refused when the
    /// name is taken or reserved.
    public static func create(name: String, role: Role, dataDirectory: URL) throws -> (entry: Named, token: String) {
        guard FieldType.isValidName(name), !Kind.allCases.map(\.rawValue).contains(name) else {
            throw TokenError(message: "'\(name)' cannot name a token: use \(FieldType.name.summary), other than admin and join")
        }
        var entries = try namedTokens(dataDirectory: dataDirectory)
        guard !entries.contains(where: { $0.name == name }) else {
            throw TokenError(message: "a token named '\(name)' exists; revoke it first, or choose another name")
        }
        let token = generate()
        let entry = Named(
            name: name, role: role, digest: SHA256.credentialDigest(token), createdAt: (Timestamp.now * 1000).rounded() / 1000)
        entries.append(entry)
        try saveNamed(entries, dataDirectory: dataDirectory)
        return (entry, token)
    }

    /// Revokes a named token; the running server refuses it within a second.
    public static func revoke(name: String, dataDirectory: URL) throws {
        var entries = try namedTokens(dataDirectory: dataDirectory)
        guard entries.contains(where: { $0.name == name }) else {
            throw TokenError(message: "there is no token named '\(name)'; 'brender server token list' shows them")
        }
        entries.removeAll { $0.name == name }
        try saveNamed(entries, dataDirectory: dataDirectory)
    }

    private static func saveNamed(_ entries: [Named], dataDirectory: URL) throws {
        let directory = try prepare(directory(of: dataDirectory))
        var text = "# brender's named tokens: NAME ROLE CREATED DIGEST ('brender server token create|revoke' change this file)\n"
        for entry in entries { text += "\(entry.name) \(entry.role.rawValue) \(entry.createdAt) \(entry.digest)\n" }
        try write(text, to: namedPath(in: directory))
    }

    /// The entries of a `named.tokens` file; nil when a line is not one.
    static func parseNamed(_ text: String) -> [Named]? {
        var entries: [Named] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.allSatisfy(\.isWhitespace) {
            let parts = line.split(separator: " ")
            guard parts.count == 4, let role = Role(rawValue: String(parts[1])), let created = Double(parts[2]), parts[3].hasPrefix("sha256:")
            else { return nil }
            entries.append(Named(name: String(parts[0]), role: role, digest: String(parts[3]), createdAt: created))
        }
        return entries
    }

    // MARK: Files

    /// Makes the token folder if missing, readable by its owner only.
    private static func prepare(_ directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o700)
        return directory
    }

    /// Writes a file atomically, readable by its owner only.
    static func write(_ text: String, to path: String) throws {
        let temporary = path + ".new"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TokenError(message: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            throw TokenError(message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    public struct TokenError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}

/// A file's parsed contents, re-read when its modification time changes (looked at at most once
/// a second), so that an edit by another process takes effect at once without a restart. A file
/// that does not parse keeps the last value; a missing one gives `whenMissing`, or keeps the last
/// value when that is nil.
final class WatchedFile<Value: Sendable>: Sendable {
    let path: String
    private let whenMissing: Value?
    private let parse: @Sendable (String) -> Value?
    private struct State {
        var value: Value
        var modified: Double = -1
        var checkedAt: Double = -.infinity
    }
    private let state: Mutex<State>

    init(path: String, initial: Value, whenMissing: Value? = nil, parse: @escaping @Sendable (String) -> Value?) {
        self.path = path
        self.whenMissing = whenMissing
        self.parse = parse
        state = Mutex(State(value: initial))
    }

    var value: Value { current(recheck: false) }

    /// The value; `recheck` looks at the file now even if it was looked at less than a second ago.
    func current(recheck: Bool) -> Value {
        let now = Timestamp.now
        let known = state.withLock { $0 }
        if !recheck && now - known.checkedAt < 1 { return known.value }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        guard modified != known.modified else {
            state.withLock { $0.checkedAt = now }
            return known.value
        }
        let fresh = attributes == nil ? whenMissing : (try? String(contentsOfFile: path, encoding: .utf8)).flatMap(parse)
        return state.withLock { state in
            state.checkedAt = now
            state.modified = modified
            if let fresh { state.value = fresh }
            return state.value
        }
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

    /// Who the `Authorization` header's token belongs to (the admin or a named token); nil when
    /// it is missing or wrong, after a second's wait when `address` failed repeatedly.
    func principal(_ authorization: String?, from address: String) async -> Principal? {
        if let found = tokens.principal(presenting: authorization.flatMap(Self.bearer) ?? "") { return found }
        await countFailure(from: address)
        return nil
    }

    /// Whether the header carries the join token or an admin's token: what registering a worker needs.
    func admitsWorker(_ authorization: String?, from address: String) async -> Bool {
        let presented = authorization.flatMap(Self.bearer) ?? ""
        let join = tokens.isCurrent(presented, .join)
        let principal = tokens.principal(presenting: presented)
        if join || principal?.role == .admin { return true }
        await countFailure(from: address)
        return false
    }

    private func countFailure(from address: String) async {
        let now = Timestamp.now
        let recent = failures.withLock { table -> Int in
            var times = (table[address] ?? []).filter { now - $0 < Self.window }
            times.append(now)
            table[address] = times
            if table.count > 10_000 { table = table.filter { $0.value.contains { now - $0 < Self.window } } }
            return times.count
        }
        if recent > Self.allowedFailures { try? await Task.sleep(for: Self.delay) }
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
