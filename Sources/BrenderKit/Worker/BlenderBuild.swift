import FarmCore
import Foundation
import Logging

/// A Blender executable this worker offers, and its version, found by running it.
struct BlenderBuild: Sendable, Equatable {
    /// What the option named (an executable, or the directory the build was found in).
    let source: String
    let path: String
    let version: String

    /// The builds among `sources`: each executable (a path or a name in PATH), and in each
    /// directory every `*/blender` one level down (unpacked official builds) and its own
    /// `blender`. A build that does not run or print its version is left out, with a warning.
    static func find(_ sources: [String], logger: Logger) async -> [BlenderBuild] {
        var builds: [BlenderBuild] = []
        for source in sources {
            var candidates: [String] = []
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
                let folder = URL(fileURLWithPath: source)
                let entries = ((try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []).sorted()
                candidates =
                    ([folder.appendingPathComponent("blender").path]
                    + entries.map { folder.appendingPathComponent($0).appendingPathComponent("blender").path })
                    .filter { FileManager.default.isExecutableFile(atPath: $0) }
            } else {
                candidates = [source]
            }
            for candidate in candidates {
                guard let path = ProcessRunner.resolve(candidate) else {
                    logger.warning("no Blender at '\(candidate)'; give --blender PATH to a Blender executable or a folder of builds")
                    continue
                }
                let version: String?
                do {
                    let (_, lines) = try await ProcessRunner.capture(path, arguments: ["--version"], stop: StopSignal())
                    version = BlenderVersions.parse(versionOutput: lines)
                } catch {
                    version = nil
                }
                guard let version else {
                    logger.warning("'\(path)' did not say its Blender version (blender --version); it is not offered")
                    continue
                }
                if !builds.contains(where: { $0.path == path }) { builds.append(BlenderBuild(source: source, path: path, version: version)) }
            }
        }
        logger.info("Blender builds: \(builds.map { "\($0.version) (\($0.path))" }.joined(separator: ", "))")
        return builds
    }
}
