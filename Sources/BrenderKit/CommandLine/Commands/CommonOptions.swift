import Foundation

/// Options shared by several commands, declared once.
enum CommonOptions {
    static let defaultServer = "http://127.0.0.1:9999"

    static let server = OptionSpec.value(
        "server", short: "s", "URL", kind: .url, environment: "BRENDER_SERVER", default: defaultServer,
        help: "The brender server to talk to.")

    static let token = OptionSpec.value(
        "token", "TOKEN", environment: "BRENDER_TOKEN",
        help: "The admin token or a named token (default: DATA/tokens/admin.token when readable, DATA being $BRENDER_DATA or ./brender-data).")

    static let ca = OptionSpec.value(
        "ca", "FILE", environment: "BRENDER_CA",
        help: "For an https:// server: trust the certificate authorities in this PEM file instead of the system's.")

    static let json = OptionSpec.flag("json", help: "Print the server's JSON items instead of a table.")

    static func filter(_ item: String) -> OptionSpec {
        var option = OptionSpec.value(
            "filter", short: "f", "KEY=VALUE", kind: .keyValue, repeatable: true,
            help: "Only \(item)s whose KEY is VALUE; a comma list matches any of its values; several filters must all match.")
        // Completion offers the item's filterable fields, and each value of a field with a fixed set.
        let fields = Farm.schemas.first { $0.item == item }?.fields.filter(\.filterable) ?? []
        option.suggestions = fields.flatMap { field -> [String] in
            if case .choice(let words) = field.type { return words.map { "\(field.name)=\($0)" } }
            return ["\(field.name)="]
        }
        return option
    }

    /// Lists show one page unless asked for more: the server filters and pages, and a command
    /// never downloads a whole farm to show a screenful.
    static let defaultPageSize = 100

    static let limit = OptionSpec.value(
        "limit", "N", kind: .integer(1...1_000_000), default: String(defaultPageSize), help: "Show at most N items.")
    static let offset = OptionSpec.value("offset", "N", kind: .integer(0...Int(Int32.max)), help: "Skip the first N matching items.")
    static let everything = OptionSpec.flag("all", help: "Show every matching item, not one page.")

    /// `--sort FIELD` of a list: any of the item's fields, `-` in front for descending.
    static func sort(_ schema: ItemSchema) -> OptionSpec {
        .value("sort", "FIELD", kind: .string, help: "Order by this field ('-' in front for descending), on the server, before paging.")
    }

    /// `--search TEXT` of a list.
    static func search(_ schema: ItemSchema) -> OptionSpec {
        .value(
            "search", "TEXT", kind: .string,
            help: "Keep the \(schema.item)s with this text in their \(schema.searchFields.joined(separator: ", ")) (any case).")
    }

    /// The `limit` of a list request: nil (everything) with --all.
    static func pageLimit(_ parsed: ParsedCommand) -> Int? {
        parsed.flag("all") ? nil : parsed.int("limit")
    }

    static func all(_ item: String) -> OptionSpec {
        .flag("all", help: "Act on every \(item) when no --filter is given.")
    }

    /// The client for `--server`, with the admin token.
    static func client(_ parsed: ParsedCommand) throws -> BrenderClient {
        try BrenderClient(server: parsed.string("server") ?? defaultServer, token: token(parsed), trust: parsed.string("ca"))
    }

    /// `--token` or `BRENDER_TOKEN`; else the token file of a local data directory this user can
    /// read, so the admin on the server machine needs no setup.
    static func token(_ parsed: ParsedCommand) -> String? {
        parsed.string("token") ?? ServerTokens.local(.admin)
    }

    /// Turns `--filter` (or `--set`) `KEY=VALUE` pairs into API JSON, typed by the item's schema.
    static func fields(_ parsed: ParsedCommand, option: String, schema: ItemSchema, forFilter: Bool) throws(UsageError) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for (key, text) in parsed.keyValues(option) {
            if result[key] != nil {
                throw UsageError(
                    "--\(option) \(key)=... is given twice",
                    hint: forFilter ? "to match several values, give one comma list: --filter \(key)=a,b" : "set each field once")
            }
            result[key] = schema.commandLineValue(field: key, text: text, forFilter: forFilter)
        }
        return result
    }

    /// Reads one page of `item` as `--filter`, `--limit`, `--offset` and `--all` ask, with `filters`
    /// added; returns the answer and the filters the user gave.
    static func readPage(
        _ parsed: ParsedCommand, item: String, schema: ItemSchema, adding extra: [String: JSONValue] = [:]
    ) async throws -> (response: APIResponse, filters: [String: JSONValue]) {
        var filters = try fields(parsed, option: "filter", schema: schema, forFilter: true)
        filters.merge(extra) { _, added in added }
        if let sort = parsed.string("sort"), schema.field(sort.hasPrefix("-") ? String(sort.dropFirst()) : sort) == nil {
            throw UsageError(
                "--sort '\(sort)' is not a field of a \(item)",
                hint: "sort by one of \(schema.fields.map(\.name).joined(separator: ", ")); '-' in front sorts descending")
        }
        let request = APIRequest(
            item: item, action: "read", filters: filters, limit: pageLimit(parsed), offset: parsed.int("offset") ?? 0, sort: parsed.string("sort"),
            search: parsed.string("search"))
        return (try await client(parsed).send(request), filters)
    }

    /// Tells on standard error that there is more than the page shown.
    static func notePaging(_ response: APIResponse, noun: String, _ context: CommandContext) {
        if response.total > response.count {
            context.printError("showing \(response.count) of \(response.total) \(noun)s; use --limit, --offset or --all for more")
        }
    }

    /// Prints an API answer's items as JSON, one array, for scripts and `jq`.
    static func printJSON(_ response: APIResponse, _ context: CommandContext) {
        context.print(JSONValue.array(response.items).prettyPrinted())
    }
}
