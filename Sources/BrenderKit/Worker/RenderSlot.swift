import Foundation

/// One of a worker's slots: it runs one task at a time, with its own Blender (warm or cold),
/// its own temporary folder and home, a share of the CPU threads, and with `--gpus` one GPU.
///
/// A worker with one slot and no `--threads` leaves Blender as it is (every core, the scene's
/// device); slots and GPUs only add to Blender's command line and environment.
public struct RenderSlot: Sendable, Equatable, CustomStringConvertible {
    /// The Cycles device types a slot can be pinned to, as `--cycles-device` names them. Each
    /// is pinned to its GPU by the driver's own variable: `CUDA_VISIBLE_DEVICES` (CUDA, OptiX)
    /// or `HIP_VISIBLE_DEVICES` (HIP).
    public enum CyclesDevice: String, Sendable, CaseIterable {
        case cuda = "CUDA"
        case optix = "OPTIX"
        case hip = "HIP"
    }

    /// The slot's number, from 0: the server knows its tasks by it.
    public let index: Int
    /// CPU threads for its Blender (`-t`); nil leaves Blender's default (every core).
    public let threads: Int?
    /// The GPU its Blender is pinned to, as the driver numbers it (`nvidia-smi -L`, `rocm-smi`).
    public let gpu: String?
    /// The Cycles device type it renders with (only with a GPU).
    public let cyclesDevice: CyclesDevice?

    public init(index: Int, threads: Int? = nil, gpu: String? = nil, cyclesDevice: CyclesDevice? = nil) {
        self.index = index
        self.threads = threads
        self.gpu = gpu
        self.cyclesDevice = gpu == nil ? nil : cyclesDevice ?? .cuda
    }

    /// The slots of a worker: `count` of them, or one per GPU of `gpus` (a GPU named twice gets
    /// two slots), with `threads` CPU threads (default: `cores`) shared out evenly, at least one
    /// each. One slot without `--threads` keeps Blender's own choice.
    public static func plan(count: Int, gpus: [String], threads: Int?, cyclesDevice: CyclesDevice, cores: Int) -> [RenderSlot] {
        let slots = gpus.isEmpty ? max(1, count) : gpus.count
        let share: Int? = slots == 1 && threads == nil ? nil : max(1, (threads ?? max(1, cores)) / slots)
        return (0..<slots).map { index in
            RenderSlot(index: index, threads: share, gpu: gpus.isEmpty ? nil : gpus[index], cyclesDevice: cyclesDevice)
        }
    }

    /// What its Blender's environment gets besides its own TMPDIR and HOME: the GPU pin.
    public var environment: [String: String] {
        guard let gpu else { return [:] }
        return ["CUDA_VISIBLE_DEVICES": gpu, "HIP_VISIBLE_DEVICES": gpu]
    }

    /// Blender options for the slot, placed before the frames are rendered: `-t N`.
    public var threadArguments: [String] { threads.map { ["-t", String($0)] } ?? [] }

    /// Arguments after Blender's own, for Cycles: `-- --cycles-device TYPE`. Cycles then renders
    /// on devices of that type only, and fails with "Found no Cycles device of the specified
    /// type" instead of rendering on the CPU when there is none.
    public var cyclesArguments: [String] { cyclesDevice.map { ["--", "--cycles-device", $0.rawValue] } ?? [] }

    /// How a log names it: `slot 1 (GPU 1, CUDA, 8 threads)`.
    public var description: String {
        var parts: [String] = []
        if let gpu, let cyclesDevice { parts.append("GPU \(gpu), \(cyclesDevice.rawValue)") }
        if let threads { parts.append("\(threads) thread\(threads == 1 ? "" : "s")") }
        return "slot \(index)" + (parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))")
    }

    /// Why a task that was to render on this slot's GPU did not: Cycles would have rendered on
    /// the CPU, silently and far slower.
    func cpuFallback(_ why: String) -> String {
        let pin = environment.isEmpty ? "" : " with \(cyclesDevice == .hip ? "HIP" : "CUDA")_VISIBLE_DEVICES=\(gpu ?? "")"
        return
            "Cycles fell back to the CPU instead of rendering on GPU \(gpu ?? "?") (\(cyclesDevice?.rawValue ?? "?")\(pin)): \(why); check the GPU and its driver (nvidia-smi or rocm-smi), or start the worker with --gpus naming only GPUs that work (and --cycles-device for their type)"
    }
}

/// The Python that tells, in a task's log, what Cycles renders on when a slot is pinned to a
/// GPU: a `BRENDER-DEVICE` line. Cycles itself says nothing when it falls back to the CPU.
///
/// `BRENDER-DEVICE gpu "CUDA: NVIDIA ..."` names the devices Cycles found of the type it was
/// given (`--cycles-device`, after `--`); `BRENDER-DEVICE cpu "why"` means it found none (the
/// task fails with that); `BRENDER-DEVICE other "why"` means the scene does not render with
/// Cycles, so the pin does not apply.
enum BlenderDeviceCheck {
    /// Defines `brender_device_report(scene)`, returning the line's words (or None without
    /// `--cycles-device`).
    static let function = #"""
        def brender_device_report(scene):
            import bpy, json, os, sys
            argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
            if "--cycles-device" not in argv[:-1]:
                return None
            kind = argv[argv.index("--cycles-device") + 1]
            pinned = ", ".join("%s=%s" % (name, os.environ[name]) for name in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES") if name in os.environ)
            if scene.render.engine != "CYCLES":
                return "other " + json.dumps("the scene renders with %s, not Cycles: the GPU pin does not apply to it" % scene.render.engine)
            try:
                preferences = bpy.context.preferences.addons["cycles"].preferences
                devices = [device.name for device in preferences.get_devices_for_type(kind) if device.type == kind]
            except Exception as error:
                return "cpu " + json.dumps("this Blender's Cycles cannot list %s devices (%s)" % (kind, error))
            if not devices:
                return "cpu " + json.dumps("Cycles found no %s device (%s)" % (kind, pinned or "no GPU pinned"))
            return "gpu " + json.dumps("%s: %s" % (kind, ", ".join(devices)))
        """#

    /// The script a cold Blender runs (`--python`) after loading the file, before rendering.
    static let script =
        function + #"""

            import bpy
            _report = brender_device_report(bpy.context.scene)
            if _report:
                print("BRENDER-DEVICE", _report, flush=True)
            """#
}
