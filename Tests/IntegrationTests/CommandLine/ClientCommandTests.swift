import BrenderKit
import BrenderTesting
import Foundation
import Testing

/// `brender client ...` as whole processes against a real server and real workers.
@Suite struct ClientCommandTests {
    @Test func listShowsEveryWorkerInAnAlignedTableOrAsJSON() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "alpha", ["--tags", "gpu"])
        try farm.startWorker(name: "beta")
        #expect(await eventually { try await farm.clients().values.filter { $0["connection"] == "online" }.count == 2 })

        let table = try farm.run(["client", "list"])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("ID  NAME   STATUS   CONNECTION  ACTIVITY  SLOTS  TAGS  BLENDER  LAST SEEN"))
        // Rows are in id order; which worker registered first is up to the scheduler.
        #expect(lines.contains { $0.contains("alpha  enabled  online      idle      0/1    gpu   ") })
        #expect(lines.contains { $0.contains("beta   enabled  online      idle      0/1    -") })

        let json = try farm.run(["client", "list", "--json", "--filter", "tags=gpu"])
        #expect(json.status == 0)
        let items = try JSONValue.parse(Data(json.stdout.utf8)).arrayValue ?? []
        #expect(items.map { $0["name"] } == ["alpha"])
    }

    @Test func updateAndDeleteFollowTheGuards() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let worker = try farm.startWorker(name: "gamma")
        #expect(await eventually { try await farm.clients()["gamma"] != nil })

        let noFilter = try farm.run(["client", "update", "--set", "status=disabled"])
        #expect(noFilter.status == 2)
        #expect(noFilter.stderr.hasPrefix("brender: error: no --filter given"))

        let disableAll = try farm.run(["client", "update", "--all", "--set", "status=disabled"])
        #expect(disableAll.stdout == "1 client changed (1 matched)\n")

        let badValue = try farm.run(["client", "update", "--filter", "name=gamma", "--set", "status=sleeping"])
        #expect(badValue.status == 1)
        #expect(badValue.stderr.contains("\"sleeping\" is not a valid status for client"))

        let online = try farm.run(["client", "delete", "--filter", "name=gamma"])
        #expect(online.status == 1)
        #expect(online.stderr.contains("is online"))

        worker.send(SIGTERM)
        worker.waitForExit(timeout: 15)
        let deleted = try farm.run(["client", "delete", "--filter", "name=gamma"])
        #expect(deleted.status == 0)
        #expect(deleted.stdout == "1 client deleted\n")
        #expect(try await farm.clients().isEmpty)
    }

    @Test func showPrintsOneClientOrSaysItIsMissing() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        try farm.startWorker(name: "delta", ["--tags", "a,b"])
        #expect(await eventually { try await farm.clients()["delta"] != nil })
        let shown = try farm.run(["client", "show", "delta"])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("tags:          a,b"))
        let missing = try farm.run(["client", "show", "nobody"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "brender: error: no client has the id or name 'nobody'; see 'brender client list'\n")
    }

    @Test func listsShowOnePageUnlessAskedForAll() async throws {
        let farm = try TestFarm()
        try farm.startServer()
        let client = try farm.client()
        for index in 0..<105 {
            _ = try await client.post(
                "/worker/register", WorkerProtocol.Registration.simulated("n\(index)"),
                as: WorkerProtocol.Registered.self)
        }
        let page = try farm.run(["client", "list"])
        #expect(page.stdout.split(separator: "\n").count == 101)
        #expect(page.stderr == "showing 100 of 105 clients; use --limit, --offset or --all for more\n")
        let all = try farm.run(["client", "list", "--all", "--json"])
        #expect(try JSONValue.parse(Data(all.stdout.utf8)).arrayValue?.count == 105)
        #expect(all.stderr.isEmpty)
        let last = try farm.run(["client", "list", "--offset", "100", "--limit", "3"])
        #expect(last.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ")[1] } == ["n100", "n101", "n102"])
    }

    @Test func unreachableServerSaysSoWithoutACrash() throws {
        let farm = try TestFarm()
        let result = try ChildProcess.run(
            farm.binary, ["client", "list", "--server", "http://127.0.0.1:1"], logDirectory: farm.directory, name: "unreachable")
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "brender: error: cannot reach the brender server at http://127.0.0.1:1 (connection refused); is 'brender server' running there, on that port?\n"
        )
    }
}
