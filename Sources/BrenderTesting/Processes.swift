import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Processes on this machine, found through /proc.
public enum Processes {
    /// The pids whose command line contains `text`.
    public static func matching(_ text: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { pid in
            guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let commandLine = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return commandLine.contains(text)
        }
    }

    /// Kills every process whose command line contains `text`.
    public static func kill(matching text: String) {
        for pid in matching(text) { Glibc.kill(pid, SIGKILL) }
    }
}
