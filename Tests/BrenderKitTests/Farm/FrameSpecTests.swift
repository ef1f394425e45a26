import BrenderTesting
import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct FrameSpecTests {
    private func frames(_ text: String) throws -> [Int] { try FrameSpec(parsing: text).frames }

    private func message(_ text: String) -> String? {
        do {
            _ = try FrameSpec(parsing: text)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func rangesWithDashOrDotsListsAndSteps() throws {
        #expect(try frames("1-5") == [1, 2, 3, 4, 5])
        #expect(try frames("1..5") == [1, 2, 3, 4, 5])
        #expect(try frames("7") == [7])
        #expect(try frames("1-3,10,20..22") == [1, 2, 3, 10, 20, 21, 22])
        #expect(try frames("1-10x3") == [1, 4, 7, 10])
        #expect(try frames("0..8x4") == [0, 4, 8])
        #expect(try frames(" 1 - 3 , 5 ") == [1, 2, 3, 5])
    }

    @Test func duplicateFramesAreRenderedOnce() throws {
        #expect(try frames("1-5,3-7,5") == [1, 2, 3, 4, 5, 6, 7])
    }

    @Test func badSpecsAreRefusedShowingTheBadPart() {
        #expect(message("5-2") == "reversed range '5-2': the first frame must not be after the last")
        #expect(message("") == "the frame spec is empty; write frames like 1-250, 1..250, 7, 1-10,20 or 1-100x5")
        #expect(message("1-5,,7") == "empty part in frame spec '1-5,,7' (two commas in a row, or a comma at an end)")
        #expect(message("1-5,abc") == "'abc' is not a frame or a range (write N, A-B, A..B, or A-BxSTEP)")
        #expect(message("1-") == "'1-' is not a frame or a range (write N, A-B, A..B, or A-BxSTEP)")
        #expect(message("1-10x0") == "bad step in '1-10x0': the step after 'x' must be a whole number of at least 1")
        #expect(message("5x2") == "a step needs a range in '5x2' (write N, A-B, A..B, or A-BxSTEP)")
        #expect(message("1-2000000")?.contains("beyond Blender's last frame") == true)
        #expect(message("-3") != nil)
    }

    @Test func twelveFramesInChunksOfFiveEndWithAShorterChunk() {
        #expect(chunk(Array(1...12), size: 5) == [FrameChunk(start: 1, end: 5), FrameChunk(start: 6, end: 10), FrameChunk(start: 11, end: 12)])
    }

    @Test func chunksKeepAnEvenStep() {
        // 1-3 then 10 then 20..22: a chunk never mixes steps.
        #expect(
            chunk([1, 2, 3, 10, 20, 21, 22], size: 10) == [
                FrameChunk(start: 1, end: 3), FrameChunk(start: 10, end: 20, step: 10), FrameChunk(start: 21, end: 22),
            ])
        #expect(chunk([1, 6, 11, 16], size: 3) == [FrameChunk(start: 1, end: 11, step: 5), FrameChunk(start: 16, end: 16)])
    }

    @Test func chunkMembershipMatchesItsFrames() {
        let chunk = FrameChunk(start: 3, end: 23, step: 5)
        #expect((0...30).filter(chunk.contains) == Array(chunk.frames))
    }

    @Test func chunkArgumentsAreWhatBlenderAccepts() {
        #expect(FrameChunk(start: 7, end: 7).blenderFrameArgument == "7")
        #expect(FrameChunk(start: 1, end: 5).blenderFrameArgument == "1..5")
        #expect(FrameChunk(start: 1, end: 11, step: 5).blenderFrameArgument == "1,6,11")
        #expect(FrameChunk(start: 1, end: 11, step: 5).description == "1-11x5")
    }

    /// Property: for random specs and chunk sizes, every frame is in exactly one chunk, none is
    /// invented, and no chunk is longer than the chunk size.
    @Test(arguments: 0..<200) func randomSpecsChunkEveryFrameExactlyOnce(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed))
        var parts: [String] = []
        var expected = Set<Int>()
        for _ in 0..<(1 + Int(random.next() % 5)) {
            let start = Int(random.next() % 500)
            switch random.next() % 4 {
            case 0:
                parts.append(String(start))
                expected.insert(start)
            case 1:
                let end = start + Int(random.next() % 60)
                parts.append("\(start)-\(end)")
                expected.formUnion(start...end)
            case 2:
                let end = start + Int(random.next() % 60)
                parts.append("\(start)..\(end)")
                expected.formUnion(start...end)
            default:
                let end = start + Int(random.next() % 100)
                let step = 1 + Int(random.next() % 7)
                parts.append("\(start)-\(end)x\(step)")
                expected.formUnion(stride(from: start, through: end, by: step))
            }
        }
        let spec = try FrameSpec(parsing: parts.joined(separator: ","))
        #expect(spec.frames == expected.sorted())
        let size = 1 + Int(random.next() % 12)
        let chunks = chunk(spec.frames, size: size)
        let chunked = chunks.flatMap { Array($0.frames) }
        #expect(chunked == spec.frames, "spec \(parts.joined(separator: ",")) size \(size)")
        #expect(chunks.allSatisfy { $0.count <= size && $0.count >= 1 })
    }
}
