import FarmCore
import Foundation

/// `brender pathmap list|set|delete`: shared storage under its name on each platform.
enum PathMapCommands {
    static let spec = CommandSpec(
        "pathmap", abstract: "Map shared storage paths between Linux, macOS and Windows nodes.",
        discussion: """
            A task's .blend file and output paths are rewritten for the platform of the node that runs it: a path that starts \\
            with one of a map's prefixes (on any platform) gets the same map's prefix for the node's platform. Windows \\
            prefixes match whatever the case and slash direction (P:\\shots, \\\\nas\\projects). A path no map covers is sent as it is.
            """,
        subcommands: [list, set, delete])

    static let list = CommandSpec(
        "list", abstract: "List path maps.", options: [CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca],
        action: { parsed, context in
            let response = try await CommonOptions.client(parsed).send(APIRequest(item: "pathmap", action: "read"))
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
            } else if response.items.isEmpty {
                context.printError("no path maps; add one with 'brender pathmap set NAME --linux /mnt/p --windows P:\\\\'")
            } else {
                var table = TextTable(headers: ["NAME", "LINUX", "DARWIN", "WINDOWS"])
                for map in response.items {
                    table.append(["name", "linux", "darwin", "windows"].map { map[$0]?.stringValue ?? "-" })
                }
                context.output.write(table.rendered())
            }
            return 0
        })

    static let set = CommandSpec(
        "set", abstract: "Create a path map, or change its prefixes.",
        options: [
            .value("linux", "PREFIX", help: "The prefix on Linux, e.g. /mnt/projects ('' removes it)."),
            .value("darwin", "PREFIX", help: "The prefix on macOS, e.g. /Volumes/projects."),
            .value("windows", "PREFIX", help: "The prefix on Windows, e.g. P:\\ or \\\\nas\\projects."),
            CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        positionals: [PositionalSpec("NAME", help: "The map's name.")],
        examples: ["brender pathmap set projects --linux /mnt/projects --darwin /Volumes/projects --windows 'P:\\'"],
        action: { parsed, context in
            let name = parsed.positional("NAME")!
            var values: [String: JSONValue] = [:]
            for platform in PathPlatform.allCases {
                if let prefix = parsed.string(platform.rawValue) { values[platform.rawValue] = .string(prefix) }
            }
            guard !values.isEmpty else { throw UsageError("no prefixes given", hint: "give --linux, --darwin and/or --windows") }
            let client = try CommonOptions.client(parsed)
            let existing = try await client.send(APIRequest(item: "pathmap", action: "read", filters: ["name": .string(name)]))
            let request =
                existing.items.isEmpty
                ? APIRequest(item: "pathmap", action: "create", values: values.merging(["name": .string(name)]) { $1 })
                : APIRequest(item: "pathmap", action: "update", filters: ["name": .string(name)], values: values)
            let response = try await client.send(request)
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
            } else {
                context.print("path map \(name) \(existing.items.isEmpty ? "created" : "changed")")
            }
            return 0
        })

    static let delete = CommandSpec(
        "delete", abstract: "Delete a path map.", options: [CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca],
        positionals: [PositionalSpec("NAME", help: "The map's name.")],
        action: { parsed, context in
            let name = parsed.positional("NAME")!
            let response = try await CommonOptions.client(parsed).send(
                APIRequest(item: "pathmap", action: "delete", filters: ["name": .string(name)]))
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
            } else if response.count == 0 {
                throw CommandFailure("there is no path map '\(name)'; see 'brender pathmap list'")
            } else {
                context.print("path map \(name) deleted")
            }
            return 0
        })
}
