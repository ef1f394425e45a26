import Foundation

/// Reads a .blend file's own frame range, step and output format with Blender, for a job
/// submitted without `--frames` or `--format`.
public struct SceneProbe: Sendable, Equatable {
    public var frameStart: Int
    public var frameEnd: Int
    public var frameStep: Int
    /// Blender's image format name (`PNG`, `OPEN_EXR`, ...; `FFMPEG` for a movie).
    public var format: String
    public var scene: String
    /// The Blender version that read it.
    public var blenderVersion: String

    /// The frame spec of the scene's range and step.
    public var frames: String {
        frameStart == frameEnd ? String(frameStart) : "\(frameStart)-\(frameEnd)" + (frameStep > 1 ? "x\(frameStep)" : "")
    }

    static let marker = "BRENDER_SCENE "

    /// The Python that prints the scene's settings on one line after ``marker``.
    static let script = """
        import bpy, json
        s = bpy.context.scene
        print("\(marker)" + json.dumps({"frame_start": s.frame_start, "frame_end": s.frame_end, "frame_step": s.frame_step, \
        "format": s.render.image_settings.file_format, "scene": s.name, "version": bpy.app.version_string}), flush=True)
        """

    /// Parses the marker line of Blender's output.
    static func parse(_ line: String) -> SceneProbe? {
        guard let start = line.range(of: marker) else { return nil }
        guard let json = try? JSONValue.parse(Data(line[start.upperBound...].utf8)), let first = json["frame_start"]?.intValue,
            let last = json["frame_end"]?.intValue
        else { return nil }
        return SceneProbe(
            frameStart: Int(first), frameEnd: Int(last), frameStep: Int(json["frame_step"]?.intValue ?? 1),
            format: json["format"]?.stringValue ?? "PNG", scene: json["scene"]?.stringValue ?? "", blenderVersion: json["version"]?.stringValue ?? "?"
        )
    }

    /// Runs Blender headless on `file` (its scene `scene`, or the active one) and reads the settings.
    /// - Throws: a message for people when Blender cannot be run or prints no settings.
    public static func read(file: String, scene: String?, blender: String) async throws -> SceneProbe {
        var arguments = ["-b", "-noaudio", "--factory-startup", file]
        if let scene { arguments += ["-S", scene] }
        arguments += ["--python-expr", script]
        let run: (exit: ProcessExit, lines: [String])
        do {
            run = try await ProcessRunner.capture(blender, arguments: arguments, stop: StopSignal())
        } catch {
            throw CommandFailure("Blender ('\(blender)') could not be run here to read the scene: \(error)")
        }
        guard let probe = run.lines.lazy.compactMap(parse).first else {
            throw CommandFailure(
                "Blender could not read \(file) (it ended with \(run.exit)); check that it is a .blend file Blender opens"
            )
        }
        return probe
    }
}
