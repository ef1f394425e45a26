import Foundation

/// `brender demo-scene`: a tiny animation to test a farm with.
enum DemoSceneCommand {
    static let spec = CommandSpec(
        "demo-scene", abstract: "Make a small animated .blend with Blender, to test the farm with.",
        discussion:
            "The default cube turning, rendered by Cycles on the CPU at a tiny size with denoising off, so it renders with Debian's Blender in about a second a frame.",
        options: [
            .value("frames", "N", kind: .integer(1...100_000), default: "24", help: "Frames in the animation (1 to N)."),
            .value("samples", "N", kind: .integer(1...100_000), default: "4", help: "Cycles samples per pixel."),
            .value("size", "WxH", default: "64x48", help: "Resolution in pixels."),
            .value("engine", "ENGINE", kind: .choice(["CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"]), default: "CYCLES", help: "Render engine."),
            .value("blender", "PATH", environment: "BRENDER_BLENDER", default: "blender", help: "The Blender executable."),
        ],
        positionals: [PositionalSpec("OUT.blend", help: "Where to save the scene.")],
        examples: [
            "brender demo-scene /srv/farm/demo.blend --frames 48",
            "brender demo-scene test.blend && brender job submit test.blend --frames 1-24 --wait",
        ],
        action: { parsed, context in
            var settings = DemoScene.Settings()
            settings.frames = parsed.int("frames")!
            settings.samples = parsed.int("samples")!
            settings.engine = parsed.string("engine")!
            let size = parsed.string("size")!.split(separator: "x").compactMap { Int($0) }
            guard size.count == 2, size.allSatisfy({ (4...16384).contains($0) }) else {
                throw UsageError("--size needs WIDTHxHEIGHT from 4 to 16384, not '\(parsed.string("size")!)'", hint: "e.g. --size 64x48")
            }
            settings.width = size[0]
            settings.height = size[1]
            let out = parsed.positional("OUT.blend")!
            let path = out.hasPrefix("/") ? out : FileManager.default.currentDirectoryPath + "/" + out
            do {
                try await DemoScene.create(at: path, settings: settings, blender: parsed.string("blender")!)
            } catch let error as CommandFailure {
                throw error
            } catch {
                throw CommandFailure(
                    "cannot run Blender '\(parsed.string("blender")!)': \(error); install Debian's blender package or pass --blender PATH")
            }
            context.print(path)
            return 0
        })
}
