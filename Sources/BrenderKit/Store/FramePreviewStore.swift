import Foundation

/// Small preview images of rendered frames, for the dashboard's contact sheet: one file per frame
/// at `previews/JOB/FRAME.jpg` (or `.png`) in the data directory, written whole or not at all
/// (a temporary file renamed into place), removed with the job.
public struct FramePreviewStore: Sendable {
    public let directory: URL

    /// The image kinds a preview may be, by the bytes it starts with.
    public enum Kind: String, Sendable, CaseIterable {
        case jpeg, png

        public var fileExtension: String { self == .jpeg ? "jpg" : "png" }
        public var contentType: String { self == .jpeg ? "image/jpeg" : "image/png" }

        /// The kind of image `data` holds, by its signature; nil for anything else.
        public init?(of data: Data) {
            if data.starts(with: [0xFF, 0xD8, 0xFF]) {
                self = .jpeg
            } else if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
                self = .png
            } else {
                return nil
            }
        }
    }

    public init(directory: URL) {
        self.directory = directory
    }

    private func jobDirectory(_ jobID: Int64) -> URL { directory.appendingPathComponent(String(jobID)) }

    /// Stores a frame's preview in place of any earlier one.
    func write(_ data: Data, kind: Kind, jobID: Int64, frame: Int) throws {
        let folder = jobDirectory(jobID)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(frame).\(UUID().uuidString).part")
        try data.write(to: temporary)
        for other in Kind.allCases where other != kind {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent("\(frame).\(other.fileExtension)"))
        }
        if rename(temporary.path, folder.appendingPathComponent("\(frame).\(kind.fileExtension)").path) != 0 {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(code))
        }
    }

    /// A frame's preview and its kind, or nil when there is none.
    func read(jobID: Int64, frame: Int) -> (data: Data, kind: Kind, modified: Double)? {
        for kind in Kind.allCases {
            let url = jobDirectory(jobID).appendingPathComponent("\(frame).\(kind.fileExtension)")
            guard let data = try? Data(contentsOf: url) else { continue }
            let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date)?.timeIntervalSince1970
            return (data, kind, modified ?? 0)
        }
        return nil
    }

    /// The frames of a job that have a preview, with when each was stored (seconds since 1970).
    func frames(jobID: Int64) -> [Int: Double] {
        let folder = jobDirectory(jobID)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [:] }
        var result: [Int: Double] = [:]
        for name in names where !name.hasPrefix(".") {
            guard let frame = Int(name.split(separator: ".").first ?? "") else { continue }
            let modified = (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)[.modificationDate] as? Date)
            result[frame] = modified?.timeIntervalSince1970 ?? 0
        }
        return result
    }

    /// Removes a job's previews; returns false when some could not be removed.
    @discardableResult
    func removeJob(_ jobID: Int64) -> Bool {
        let folder = jobDirectory(jobID)
        guard FileManager.default.fileExists(atPath: folder.path) else { return true }
        return (try? FileManager.default.removeItem(at: folder)) != nil
    }
}
