import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// The previews of the dashboard's contact sheet, made by a real worker with Debian's ffmpeg from
/// frames real Blender rendered, in each kind of file a job may write.
@Suite(.serialized) struct FramePreviewTests {
    /// The mean brightness (0-255) and size of an image, as ffmpeg decodes it.
    private func measure(_ image: Data, in directory: URL) throws -> (mean: Double, width: Int, height: Int) {
        let path = directory.appendingPathComponent("preview-\(UUID().uuidString).jpg")
        try image.write(to: path)
        let probe = try ChildProcess.run(
            "/usr/bin/ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path.path],
            logDirectory: directory, name: "ffprobe")
        let size = probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
        let gray = directory.appendingPathComponent("gray-\(UUID().uuidString).raw")
        _ = try ChildProcess.run(
            "/usr/bin/ffmpeg", ["-v", "error", "-i", path.path, "-f", "rawvideo", "-pix_fmt", "gray", gray.path], logDirectory: directory,
            name: "ffmpeg")
        let bytes = try Data(contentsOf: gray)
        return (bytes.isEmpty ? 0 : Double(bytes.reduce(0) { $0 + Int($1) }) / Double(bytes.count), size.first ?? 0, size.last ?? 0)
    }

    @Test func aPreviewIsMadeFromPNGJPEGAndOpenEXRFramesAndEXRLooksLikeTheSameFrameInPNG() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("preview.blend", frames: 1, samples: 8, size: "400x300")
        try farm.startServer()
        try farm.startWorker(name: "w")
        #expect(await eventually { try await farm.clients()["w"]?["connection"] == "online" })
        var previews: [String: Data] = [:]
        for format in ["PNG", "JPEG", "OPEN_EXR"] {
            let job = try await farm.submit([
                "file": .string(scene), "frames": "1", "format": .string(format),
                "output": .string(farm.directory.appendingPathComponent("out-\(format)/f_####").path),
            ])
            #expect(await eventually(timeout: 120, interval: 0.1) { try await farm.job(job)?["status"]?.stringValue == "completed" }, "\(format)")
            let client = try farm.client()
            var sheet: JSONValue = .null
            #expect(
                await eventually(timeout: 60, interval: 0.1) {
                    sheet = try await client.get("/jobs/\(job)/frames")
                    return sheet["previews"]?["1"] != nil
                }, "no preview of the \(format) frame")
            let version = try #require(sheet["previews"]?["1"]?.intValue)
            previews[format] = try await client.getText("/jobs/\(job)/frames/1/preview?v=\(version)").body
        }
        let png = try measure(try #require(previews["PNG"]), in: farm.directory)
        #expect((png.width, png.height) == (320, 240), "400x300 fits 320x240 at the same aspect")
        for format in ["JPEG", "OPEN_EXR"] {
            let other = try measure(try #require(previews[format]), in: farm.directory)
            #expect((other.width, other.height) == (320, 240), "\(format)")
            // An EXR holds linear light; shown without the sRGB curve it would be far darker.
            #expect(abs(other.mean - png.mean) < 12, "\(format) preview mean \(other.mean), PNG's \(png.mean)")
        }
    }
}
