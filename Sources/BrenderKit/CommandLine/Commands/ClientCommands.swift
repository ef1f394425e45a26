import FarmCore
import Foundation

/// `brender client list|show|update|delete`.
enum ClientCommands {
    static let spec = CommandSpec(
        "client", abstract: "Inspect and manage render nodes (clients).",
        subcommands: [list, show, update, delete])

    static let list = CommandSpec(
        "list", abstract: "List render nodes.",
        discussion: "Filter keys: \(Client.schema.fields.filter(\.filterable).map(\.name).joined(separator: ", ")).",
        options: [
            CommonOptions.filter("client"), CommonOptions.sort(Client.schema), CommonOptions.search(Client.schema), CommonOptions.limit,
            CommonOptions.offset, CommonOptions.everything, CommonOptions.json,
            CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        examples: [
            "brender client list",
            "brender client list --filter status=enabled --filter tags=gpu",
            "brender client list --filter connection=online --json | jq '.[].name'",
        ],
        action: { parsed, context in
            let (response, filters) = try await CommonOptions.readPage(parsed, item: "client", schema: Client.schema)
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
                CommonOptions.notePaging(response, noun: "client", context)
            } else if response.items.isEmpty {
                context.printError(filters.isEmpty ? "no clients have registered yet; start one with 'brender worker'" : "no clients match")
            } else {
                context.output.write(table(response.items))
                CommonOptions.notePaging(response, noun: "client", context)
            }
            return 0
        })

    static let show = CommandSpec(
        "show", abstract: "Show one render node in full.",
        options: [CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca],
        positionals: [PositionalSpec("CLIENT", help: "The client's id or name.")],
        examples: ["brender client show node-07"],
        action: { parsed, context in
            let key = parsed.positional("CLIENT")!
            let filters: [String: JSONValue] = Int64(key).map { ["id": .int($0)] } ?? ["name": .string(key)]
            let response = try await CommonOptions.client(parsed).send(APIRequest(item: "client", action: "read", filters: filters))
            guard let client = response.items.first else {
                throw CommandFailure("no client has the id or name '\(key)'; see 'brender client list'")
            }
            if parsed.flag("json") {
                context.print(client.prettyPrinted())
            } else {
                for field in Client.schema.fields {
                    let value = client[field.name] ?? .null
                    let text =
                        value.arrayValue.map { $0.map { $0.stringValue ?? $0.serialized() }.joined(separator: ",") } ?? value.stringValue
                        ?? value.serialized()
                    context.print("\((field.name + ":").padding(toLength: 15, withPad: " ", startingAt: 0))\(text)")
                }
            }
            return 0
        })

    static let update = CommandSpec(
        "update", abstract: "Change render nodes: enable or disable them, rename, retag.",
        discussion:
            "Fields you can set: \(Client.schema.fields.filter(\.updatable).map(\.name).joined(separator: ", ")). Without --filter, --all is required so a whole farm is never changed by accident.",
        options: [
            CommonOptions.filter("client"),
            .value("set", "KEY=VALUE", kind: .keyValue, repeatable: true, help: "A field to change; tags take a comma list."),
            CommonOptions.all("client"), CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        examples: [
            "brender client update --filter name=node-07 --set status=disabled",
            "brender client update --all --set status=enabled",
            "brender client update --filter id=3 --set tags=gpu,fast",
        ],
        action: { parsed, context in
            let filters = try CommonOptions.fields(parsed, option: "filter", schema: Client.schema, forFilter: true)
            let values = try CommonOptions.fields(parsed, option: "set", schema: Client.schema, forFilter: false)
            if values.isEmpty {
                throw UsageError("nothing to change", hint: "add --set KEY=VALUE, e.g. --set status=disabled")
            }
            if filters.isEmpty && !parsed.flag("all") {
                throw UsageError("no --filter given: this would change every client", hint: "add --filter KEY=VALUE, or --all to mean every client")
            }
            if parsed.flag("now") && values["status"] != "disabled" {
                throw UsageError("--now goes with --set status=disabled", hint: "it stops the task a node is running as it is disabled")
            }
            let request = APIRequest(
                item: "client", action: "update", filters: filters, values: values, all: parsed.flag("all"), now: parsed.flag("now"))
            let response = try await CommonOptions.client(parsed).send(request)
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
            } else {
                context.print("\(count(response.count, "client")) changed (\(response.total) matched)")
                for item in response.items {
                    guard let note = item["note"]?.stringValue else { continue }
                    context.print("client \(item["id"]?.intValue ?? 0) (\(item["name"]?.stringValue ?? "?")): \(note)")
                }
            }
            return 0
        })

    static let delete = CommandSpec(
        "delete", abstract: "Forget render nodes.",
        discussion:
            "An online client is refused unless --force is given. Deleting a client revokes its worker's credential: a worker still running stops at its next heartbeat, and that machine joins again only after its worker.key is deleted, with the join token.",
        options: [
            CommonOptions.filter("client"), .flag("force", help: "Delete online clients too."), CommonOptions.all("client"),
            CommonOptions.json, CommonOptions.server, CommonOptions.token, CommonOptions.ca,
        ],
        examples: ["brender client delete --filter name=old-node", "brender client delete --filter connection=offline"],
        action: { parsed, context in
            let filters = try CommonOptions.fields(parsed, option: "filter", schema: Client.schema, forFilter: true)
            if filters.isEmpty && !parsed.flag("all") {
                throw UsageError("no --filter given: this would delete every client", hint: "add --filter KEY=VALUE, or --all to mean every client")
            }
            let request = APIRequest(item: "client", action: "delete", filters: filters, all: parsed.flag("all"), force: parsed.flag("force"))
            let response = try await CommonOptions.client(parsed).send(request)
            if parsed.flag("json") {
                CommonOptions.printJSON(response, context)
            } else {
                context.print("\(count(response.count, "client")) deleted")
            }
            return 0
        })

    static func table(_ items: [JSONValue], now: Double = Timestamp.now) -> String {
        var table = TextTable(headers: ["ID", "NAME", "STATUS", "CONNECTION", "ACTIVITY", "SLOTS", "TAGS", "BLENDER", "LAST SEEN"])
        for item in items {
            let lastSeen = item["last_seen"]?.stringValue.flatMap(Timestamp.parse).map { Timestamp.ago($0, now: now) } ?? "-"
            let tags = item["tags"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
            let blenders = item["blender_versions"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
            table.append([
                item["id"]?.intValue.map(String.init) ?? "?", item["name"]?.stringValue ?? "?", item["status"]?.stringValue ?? "?",
                item["connection"]?.stringValue ?? "?", item["activity"]?.stringValue ?? "?", slots(item), tags.isEmpty ? "-" : tags,
                blenders.isEmpty ? "-" : blenders, lastSeen,
            ])
        }
        return table.rendered()
    }

    /// A client's slots as busy/all, e.g. `1/2`.
    static func slots(_ item: JSONValue) -> String {
        guard let all = item["slots"]?.intValue else { return "?" }
        return "\(item["slots_busy"]?.intValue ?? 0)/\(all)"
    }
}

/// "1 client", "3 clients".
func count(_ number: Int, _ noun: String) -> String {
    "\(number) \(noun)\(number == 1 ? "" : "s")"
}
