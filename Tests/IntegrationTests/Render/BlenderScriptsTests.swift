import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// Python in .blend files runs only for jobs that ask for it (`--allow-scripts`, Blender's `-y`),
/// and only on a server that allows it.
@Suite(.serialized) struct BlenderScriptsTests {
    /// A scene with a text block Blender runs when it loads the file, if scripts may run.
    private func sceneWithScript(_ farm: TestFarm) throws -> String {
        let plain = try farm.makeScene("plain.blend", frames: 2)
        let path = farm.directory.appendingPathComponent("scripted.blend").path
        let program = """
            import bpy
            text = bpy.data.texts.new("autorun.py")
            text.write('print("brender autorun ran", flush=True)')
            text.use_module = True
            bpy.ops.wm.save_as_mainfile(filepath=\(JSONValue.string(path).serialized()))
            """
        let made = try ChildProcess.run(
            "/usr/bin/env", ["blender", "-b", plain, "--python-exit-code", "3", "--python-expr", program], logDirectory: farm.directory,
            name: "make-scripted-scene", timeout: 120)
        try #require(made.status == 0, "\(made.stdout.suffix(1000))")
        return path
    }

    private func log(_ farm: TestFarm, job: Int64) async throws -> String {
        #expect(await farm.waitForJob(job) == "completed")
        return try await farm.log(task: try #require(try await farm.tasks(of: job).first?["id"]?.intValue))
    }

    @Test func aJobRunsTheFilesPythonOnlyWhenItAsksAndTheServerAllowsIt() async throws {
        let farm = try TestFarm()
        let scene = try sceneWithScript(farm)
        try farm.startServer(["--allow-scripts"])
        try farm.startWorker(name: "w")
        let output = farm.directory.appendingPathComponent("out").path

        let plain = try await farm.submit(["file": .string(scene), "frames": "1", "output": .string(output + "/a_####")])
        let plainLog = try await log(farm, job: plain)
        #expect(plainLog.contains("scripts disabled for") && !plainLog.contains("brender autorun ran"), "\(plainLog)")

        let warm = try await farm.submit(["file": .string(scene), "frames": "2", "allow_scripts": true, "output": .string(output + "/b_####")])
        let warmLog = try await log(farm, job: warm)
        #expect(warmLog.contains("brender autorun ran") && warmLog.contains(" -y -b -noaudio "), "\(warmLog)")
        #expect(try await farm.job(warm)?["allow_scripts"] == true)

        let cold = try await farm.submit([
            "file": .string(scene), "frames": "1", "allow_scripts": true, "cold": true, "output": .string(output + "/c_####"),
        ])
        let coldLog = try await log(farm, job: cold)
        #expect(coldLog.contains("brender autorun ran") && coldLog.contains(" -y -b -noaudio "), "\(coldLog)")
    }

    @Test func aServerWithoutAllowScriptsRefusesAJobThatAsks() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        do {
            _ = try await farm.submit(["file": "/srv/shot.blend", "frames": "1", "allow_scripts": true])
            Issue.record("a job that asks to run scripts was accepted by a server without --allow-scripts")
        } catch {
            #expect("\(error)".contains("does not let jobs run the Python in their .blend files"), "\(error)")
            #expect("\(error)".contains("--allow-scripts"))
        }
        #expect(try await farm.api(APIRequest(item: "job", action: "read")).total == 0)
    }
}
