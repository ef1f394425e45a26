import Foundation
import Testing

@testable import BrenderKit
@testable import FarmCore

@Suite struct RenderSlotTests {
    @Test func oneSlotWithoutThreadsLeavesBlenderAsItIs() {
        let slots = RenderSlot.plan(count: 1, gpus: [], threads: nil, cyclesDevice: .cuda, cores: 16)
        #expect(slots == [RenderSlot(index: 0)])
        #expect(slots[0].threadArguments.isEmpty && slots[0].cyclesArguments.isEmpty && slots[0].environment.isEmpty)
        let invocation = BlenderInvocation(
            file: "/s.blend", chunk: FrameChunk(start: 1, end: 2, step: 1), output: "/o/f_####", format: "PNG", scene: nil, slot: slots[0],
            deviceCheck: "/tmp/check.py")
        #expect(invocation.arguments == ["-b", "-noaudio", "/s.blend", "-o", "/o/f_####", "-F", "PNG", "-f", "1..2"])
    }

    @Test func slotsShareTheThreadsEvenlyAndAtLeastOneEach() {
        #expect(RenderSlot.plan(count: 4, gpus: [], threads: nil, cyclesDevice: .cuda, cores: 16).map(\.threads) == [4, 4, 4, 4])
        #expect(RenderSlot.plan(count: 3, gpus: [], threads: 8, cyclesDevice: .cuda, cores: 64).map(\.threads) == [2, 2, 2])
        #expect(RenderSlot.plan(count: 4, gpus: [], threads: nil, cyclesDevice: .cuda, cores: 2).map(\.threads) == [1, 1, 1, 1])
        #expect(RenderSlot.plan(count: 1, gpus: [], threads: 6, cyclesDevice: .cuda, cores: 2).map(\.threads) == [6])
        #expect(RenderSlot.plan(count: 2, gpus: [], threads: nil, cyclesDevice: .cuda, cores: 8).map(\.index) == [0, 1])
    }

    @Test func gpusGiveOneSlotEachPinnedToItsDevice() {
        let slots = RenderSlot.plan(count: 1, gpus: ["0", "1"], threads: nil, cyclesDevice: .optix, cores: 8)
        #expect(slots.count == 2)
        #expect(slots[1].gpu == "1" && slots[1].cyclesDevice == .optix && slots[1].threads == 4)
        #expect(slots[1].environment == ["CUDA_VISIBLE_DEVICES": "1", "HIP_VISIBLE_DEVICES": "1"])
        #expect(slots[1].cyclesArguments == ["--", "--cycles-device", "OPTIX"])
        #expect(slots[1].description == "slot 1 (GPU 1, OPTIX, 4 threads)")
        #expect(RenderSlot.plan(count: 1, gpus: ["0", "0"], threads: nil, cyclesDevice: .cuda, cores: 8).map(\.gpu) == ["0", "0"])
    }

    @Test func aGPUSlotsBlenderChecksTheDeviceBeforeRenderingAndGivesCyclesTheTypeLast() {
        let slot = RenderSlot(index: 1, threads: 2, gpu: "1", cyclesDevice: .hip)
        let invocation = BlenderInvocation(
            file: "/s.blend", chunk: FrameChunk(start: 5, end: 5, step: 1), output: "/o/f_####", format: "PNG", scene: "Shot", slot: slot,
            deviceCheck: "/tmp/check.py")
        #expect(
            invocation.arguments == [
                "-b", "-noaudio", "/s.blend", "-S", "Shot", "-t", "2", "--python", "/tmp/check.py", "-o", "/o/f_####", "-F", "PNG", "-f", "5", "--",
                "--cycles-device", "HIP",
            ])
    }

    @Test func theDeviceCheckAndCyclesOwnRefusalAreReadAsAFallbackToTheCPU() {
        #expect(BlenderOutputParser.parse(#"BRENDER-DEVICE gpu "CUDA: NVIDIA RTX A6000""#) == .gpu("CUDA: NVIDIA RTX A6000"))
        #expect(
            BlenderOutputParser.parse(#"BRENDER-DEVICE cpu "Cycles found no CUDA device (CUDA_VISIBLE_DEVICES=1)""#)
                == .cpuFallback("Cycles found no CUDA device (CUDA_VISIBLE_DEVICES=1)"))
        #expect(BlenderOutputParser.parse(#"BRENDER-DEVICE other "the scene renders with BLENDER_EEVEE""#) == .other)
        #expect(
            BlenderOutputParser.parse("Error: Found no Cycles device of the specified type")
                == .cpuFallback("Found no Cycles device of the specified type"))
        #expect(BlenderOutputParser.parse("Error: Out of memory in CUDA queue enqueue") == .error("Out of memory in CUDA queue enqueue"))
    }

    @Test func theFailureSaysWhichGPUAndWhatToDo() {
        let message = RenderSlot(index: 0, gpu: "3", cyclesDevice: .cuda).cpuFallback("Cycles found no CUDA device")
        #expect(message.contains("GPU 3 (CUDA with CUDA_VISIBLE_DEVICES=3)"))
        #expect(message.contains("Cycles found no CUDA device"))
        #expect(message.contains("nvidia-smi") && message.contains("--gpus"))
    }
}
