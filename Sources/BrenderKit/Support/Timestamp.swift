import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Converts between brender's stored times (seconds since 1970) and the ISO 8601 text of the API,
/// `2026-11-29T11:09:55.123Z`, by hand: lists format thousands of them.
public enum Timestamp {
    /// `2026-11-29T11:09:55.123Z` (UTC, milliseconds).
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e13 else { return "1970-01-01T00:00:00.000Z" }
        var whole = seconds.rounded(.down)
        var millis = Int(((seconds - whole) * 1000).rounded())
        if millis == 1000 {
            whole += 1
            millis = 0
        }
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        bytes.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        bytes.append(UInt8(ascii: "."))
        digits(millis, 3)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (what ``format(_:)`` writes) quickly, and other ISO 8601
    /// forms through Foundation.
    public static func parse(_ text: String) -> Double? {
        if let fast = parseUTC(Array(text.utf8)) { return fast }
        return (try? Date(text, strategy: .iso8601))?.timeIntervalSince1970
    }

    private static func parseUTC(_ bytes: [UInt8]) -> Double? {
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), (1...12).contains(month), (1...31).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction = 0.0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), let value = number(20..<(bytes.count - 1)) else { return nil }
            fraction = Double(value) / pow(10, Double(bytes.count - 21))
        } else if bytes.count != 20 {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Double(timegm(&parts)) + fraction
    }

    /// Seconds since 1970, now.
    public static var now: Double { Date().timeIntervalSince1970 }

    /// "12s ago", "5m ago", "3h ago", "2d ago"; "just now" under a second.
    public static func ago(_ seconds: Double, now: Double = Timestamp.now) -> String {
        let elapsed = max(0, now - seconds)
        return elapsed < 1 ? "just now" : "\(duration(elapsed)) ago"
    }

    /// A length of time in its largest unit: "12s", "5m", "3h", "2d".
    public static func duration(_ seconds: Double) -> String {
        let seconds = max(0, seconds.isFinite ? seconds : 0)
        switch seconds {
        case ..<60: return "\(Int(seconds))s"
        case ..<3600: return "\(Int(seconds / 60))m"
        case ..<86400: return "\(Int(seconds / 3600))h"
        default: return "\(Int(seconds / 86400))d"
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double` (for logs, metrics and arithmetic with timestamps).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
