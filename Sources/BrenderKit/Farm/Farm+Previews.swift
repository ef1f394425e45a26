import FarmCore
import Foundation

/// The frames of a job as the dashboard's contact sheet shows them: every frame, whether it is
/// rendered, and which have a preview image (made by the worker that rendered it).
extension Farm {
    /// Most frames a contact sheet lists; a longer job's sheet shows its first frames.
    static let maxSheetFrames = 10_000

    /// Stores a worker's preview of a frame it rendered, and tells event readers.
    ///
    /// Refused unless the sender is the client that ran (or runs) the task and the frame is
    /// one of the task's; the image must be a JPEG or PNG of at most
    /// ``WorkerProtocol/FramePreview/maxBytes``.
    public func storePreview(_ upload: WorkerProtocol.FramePreview) throws(APIError) {
        let client = try answering { () throws(FarmError) -> Client in try authenticate(upload.sender) }
        guard let (runtime, index) = locate(taskID: upload.taskID) else {
            throw APIError(.notFound, "there is no task \(upload.taskID)", field: "task_id")
        }
        let task = runtime.tasks[index]
        guard task.clientID == client.id else {
            throw APIError(
                .forbidden, "task \(task.id) is not this client's; a preview comes from the client that rendered the frame", field: "task_id")
        }
        guard task.role == .render, task.chunk.contains(upload.frame) else {
            throw APIError(.invalidValue, "frame \(upload.frame) is not one of task \(task.id)'s frames (\(task.chunk))", field: "frame")
        }
        guard upload.image.count <= WorkerProtocol.FramePreview.maxBytes else {
            throw APIError(.payloadTooLarge, "a preview may be at most \(WorkerProtocol.FramePreview.maxBytes) bytes", field: "image")
        }
        guard let kind = FramePreviewStore.Kind(of: upload.image) else {
            throw APIError(.invalidValue, "a preview must be a JPEG or PNG image", field: "image")
        }
        guard !isLowOnStorage else {
            throw APIError(.insufficientStorage, "the server is low on disk space; previews are not stored until there is room")
        }
        do {
            try previews.write(upload.image, kind: kind, jobID: runtime.job.id, frame: upload.frame)
        } catch {
            throw APIError(.insufficientStorage, "the server could not store the preview (\(error.localizedDescription))")
        }
        events.publish(.preview(jobID: runtime.job.id, frame: upload.frame))
    }

    /// A job's contact sheet: `frames` (in order, at most ``maxSheetFrames``), `rendered` (those
    /// rendered and verified), `previews` (those with an image, and when it was stored in
    /// milliseconds since 1970, the version in its URL); nil for an unknown job.
    public func contactSheet(jobID: Int64) -> JSONValue? {
        guard let runtime = jobs[jobID] else { return nil }
        var frames: [JSONValue] = []
        var rendered: [JSONValue] = []
        var truncated = false
        tasks: for task in runtime.tasks where task.role == .render {
            var position = 0
            for frame in task.chunk.frames {
                guard frames.count < Self.maxSheetFrames else {
                    truncated = true
                    break tasks
                }
                frames.append(.int(Int64(frame)))
                // A running task's frames land in order; a completed task's are all there.
                if task.status == .completed || position < Int(task.framesDone) { rendered.append(.int(Int64(frame))) }
                position += 1
            }
        }
        var previewTimes: [String: JSONValue] = [:]
        // In milliseconds: a frame rendered again within the same second still gets a new version.
        for (frame, modified) in previews.frames(jobID: jobID) { previewTimes[String(frame)] = .int(Int64(modified * 1000)) }
        return [
            "job": .int(jobID), "frames": .array(frames), "rendered": .array(rendered), "previews": .object(previewTimes),
            "truncated": .bool(truncated), "frames_total": .int(Int64(runtime.framesTotal)),
        ]
    }

    /// A frame's preview image, or nil when the job or the image does not exist.
    public func preview(jobID: Int64, frame: Int) -> (data: Data, kind: FramePreviewStore.Kind, modified: Double)? {
        guard jobs[jobID] != nil else { return nil }
        return previews.read(jobID: jobID, frame: frame)
    }
}
