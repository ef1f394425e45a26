import Foundation

/// `brender man`: the manual pages, printed or written to a folder.
enum ManCommand {
    static let spec = CommandSpec(
        "man", abstract: "Print a manual page, or write them all to a folder.",
        discussion:
            "The pages are generated from the same command tree as the parser and --help, with written prose. 'brender man job | man -l -' reads one without installing it.",
        options: [.value("output", short: "o", "DIR", help: "Write every page (brender.1, brender-server.1, ...) into DIR.")],
        positionals: [
            PositionalSpec(
                "PAGE", kind: .choice(["brender"] + ManPages.groups), optional: true, help: "brender (the default), or a command group.")
        ],
        examples: ["brender man job | man -l -", "brender man --output /usr/share/man/man1"],
        action: { parsed, context in
            let pages = ManPages.pages()
            if let directory = parsed.string("output") {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    for page in pages { try page.text.write(toFile: "\(directory)/\(page.name)", atomically: true, encoding: .utf8) }
                } catch {
                    throw CommandFailure("cannot write the pages into \(directory): \(error)")
                }
                return 0
            }
            let name = parsed.positional("PAGE").map { $0 == "brender" ? "brender.1" : "brender-\($0).1" } ?? "brender.1"
            context.output.write(pages.first { $0.name == name }!.text)
            return 0
        })
}
