import Foundation
import Synchronization

/// Makes a small animated scene with Blender's own Python: the default cube turning half a
/// circle, rendered by Cycles on the CPU with few samples and denoising off (Debian's Blender has
/// no denoiser). For the quick start, for tests, and for checking a new render node.
public enum DemoScene {
    public struct Settings: Sendable {
        public var frames: Int = 24
        public var samples: Int = 4
        public var engine: String = "CYCLES"
        public var width: Int = 64
        public var height: Int = 48

        public init() {}
    }

    static let script = """
        import bpy, sys, math
        args = sys.argv[sys.argv.index("--") + 1:]
        out, frames, samples, engine, width, height = args[0], int(args[1]), int(args[2]), args[3], int(args[4]), int(args[5])
        scene = bpy.context.scene
        scene.render.engine = engine
        if engine == "CYCLES":
            scene.cycles.device = "CPU"
            scene.cycles.samples = samples
            scene.cycles.use_adaptive_sampling = False
            scene.cycles.use_denoising = False
        scene.render.resolution_x = width
        scene.render.resolution_y = height
        scene.render.resolution_percentage = 100
        scene.frame_start = 1
        scene.frame_end = frames
        cube = bpy.data.objects["Cube"]
        cube.rotation_euler = (0.0, 0.0, 0.0)
        cube.keyframe_insert(data_path="rotation_euler", frame=1)
        cube.rotation_euler = (0.0, 0.0, math.pi)
        cube.keyframe_insert(data_path="rotation_euler", frame=max(2, frames))
        scene.render.filepath = "//frames/frame_####"
        scene.render.image_settings.file_format = "PNG"
        bpy.ops.wm.save_as_mainfile(filepath=out)
        print("BRENDER_SCENE_SAVED")
        """

    /// Writes the scene to `path` (absolute) by running Blender.
    public static func create(at path: String, settings: Settings = Settings(), blender: String = "blender") async throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("cannot write \(path): the directory \(directory) does not exist; create it first (mkdir -p \(directory))")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw CommandFailure("cannot write \(path): the directory \(directory) is not writable by this user")
        }
        let saved = Mutex(false)
        let output = Mutex<[String]>([])
        let exit = try await ProcessRunner.run(
            blender,
            arguments: [
                "-b", "--factory-startup", "-noaudio", "--python-exit-code", "2", "--python-expr", script, "--", path,
                String(settings.frames), String(settings.samples), settings.engine, String(settings.width), String(settings.height),
            ],
            stop: StopSignal()
        ) { line in
            if line == "BRENDER_SCENE_SAVED" { saved.withLock { $0 = true } }
            output.withLock { $0.append(line) }
        }
        guard exit == .exited(0), saved.withLock({ $0 }), FileManager.default.fileExists(atPath: path) else {
            let tail = output.withLock { $0.suffix(5).joined(separator: "\n") }
            throw CommandFailure("Blender could not make the scene (\(exit)):\n\(tail)")
        }
    }
}
