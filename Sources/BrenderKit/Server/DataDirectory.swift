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

    public var databasePath: String { url.appendingPathComponent("brender.sqlite").path }

    /// Creates the directory if missing and takes its lock.
    public init(path: String) throws {
        url = URL(fileURLWithPath: path).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw StoreError.dataDirectoryUnusable(path: url.path, reason: "cannot create it (\(error.localizedDescription))")
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
}
