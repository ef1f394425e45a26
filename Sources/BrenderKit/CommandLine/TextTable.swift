/// An aligned plain-text table, as `ls -l` or `ps` print: a header row, then one row per item.
public struct TextTable: Sendable {
    public let headers: [String]
    public private(set) var rows: [[String]] = []

    public init(headers: [String]) {
        self.headers = headers
    }

    public mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// The table with columns padded to their widest cell; the last column is not padded.
    public func rendered() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        var out = ""
        for row in [headers] + rows {
            var line = ""
            for (column, cell) in row.enumerated() {
                if column == row.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[column] - cell.count + 2)
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
