import Foundation

/// Each task's log as a file in the data directory: `logs/JOB/TASK.log`.
///
/// Appends are written before the worker's update is acknowledged.
public struct TaskLogStore: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public func path(jobID: Int64, taskID: Int64) -> URL {
        directory.appendingPathComponent(String(jobID)).appendingPathComponent("\(taskID).log")
    }

    /// Appends text to a task's log, creating folders and file as needed.
    public func append(_ text: String, jobID: Int64, taskID: Int64) throws {
        guard !text.isEmpty else { return }
        let file = path(jobID: jobID, taskID: taskID)
        if !FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Reads up to `limit` bytes of a task's log from `offset`; empty when there is no log yet.
    public func read(jobID: Int64, taskID: Int64, offset: Int, limit: Int = 1 << 20) -> Data {
        guard let handle = try? FileHandle(forReadingFrom: path(jobID: jobID, taskID: taskID)) else { return Data() }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(max(0, offset)))
            return try handle.read(upToCount: limit) ?? Data()
        } catch {
            return Data()
        }
    }

    /// Removes a job's logs.
    public func removeJob(_ jobID: Int64) {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(String(jobID)))
    }
}
