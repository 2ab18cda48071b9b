/// When a target takes calls: weekly windows, dated overrides and emergency closures.
///
/// Precedence: an emergency closure closes whatever else says; an override replaces the weekly
/// windows of its date; otherwise the weekly windows of the weekday apply. Windows are half-open,
/// `[open, close)`, in the table's zone; a window whose close is not after its open crosses
/// midnight and belongs to the day it starts (so an override of the next day does not cut it).
///
/// A class, never changed once made: evaluation reads a table's schedules where they are, where a struct
/// read from the table's array was copied whole, ten members retained and released (about 330 instructions
/// a decision).
public final class Schedule: Sendable {
    public let id: String
    /// Seven lists, Monday first.
    package let weekly: [[Window]]
    package let overrides: [CivilDate: Override]
    package let emergencies: [EmergencyClosure]
    /// A human summary of the weekly windows, for traces: `04:00–23:50 daily`.
    public let summary: String
    /// Open at every instant: no window edges, overrides or closures can change it.
    public let isAlwaysOpen: Bool
    /// Trace words for the weekly case, made once: `open 04:00–23:50 daily Europe/Moscow`.
    package let openWords: String
    package let closedWords: String
    /// The weekly windows folded into one week, for the common case (no override, closure or offset change near
    /// the instant): ``isOpen(at:zone:)`` and ``nextChange(after:zone:)`` become a binary search.
    private let week: WeekTimeline
    /// The days with an override, ascending, to tell quickly whether one lies near an instant.
    private let overrideDays: [Int64]

    /// Minutes after local midnight; `close` may exceed 1440 for a window that crosses midnight.
    package struct Window: Sendable, Hashable {
        package let open: Int32
        package let close: Int32

        package var description: String { "\(Window.clock(open))–\(Window.clock(close))" }

        package static func clock(_ minutes: Int32) -> String {
            let m = Int(minutes % 1440 == 0 && minutes > 0 ? 1440 : minutes % 1440)
            return "\(pad(m / 60, 2)):\(pad(m % 60, 2))"
        }

        package init(open: Int32, close: Int32) {
            self.open = open
            self.close = close
        }
    }

    package struct Override: Sendable {
        package let windows: [Window]
        package let reason: String?

        package init(windows: [Window], reason: String?) {
            self.windows = windows
            self.reason = reason
        }
    }

    package struct EmergencyClosure: Sendable {
        package let from: Instant
        package let until: Instant
        package let reason: String?

        package init(from: Instant, until: Instant, reason: String?) {
            self.from = from
            self.until = until
            self.reason = reason
        }
    }

    /// The years the schedule's holiday calendar (its overrides) covers, as the table states them
    /// (`calendar_years: "2026-2027"`); nil when it states none. See ``Table/calendarExpiries(at:within:)``.
    public let calendarYears: ClosedRange<Int>?

    package init(id: String, zone: String, weekly: [[Window]], overrides: [CivilDate: Override], emergencies: [EmergencyClosure],
         calendarYears: ClosedRange<Int>? = nil) {
        self.id = id
        self.calendarYears = calendarYears
        self.weekly = weekly
        self.overrides = overrides
        self.emergencies = emergencies
        let allDay = weekly.allSatisfy { $0 == [Window(open: 0, close: 1440)] }
        self.isAlwaysOpen = allDay && overrides.isEmpty && emergencies.isEmpty
        self.summary = Schedule.summarize(weekly)
        self.week = WeekTimeline(weekly)
        self.overrideDays = overrides.keys.map(\.day).sorted()
        self.openWords = "open \(summary) \(zone)"
        self.closedWords = "closed \(summary) \(zone)"
    }

    /// What the schedule says at an instant, and why.
    public struct State: Sendable {
        public let isOpen: Bool
        /// Words for a trace: `open 04:00–23:50 daily`, `closed: emergency closure (…)`.
        public let explanation: String
        /// Whether `explanation` is the schedule's usual words (``openWords`` or ``closedWords``), not a closure's
        /// or an override's: a trace then uses the line rendered at load.
        package var isUsual = false
    }

    /// Whether the schedule is open at `instant`.
    public func isOpen(at instant: Instant, zone: ZoneRules) -> Bool {
        if isAlwaysOpen { return true }
        let t = instant.seconds
        let span = zone.steadySpan(around: t)
        if span.covers(t), !hasOverride(from: span.localDay(t) - 1, through: span.localDay(t)), !isClosedForEmergency(at: instant) {
            return week.isOpen(atLocal: t + span.offset)
        }
        return isOpenBySearch(at: instant, zone: zone)
    }

    /// ``isOpen(at:zone:)`` from the closures, then the windows of the day and the day before, each edge
    /// converted through the zone: right across offset changes and overrides, where the week's timeline is not.
    package func isOpenBySearch(at instant: Instant, zone: ZoneRules) -> Bool {
        if isClosedForEmergency(at: instant) { return false }
        let t = instant.seconds
        let today = zone.localDate(at: instant)
        for day in [CivilDate(day: today.day - 1), today] {
            for w in windows(on: day) {
                let start = zone.utc(fromLocal: day.day * 86_400 + Int64(w.open) * 60)
                let end = zone.utc(fromLocal: day.day * 86_400 + Int64(w.close) * 60)
                if start <= t && t < end { return true }
            }
        }
        return false
    }

    private func isClosedForEmergency(at instant: Instant) -> Bool {
        emergencies.contains { $0.from <= instant && instant < $0.until }
    }

    /// Whether any day from `first` through `last` (local days since 1970-01-01) has an override.
    private func hasOverride(from first: Int64, through last: Int64) -> Bool {
        var lo = 0, hi = overrideDays.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if overrideDays[mid] < first { lo = mid + 1 } else { hi = mid }
        }
        return lo < overrideDays.count && overrideDays[lo] <= last
    }

    /// Whether the schedule is open at `instant`, with the words that explain it.
    public func state(at instant: Instant, zone: ZoneRules) -> State {
        let open = isOpen(at: instant, zone: zone)
        if emergencies.isEmpty && overrides.isEmpty { return State(isOpen: open, explanation: open ? openWords : closedWords, isUsual: true) }
        let word = open ? "open" : "closed"
        if let e = emergencies.first(where: { $0.from <= instant && instant < $0.until }) {
            return State(isOpen: false, explanation: "closed: emergency closure\(e.reason.map { " (\($0))" } ?? "") until \(Timestamp.format(e.until, in: zone))")
        }
        let today = zone.localDate(at: instant)
        if let o = overrides[today] {
            let hours = o.windows.isEmpty ? "closed all day" : o.windows.map(\.description).joined(separator: ", ")
            return State(isOpen: open, explanation: "\(word): \(today) override\(o.reason.map { " (\($0))" } ?? ""), \(hours), \(zone.identifier)")
        }
        return State(isOpen: open, explanation: open ? openWords : closedWords, isUsual: true)
    }

    /// The first instant after `instant` at which the schedule opens or closes, looking up to a year ahead.
    /// - Returns: nil when nothing changes within that year (a 24/7 line).
    public func nextChange(after instant: Instant, zone: ZoneRules) -> Instant? {
        if isAlwaysOpen { return nil }
        if let next = nextChangeInWeek(after: instant.seconds, zone: zone) { return Instant(seconds: next) }
        return nextChangeBySearch(after: instant, zone: zone)
    }

    /// ``nextChange(after:zone:)`` from the week's timeline, when nothing the timeline does not know lies between
    /// the instant and the change: no offset change (four days of margin either side, beyond the reach of
    /// `ZoneRules.utc(fromLocal:)`), no override on those days, no emergency closure after the instant.
    /// - Returns: nil when the timeline cannot answer alone; the search then does.
    private func nextChangeInWeek(after t: Int64, zone: ZoneRules) -> Int64? {
        let span = zone.steadySpan(around: t)
        guard span.covers(t), let local = week.nextEdge(afterLocal: t + span.offset) else { return nil }
        let next = local - span.offset
        guard span.covers(next), !hasOverride(from: span.localDay(t) - 1, through: span.localDay(next) + 1) else { return nil }
        // A closure ending at the instant's own second is left to the search, which compares milliseconds.
        for e in emergencies where e.until.seconds >= t && e.from.seconds <= next { return nil }
        return next
    }

    /// The first change after `instant` found by collecting the edges of every window and closure over a
    /// widening horizon and testing each: right in every case (offset changes, overrides, closures).
    package func nextChangeBySearch(after instant: Instant, zone: ZoneRules) -> Instant? {
        if isAlwaysOpen { return nil }
        let current = isOpen(at: instant, zone: zone)
        let today = zone.localDate(at: instant)
        var searched: Int64 = 0  // boundaries before the start of day `today + searched` have been examined
        // Most answers lie within a day; widen the search only when they do not.
        for horizon: Int64 in [2, 8, 32, 370] {
            // Windows start on their own day, so every boundary before the start of day
            // `today + horizon` belongs to a day before it; collecting days up to it is complete.
            let limit = zone.utc(fromLocal: (today.day + horizon) * 86_400)
            let floor = searched == 0 ? instant.seconds : zone.utc(fromLocal: (today.day + searched) * 86_400) - 1
            var boundaries: [Int64] = []
            for d in (today.day - 1 + (searched == 0 ? 0 : searched - 1))...(today.day + horizon) {
                let day = CivilDate(day: d)
                for w in windows(on: day) {
                    boundaries.append(zone.utc(fromLocal: d * 86_400 + Int64(w.open) * 60))
                    boundaries.append(zone.utc(fromLocal: d * 86_400 + Int64(w.close) * 60))
                }
            }
            for e in emergencies {
                boundaries.append(e.from.seconds)
                boundaries.append(e.until.seconds)
            }
            boundaries.sort()
            for b in boundaries where b > floor && b > instant.seconds && b < limit {
                let candidate = Instant(seconds: b)
                if isOpen(at: candidate, zone: zone) != current { return candidate }
            }
            searched = horizon
        }
        return nil
    }

    package func windows(on day: CivilDate) -> [Window] {
        if let o = overrides[day] { return o.windows }
        return weekly[day.weekday]
    }

    package static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    static func summarize(_ weekly: [[Window]]) -> String {
        // Group consecutive weekdays with the same windows: "mon–fri 08:00–22:00; sat 09:00–15:00".
        var groups: [(first: Int, last: Int, windows: [Window])] = []
        for (day, ws) in weekly.enumerated() {
            if let g = groups.last, g.windows == ws, g.last == day - 1 {
                groups[groups.count - 1].last = day
            } else {
                groups.append((day, day, ws))
            }
        }
        func hours(_ ws: [Window]) -> String {
            ws.isEmpty ? "closed" : ws.map(\.description).joined(separator: ", ")
        }
        if groups.count == 1 { return "\(hours(groups[0].windows)) daily" }
        return groups.map { g in
            let days = g.first == g.last ? dayNames[g.first] : "\(dayNames[g.first])–\(dayNames[g.last])"
            return "\(days) \(hours(g.windows))"
        }.joined(separator: "; ")
    }
}
