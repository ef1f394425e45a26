import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Space held back in the data directory, so that a farm whose disk filled up can still cancel and
/// delete jobs (which need room for their own journal writes) and so free space.
///
/// A preallocated file: released the first time a write fails for lack of space, made again
/// once the filesystem has room for it and as much again.
struct StorageReserve {
    let path: String
    let directory: String
    /// The reserve's size: 1/50 of the filesystem, from 256 KiB to 32 MiB.
    let size: Int

    init(directory: URL) {
        self.directory = directory.path
        path = directory.appendingPathComponent("reserve.space").path
        let total = StorageReserve.filesystem(directory.path)?.total ?? 0
        size = min(32 << 20, max(256 << 10, total / 50))
    }

    /// Whether the reserve file is in place at its full size.
    var isHeld: Bool { TaskLogStore.size(path) == size }

    /// Makes the reserve when there is room for it and as much again; returns whether it is held.
    @discardableResult
    func make() -> Bool {
        if isHeld { return true }
        guard let free = StorageReserve.filesystem(directory)?.free, free >= 2 * size else { return false }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        // posix_fallocate gives real blocks (a sparse file would reserve nothing).
        if posix_fallocate(descriptor, 0, off_t(size)) != 0 {
            unlink(path)
            return false
        }
        return true
    }

    /// Gives the reserve's space back to the filesystem.
    func release() {
        unlink(path)
    }

    /// Free and total bytes of the filesystem holding `path`, as an unprivileged process sees them.
    static func filesystem(_ path: String) -> (free: Int, total: Int)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let block = Int(info.f_frsize)
        return (Int(info.f_bavail) * block, Int(info.f_blocks) * block)
    }
}
