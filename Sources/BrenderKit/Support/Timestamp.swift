import Foundation

/// Converts between brender's stored times (seconds since 1970) and the ISO 8601 text of the API.
public enum Timestamp {
    /// `2026-11-29T11:09:55.123Z`.
    public static func format(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    public static func parse(_ text: String) -> Double? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date.timeIntervalSince1970
        }
        return (try? Date(text, strategy: .iso8601))?.timeIntervalSince1970
    }

    /// Seconds since 1970, now.
    public static var now: Double { Date().timeIntervalSince1970 }

    /// "12s ago", "5m ago", "3h ago", "2d ago"; "just now" under a second.
    public static func ago(_ seconds: Double, now: Double = Timestamp.now) -> String {
        let elapsed = max(0, now - seconds)
        switch elapsed {
        case ..<1: return "just now"
        case ..<60: return "\(Int(elapsed))s ago"
        case ..<3600: return "\(Int(elapsed / 60))m ago"
        case ..<86400: return "\(Int(elapsed / 3600))h ago"
        default: return "\(Int(elapsed / 86400))d ago"
        }
    }
}
