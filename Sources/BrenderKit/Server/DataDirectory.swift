import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The server's data directory: its database and files, held by one server at a time.
///
/// An exclusive `flock` on `server.lock` keeps a second server from opening the same database;
/// the kernel releases it when the process ends, however it ends.
public final class DataDirectory: Sendable {
    public let url: URL
    private let lockDescriptor: Int32

    public var databasePath: String { Self.databasePath(in: url) }

    /// The database file of a data directory.
    public static func databasePath(in directory: URL) -> String {
        directory.appendingPathComponent("brender.sqlite").path
    }

    /// Creates the directory if missing and takes its lock.
    public init(path: String) throws {
        url = URL(fileURLWithPath: path).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw StoreError.dataDirectoryUnusable(path: url.path, reason: DataDirectory.whyNotCreatable(url))
        }
        let lockPath = url.appendingPathComponent("server.lock").path
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StoreError.dataDirectoryUnusable(path: url.path, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw StoreError.dataDirectoryLocked(path: url.path)
        }
        lockDescriptor = descriptor
    }

    deinit {
        close(lockDescriptor)
    }

    /// Why `url` cannot be created, naming the part of the path at fault.
    static func whyNotCreatable(_ url: URL) -> String {
        var ancestor = url.deletingLastPathComponent()
        var missing = [url.lastPathComponent]
        while ancestor.path != "/" && !FileManager.default.fileExists(atPath: ancestor.path) {
            missing.insert(ancestor.lastPathComponent, at: 0)
            ancestor = ancestor.deletingLastPathComponent()
        }
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory)
        if !isDirectory.boolValue {
            return "\(ancestor.path) is a file, not a directory; choose another --data"
        }
        if !FileManager.default.isWritableFile(atPath: ancestor.path) {
            return
                "cannot create \(missing.joined(separator: "/")) in \(ancestor.path), which this user (uid \(getuid())) may not write to; create the directory for it or choose another --data"
        }
        return "cannot create \(missing.joined(separator: "/")) in \(ancestor.path)"
    }
}
