import Foundation
import Synchronization

/// Stops a task whose process prints nothing for too long: a hung render would otherwise hold
/// its worker forever, since the worker itself keeps reporting.
///
/// Headless Cycles prints about every 30 seconds while it samples, so the default limit (30
/// minutes) only catches a process that has stopped making progress.
final class SilenceWatchdog: Sendable {
    let limit: Double
    private let lastHeard = Mutex(Timestamp.now)
    private let barked = Mutex(false)

    init(limit: Double) {
        self.limit = limit
    }

    /// The process printed a line.
    func heard() {
        lastHeard.withLock { $0 = Timestamp.now }
    }

    /// Whether the watchdog stopped the task.
    var fired: Bool { barked.withLock { $0 } }

    /// Watches until cancelled; flips `stop` when the process has been silent for `limit`.
    func watch(_ stop: StopSignal) async {
        let interval = min(5, max(0.05, limit / 4))
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(interval)) } catch { return }
            let silent = Timestamp.now - lastHeard.withLock { $0 }
            if silent >= limit {
                barked.withLock { $0 = true }
                stop.stop(reason: "the process printed nothing for \(Self.describe(limit))")
                return
            }
        }
    }

    static func describe(_ seconds: Double) -> String {
        seconds >= 120 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60)) minutes" : "\(seconds.formatted()) s"
    }
}
