import Foundation

/// When a workstation belongs to its user: inside these hours its client takes no new tasks
/// (brender 1's workstation mode); outside them it renders.
///
/// Written like `mo-fr 09:00-19:00`, several rules joined by `;` (`mo-fr 09:00-19:00; sa 10:00-14:00`).
/// Days are `mo tu we th fr sa su`, as ranges (`mo-fr`) or lists (`mo,we,fr`); no days means
/// every day. A range that ends before it starts runs past midnight (`22:00-06:00`) and belongs
/// to the day it starts on. Times are the worker's local time.
public struct WorkingHours: Sendable, Equatable, CustomStringConvertible {
    public struct Rule: Sendable, Equatable {
        /// 0 = Monday ... 6 = Sunday.
        var days: Set<Int>
        /// Minutes after midnight.
        var start: Int
        var end: Int
    }

    public var rules: [Rule]
    public let description: String

    public static let dayNames = ["mo", "tu", "we", "th", "fr", "sa", "su"]

    /// Parses a schedule. - Throws: a message saying what is wrong, for people.
    public init(parsing text: String) throws(FarmError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func bad(_ why: String) -> FarmError {
            .invalid(
                "bad schedule '\(text)': \(why); write e.g. \"mo-fr 09:00-19:00\" or \"mo-fr 09:00-18:00; sa 10:00-13:00\"",
                field: "values.schedule")
        }
        var rules: [Rule] = []
        for part in trimmed.split(separator: ";") {
            let words = part.split(separator: " ", omittingEmptySubsequences: true).map { $0.lowercased() }
            guard !words.isEmpty, words.count <= 2 else { throw bad("each rule is [DAYS] HH:MM-HH:MM") }
            var days = Set(0..<7)
            if words.count == 2 {
                days = []
                for item in words[0].split(separator: ",") {
                    let ends = item.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                    guard ends.count <= 2, let first = Self.dayNames.firstIndex(of: ends[0]),
                        let last = ends.count == 2 ? Self.dayNames.firstIndex(of: ends[1]) : first
                    else { throw bad("unknown days '\(item)'; days are \(Self.dayNames.joined(separator: " "))") }
                    var day = first
                    while true {
                        days.insert(day)
                        if day == last { break }
                        day = (day + 1) % 7
                    }
                }
            }
            let times = words.last!.split(separator: "-", omittingEmptySubsequences: false)
            guard times.count == 2, let start = Self.minutes(times[0]), let end = Self.minutes(times[1]) else {
                throw bad("'\(words.last!)' is not a time range HH:MM-HH:MM")
            }
            guard start != end, start < 24 * 60 else { throw bad("'\(words.last!)' is an empty time range") }
            rules.append(Rule(days: days, start: start, end: end))
        }
        guard !rules.isEmpty else { throw bad("it is empty") }
        self.rules = rules
        description = trimmed
    }

    private static func minutes(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 24 * 60
        else { return nil }
        return hours * 60 + minutes
    }

    /// Whether the moment `weekday` (0 = Monday), `minute` (after midnight) is inside the hours.
    public func contains(weekday: Int, minute: Int) -> Bool {
        rules.contains { rule in
            if rule.start < rule.end {
                return rule.days.contains(weekday) && minute >= rule.start && minute < rule.end
            }
            // Past midnight: the evening of a listed day, or the morning after one.
            return (rule.days.contains(weekday) && minute >= rule.start) || (rule.days.contains((weekday + 6) % 7) && minute < rule.end)
        }
    }

    /// Whether the time (seconds since 1970) is inside the hours in `timeZone`.
    public func contains(_ time: Double, timeZone: TimeZone) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: Date(timeIntervalSince1970: time))
        // Calendar's weekday: 1 = Sunday ... 7 = Saturday.
        let weekday = ((parts.weekday ?? 2) + 5) % 7
        return contains(weekday: weekday, minute: (parts.hour ?? 0) * 60 + (parts.minute ?? 0))
    }
}
