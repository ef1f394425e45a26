import Foundation
import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct BlenderOutputParserTests {
    @Test func progressLinesGiveTheFrameAndSamples() {
        #expect(
            BlenderOutputParser.parse(
                "Fra:1 Mem:9.96M (Peak 10.83M) | Time:00:00.05 | Remaining:00:00.00 | Mem:0.80M, Peak:0.80M | Scene, ViewLayer | Sample 1/4")
                == .progress(frame: 1, sample: 1, samples: 4))
        #expect(
            BlenderOutputParser.parse("Fra:12 Mem:9.40M (Peak 10.83M) | Time:00:00.04 | Mem:0.00M, Peak:0.00M | Scene, ViewLayer | Updating Camera")
                == .progress(frame: 12, sample: nil, samples: nil))
        #expect(
            BlenderOutputParser.parse(
                "Fra:1 Mem:10.00M (Peak 10.83M) | Time:00:00.13 | Remaining:00:00.64 | Mem:0.84M, Peak:0.84M | Scene, ViewLayer | Rendered 1/20 Tiles, Sample 64/64"
            )
                == .progress(frame: 1, sample: 64, samples: 64))
        #expect(BlenderOutputParser.parse("Fra:-3 Mem:1M") == .progress(frame: -3, sample: nil, samples: nil))
    }

    @Test func savedPathsKeepQuotesInsideThem() {
        #expect(BlenderOutputParser.parse("Saved: '/out/frame_00001.png'") == .saved(path: "/out/frame_00001.png"))
        #expect(BlenderOutputParser.parse("Saved: 'probe/we ird dir/it's_ü_00001.png'") == .saved(path: "probe/we ird dir/it's_ü_00001.png"))
    }

    @Test func errorsAndWarnings() {
        #expect(BlenderOutputParser.parse("Error: Build without OpenImageDenoiser") == .error("Build without OpenImageDenoiser"))
        #expect(
            BlenderOutputParser.parse("Error: File format is not supported in file '/x.blend'")
                == .error("File format is not supported in file '/x.blend'"))
        #expect(BlenderOutputParser.parse("Warning: Unable to open '/tex.png': No such file") == .warning("Unable to open '/tex.png': No such file"))
        #expect(BlenderOutputParser.parse("Append frame 7") == .appendedFrame(7))
        #expect(BlenderOutputParser.parse(" Time: 00:00.24 (Saving: 00:00.18)") == .other)
        #expect(BlenderOutputParser.parse("Blender quit") == .other)
    }
}

@Suite struct BlenderInvocationTests {
    @Test func fileComesFirstAndFramesLast() {
        let invocation = BlenderInvocation(
            file: "/p/shot.blend", chunk: FrameChunk(start: 1, end: 5), output: "/r/frame_#####", format: "PNG", scene: "Main")
        #expect(invocation.arguments == ["-b", "-noaudio", "/p/shot.blend", "-S", "Main", "-o", "/r/frame_#####", "-F", "PNG", "-f", "1..5"])
        #expect(invocation.expectedFiles[3] == "/r/frame_00003.png")
        #expect(invocation.expectedFiles.count == 5)
    }

    @Test func outputPathsFollowBlendersRules() {
        #expect(BlenderInvocation.path(for: 7, pattern: "/r/f_##", fileExtension: "png") == "/r/f_07.png")
        #expect(BlenderInvocation.path(for: 1234, pattern: "/r/f_##", fileExtension: "png") == "/r/f_1234.png")
        #expect(BlenderInvocation.path(for: 7, pattern: "/r/shot_", fileExtension: "exr") == "/r/shot_0007.exr")
        #expect(BlenderInvocation.path(for: 7, pattern: "/r/a##/f_###.png", fileExtension: "png") == "/r/a##/f_007.png")
        #expect(BlenderInvocation.path(for: -3, pattern: "/r/f_#####", fileExtension: "png") == "/r/f_-0003.png")
    }
}

@Suite struct OutputVerifierTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("brender-verify-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = directory.appendingPathComponent(name).path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func missingEmptyAndTruncatedFilesDoNotCount() {
        #expect(OutputVerifier.problem(with: directory.appendingPathComponent("none.png").path)?.hasSuffix("is missing") == true)
        #expect(OutputVerifier.problem(with: write("empty.png", []))?.hasSuffix("is empty") == true)
        let truncated = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52] as [UInt8]
        #expect(OutputVerifier.problem(with: write("cut.png", truncated))?.contains("not a complete PNG") == true)
        #expect(OutputVerifier.problem(with: write("cut.jpg", [0xFF, 0xD8, 0xFF]))?.contains("not a complete JPEG") == true)
    }

    @Test func completeFilesCount() {
        let iend: [UInt8] = [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]
        #expect(OutputVerifier.problem(with: write("ok.png", [0x89, 0x50, 0x4E, 0x47] + iend)) == nil)
        #expect(OutputVerifier.problem(with: write("ok.jpg", [0xFF, 0xD8, 0x00, 0xFF, 0xD9])) == nil)
        #expect(OutputVerifier.problem(with: write("ok.exr", [1, 2, 3])) == nil)
    }

    @Test func commandPlaceholdersAreFilled() {
        #expect(CommandTemplate.expand(["render", "{start}-{end}", "f{frame}"], start: 1, end: 5, frame: 3) == ["render", "1-5", "f3"])
    }
}
