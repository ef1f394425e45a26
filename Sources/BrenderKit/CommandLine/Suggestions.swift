/// "Did you mean" suggestions for mistyped commands and options.
enum Suggestions {
    /// The candidate closest to `input` by edit distance, if it is close enough to be a likely typo
    /// (or `input` is a unique prefix of it).
    static func closest(to input: String, among candidates: [String]) -> String? {
        let prefixed = candidates.filter { $0.hasPrefix(input) }
        if !input.isEmpty && prefixed.count == 1 { return prefixed[0] }
        let scored = candidates.map { (candidate: $0, distance: editDistance(input, $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        let allowed = max(1, min(3, input.count / 3))
        return best.distance <= allowed ? best.candidate : nil
    }

    /// Damerau-Levenshtein distance (optimal string alignment): insertions, deletions,
    /// substitutions and swaps of neighbours each cost 1.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
