import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A set of timings in seconds, summarised as people read them.
struct Timings: Sendable {
    private(set) var samples: [Double] = []

    init() {}

    mutating func add(_ seconds: Double) { samples.append(seconds) }

    var median: Double { percentile(50) }
    var p99: Double { percentile(99) }

    func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return .nan }
        let sorted = samples.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return sorted[min(sorted.count - 1, max(0, rank))]
    }
}

/// Seconds on a monotonic clock.
func monotonicSeconds() -> Double {
    ProcessInfo.processInfo.systemUptime
}

/// Times `body` in seconds.
func measure<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
    let start = monotonicSeconds()
    let result = try await body()
    return (result, monotonicSeconds() - start)
}

/// CPU time and peak memory of a process, read from /proc.
struct ProcessUsage: Sendable {
    let cpuSeconds: Double
    /// CPU of children the process has waited for.
    let childCPUSeconds: Double
    let peakRSSBytes: Int
    let rssBytes: Int

    /// Reads `/proc/PID/stat` and `/proc/PID/status`; nil when the process is gone.
    init?(pid: Int32) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        // Fields after the command name (which is in parentheses and may hold spaces).
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        cpuSeconds = ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / ticks
        childCPUSeconds = ((Double(fields[13]) ?? 0) + (Double(fields[14]) ?? 0)) / ticks
        func kilobytes(_ key: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0) * 1024
        }
        peakRSSBytes = kilobytes("VmHWM:")
        rssBytes = kilobytes("VmRSS:")
    }
}

/// "1.23 ms", "45 µs", "2.1 s".
func formatDuration(_ seconds: Double) -> String {
    switch seconds {
    case ..<0.000_001: String(format: "%.0f ns", seconds * 1e9)
    case ..<0.001: String(format: "%.0f µs", seconds * 1e6)
    case ..<1: String(format: "%.2f ms", seconds * 1e3)
    default: String(format: "%.2f s", seconds)
    }
}

func formatBytes(_ bytes: Int) -> String {
    String(format: "%.1f MB", Double(bytes) / 1_000_000)
}
