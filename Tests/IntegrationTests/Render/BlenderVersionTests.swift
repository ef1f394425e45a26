import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// A worker offering several Blender builds, and jobs that ask for one: real Debian Blender
/// (3.4.1) beside a stand-in that says it is 9.9.0 and hands its work to the real one.
@Suite(.serialized) struct BlenderVersionTests {
    private func standIn(in farm: TestFarm) throws -> String {
        let path = farm.directory.appendingPathComponent("blender-9.9/blender").path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            if [ "$1" = "--version" ]; then echo "Blender 9.9.0"; echo "	build date: 2099-01-01"; exit 0; fi
            echo "[stand-in Blender 9.9.0, rendering with the real one]"
            exec blender "$@"
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    @Test func aJobRendersWithTheVersionItAsksForAndIsRefusedWhenNoClientHasIt() async throws {
        let farm = try TestFarm()
        let scene = try farm.makeScene("versions.blend", frames: 3)
        let standIn = try standIn(in: farm)
        try farm.startServer()
        // A folder of builds counts too: the stand-in is found as its */blender.
        try farm.startWorker(name: "w", ["--blender", "blender", "--blender", farm.directory.path])
        #expect(await eventually { try await farm.clients()["w"]?["blender_versions"] == ["3.4.1", "9.9.0"] })
        #expect(try farm.run(["client", "list"]).stdout.contains(" 3.4.1,9.9.0 "))

        let output = farm.directory.appendingPathComponent("out").path
        let future = try await farm.submit(["file": .string(scene), "frames": "1", "blender_version": "9.9", "output": .string(output + "/a_####")])
        #expect(await farm.waitForJob(future) == "completed")
        let futureLog = try await farm.log(task: try #require(try await farm.tasks(of: future).first?["id"]?.intValue))
        #expect(futureLog.contains("[stand-in Blender 9.9.0") && futureLog.contains(standIn), "\(futureLog)")

        let submitted = try farm.run(
            ["job", "submit", scene, "--frames", "2", "--blender-version", "3.4", "--output", output + "/b_####", "--wait"], timeout: 180)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let current = try #require(try await farm.job(2))
        #expect(current["blender_version"] == "3.4")
        let currentLog = try await farm.log(task: try #require(try await farm.tasks(of: 2).first?["id"]?.intValue))
        #expect(!currentLog.contains("stand-in"), "\(currentLog)")

        // No version asked: the first Blender offered.
        let any = try await farm.submit(["file": .string(scene), "frames": "3", "output": .string(output + "/c_####")])
        #expect(await farm.waitForJob(any) == "completed")
        #expect(!(try await farm.log(task: try #require(try await farm.tasks(of: any).first?["id"]?.intValue))).contains("stand-in"))

        let refused = try farm.run(["job", "submit", scene, "--frames", "1", "--blender-version", "5"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("no client has Blender 5 (the clients have 3.4.1, 9.9.0)"), "\(refused.stderr)")
        #expect(try await farm.api(APIRequest(item: "job", action: "read")).total == 3, "the refused job was not stored")

        let bad = try farm.run(["job", "submit", scene, "--frames", "1", "--blender-version", "latest"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("blender_version is a version such as 3.4 or 3.4.1, not 'latest'"), "\(bad.stderr)")
    }
}
