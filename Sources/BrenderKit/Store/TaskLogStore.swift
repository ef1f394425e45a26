import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Each task's log as files in the data directory, one pair per attempt:
///
/// - `logs/JOB/TASK.LEASE.log` holds the worker's text of that attempt, byte for byte. Its size is
///   what the server has stored of the attempt, so it decides where the worker continues, across
///   crashes and restarts, with no other record to keep in step.
/// - `logs/JOB/TASK.LEASE.head` holds the lines the server writes before it: which attempt, on
///   which client, when, and why the attempt before it ended.
///
/// A reader sees one text: every attempt's head and log in order (and first, the single
/// `TASK.log` file of brender versions before per-attempt logs). Only the newest attempt grows,
/// so the text only ever grows at its end and a reader can follow it by offset.
public struct TaskLogStore: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    private func jobDirectory(_ jobID: Int64) -> String {
        directory.appendingPathComponent(String(jobID)).path
    }

    func bodyPath(jobID: Int64, taskID: Int64, lease: Int32) -> String {
        jobDirectory(jobID) + "/\(taskID).\(lease).log"
    }

    func headPath(jobID: Int64, taskID: Int64, lease: Int32) -> String {
        jobDirectory(jobID) + "/\(taskID).\(lease).head"
    }

    func legacyPath(jobID: Int64, taskID: Int64) -> String {
        jobDirectory(jobID) + "/\(taskID).log"
    }

    /// Bytes of the worker's text stored for one attempt.
    public func storedBytes(jobID: Int64, taskID: Int64, lease: Int32) -> Int {
        TaskLogStore.size(bodyPath(jobID: jobID, taskID: taskID, lease: lease)) ?? 0
    }

    /// Whether an attempt's head is written.
    public func hasHead(jobID: Int64, taskID: Int64, lease: Int32) -> Bool {
        TaskLogStore.size(headPath(jobID: jobID, taskID: taskID, lease: lease)) != nil
    }

    /// Writes an attempt's head, whole or not at all (a temporary file renamed into place).
    public func writeHead(_ text: String, jobID: Int64, taskID: Int64, lease: Int32) throws(StorageError) {
        let path = headPath(jobID: jobID, taskID: taskID, lease: lease)
        let temporary = path + ".tmp"
        try write(Array(text.utf8), to: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, jobID: jobID)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw StorageError(path: path, errno: code)
        }
    }

    /// Appends bytes to an attempt's log. On failure part of them may be stored:
    /// ``storedBytes(jobID:taskID:lease:)`` says how much.
    public func append(_ bytes: ArraySlice<UInt8>, jobID: Int64, taskID: Int64, lease: Int32) throws(StorageError) {
        guard !bytes.isEmpty else { return }
        try write(Array(bytes), to: bodyPath(jobID: jobID, taskID: taskID, lease: lease), flags: O_WRONLY | O_CREAT | O_APPEND, jobID: jobID)
    }

    /// Reads up to `limit` bytes of a task's whole log from `offset`, over attempts 1 to `lease`.
    public func read(jobID: Int64, taskID: Int64, lease: Int32, offset: Int, limit: Int = 1 << 20) -> Data {
        var segments = [legacyPath(jobID: jobID, taskID: taskID)]
        if lease >= 1 {
            for attempt in 1...lease {
                segments.append(headPath(jobID: jobID, taskID: taskID, lease: attempt))
                segments.append(bodyPath(jobID: jobID, taskID: taskID, lease: attempt))
            }
        }
        var skip = max(0, offset)
        var result = Data()
        for path in segments {
            guard result.count < limit, let size = TaskLogStore.size(path), size > 0 else { continue }
            if skip >= size {
                skip -= size
                continue
            }
            guard let handle = FileHandle(forReadingAtPath: path) else { break }
            defer { try? handle.close() }
            // Read no further than the size seen: a growing file must not be read past it here,
            // or the next segment's offsets would shift.
            do {
                try handle.seek(toOffset: UInt64(skip))
                result += try handle.read(upToCount: min(size - skip, limit - result.count)) ?? Data()
            } catch {
                break
            }
            skip = 0
        }
        return result
    }

    /// Removes a job's logs; returns false when some could not be removed.
    @discardableResult
    public func removeJob(_ jobID: Int64) -> Bool {
        let path = jobDirectory(jobID)
        guard FileManager.default.fileExists(atPath: path) else { return true }
        return (try? FileManager.default.removeItem(atPath: path)) != nil
    }

    /// Opens `path` (making the job's folder when it is missing) and writes all of `bytes`.
    private func write(_ bytes: [UInt8], to path: String, flags: Int32, jobID: Int64) throws(StorageError) {
        var descriptor = open(path, flags | O_CLOEXEC, 0o644)
        if descriptor < 0 && errno == ENOENT {
            let folder = jobDirectory(jobID)
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw StorageError(path: folder, errno: (error as NSError).code == NSFileWriteOutOfSpaceError ? ENOSPC : EIO)
            }
            descriptor = open(path, flags | O_CLOEXEC, 0o644)
        }
        guard descriptor >= 0 else { throw StorageError(path: path, errno: errno) }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + written, bytes.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw StorageError(path: path, errno: errno)
            }
            written += result
        }
    }

    /// A file's size, or nil when it does not exist.
    static func size(_ path: String) -> Int? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        let end = lseek(descriptor, 0, SEEK_END)
        return end < 0 ? nil : Int(end)
    }

}

/// A file the server could not write.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let errno: Int32

    public init(path: String, errno: Int32) {
        self.path = path
        self.errno = errno
    }

    /// The filesystem (or the user's quota) is full.
    public var isFull: Bool { errno == ENOSPC || errno == EDQUOT }

    public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}
