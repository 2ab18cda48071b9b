/// A schedule whose holiday calendar ends soon, or has ended: after its last year the holidays are no
/// longer applied, so the lines it governs open on them (issue 14: "on 2028-01-06 the lines are open").
///
/// Produced by ``Table/calendarExpiries(at:within:)``; `switchboard check` and `coverage` print them as
/// warnings, and the engine logs them when it loads tables and reports them in `health`.
public struct CalendarExpiry: Sendable, Hashable, CustomStringConvertible {
    public let table: String
    public let schedule: String
    public let years: ClosedRange<Int>
    /// The last day the calendar covers (December 31 of its last year).
    public let lastDay: CivilDate
    /// The first instant it no longer covers: midnight after ``lastDay`` in the table's zone.
    public let end: Instant
    /// Whole days from the instant asked about to ``end``, rounded down; negative once it has ended.
    public let daysLeft: Int

    public var hasEnded: Bool { daysLeft < 0 }

    /// `{"table", "schedule", "years", "last_day", "days_left", "ended", "message"}`: for `coverage --json`
    /// and the engine's `health` reply.
    public var value: Value {
        .object([.init("table", .string(table)), .init("schedule", .string(schedule)),
                 .init("years", .string("\(years.lowerBound)-\(years.upperBound)")), .init("last_day", .string(lastDay.description)),
                 .init("days_left", .number(Double(daysLeft))), .init("ended", .bool(hasEnded)), .init("message", .string(description))])
    }

    /// `table es-bank-directory: the holiday calendar of schedule 'office-hours' (2026-2027) ends on 2027-12-31, in 40 days; …`
    public var description: String {
        let when = hasEnded ? "ended on \(lastDay)" : "ends on \(lastDay), in \(daysLeft) day\(daysLeft == 1 ? "" : "s")"
        return "table \(table): the holiday calendar of schedule '\(schedule)' (\(years.lowerBound)-\(years.upperBound)) \(when); "
            + "after it no holiday closes the schedule: add the next year's dates and widen calendar_years."
    }
}

extension Table {
    /// How many days before a calendar's end it is reported.
    public static let calendarWarningDays = 90

    /// The schedules whose stated calendar (`calendar_years`) ends within `days` of `instant`, or has ended.
    ///
    /// A pure function of the table and the instant, so the engine can call it at start and in `health`:
    /// ```swift
    /// for expiry in table.calendarExpiries(at: now) { logger.warning("\(expiry)") }
    /// ```
    /// - Complexity: O(schedules).
    public func calendarExpiries(at instant: Instant, within days: Int = Table.calendarWarningDays) -> [CalendarExpiry] {
        schedules.compactMap { schedule in
            guard let years = schedule.calendarYears, let lastDay = CivilDate(year: years.upperBound, month: 12, day: 31) else { return nil }
            let end = Instant(seconds: zone.utc(fromLocal: (lastDay.day + 1) * 86_400))
            let daysLeft = Int((end.milliseconds - instant.milliseconds).floorDiv(86_400_000))
            guard daysLeft < days else { return nil }
            return CalendarExpiry(table: name, schedule: schedule.id, years: years, lastDay: lastDay, end: end, daysLeft: daysLeft)
        }
    }
}
