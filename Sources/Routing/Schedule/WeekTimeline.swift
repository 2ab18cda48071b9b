/// A schedule's weekly windows folded onto one week: the minutes, counted from Monday 00:00 local time, at
/// which it opens or closes, with the state from each on.
///
/// Made once per schedule at load, so that deciding whether a schedule is open and when it next changes is a
/// binary search, not a conversion of every window edge of several days through the zone. It knows neither
/// overrides, closures nor offset changes: ``Schedule`` asks it only where none lies near the instant.
struct WeekTimeline: Sendable {
    static let minutesInWeek = 7 * 1440
    /// Minutes from Monday 00:00 at which the state changes, ascending, below ``minutesInWeek``.
    private let edges: [Int32]
    /// `opensAt[i]`: whether the schedule is open from `edges[i]` until the next edge.
    private let opensAt: [Bool]
    /// The state at Monday 00:00, which is the state all week when there are no edges.
    private let openAtWeekStart: Bool

    init(_ weekly: [[Schedule.Window]]) {
        var open = [Bool](repeating: false, count: WeekTimeline.minutesInWeek)
        for (day, windows) in weekly.enumerated() {
            for w in windows {
                // A window crossing midnight reaches into the next day; Sunday's into Monday of the next week.
                for minute in Int(w.open)..<Int(w.close) { open[(day * 1440 + minute) % WeekTimeline.minutesInWeek] = true }
            }
        }
        var edges: [Int32] = []
        var opensAt: [Bool] = []
        for minute in 0..<WeekTimeline.minutesInWeek where open[minute] != open[(minute + WeekTimeline.minutesInWeek - 1) % WeekTimeline.minutesInWeek] {
            edges.append(Int32(minute))
            opensAt.append(open[minute])
        }
        self.edges = edges
        self.opensAt = opensAt
        self.openAtWeekStart = open[0]
    }

    /// Whether the weekly windows hold at local time `localSeconds` (seconds since 1970-01-01T00:00 local).
    func isOpen(atLocal localSeconds: Int64) -> Bool {
        guard let last = opensAt.last else { return openAtWeekStart }
        // Before the week's first edge, the state is the one the last edge of the week before left.
        let i = lastEdge(atOrBefore: minuteOfWeek(localSeconds))
        return i < 0 ? last : opensAt[i]
    }

    /// The first local instant (seconds) after `localSeconds` at which the state changes; nil when it never does.
    func nextEdge(afterLocal localSeconds: Int64) -> Int64? {
        guard let first = edges.first else { return nil }
        let minute = minuteOfWeek(localSeconds)
        let weekStart = localSeconds - localSeconds.floorMod(86_400) - Int64(minute / 1440) * 86_400
        // An edge at the current minute began at or before `localSeconds`: the next is the one after it.
        let i = lastEdge(atOrBefore: minute) + 1
        let edge = i < edges.count ? Int64(edges[i]) : Int64(first) + Int64(WeekTimeline.minutesInWeek)
        return weekStart + edge * 60
    }

    private func minuteOfWeek(_ localSeconds: Int64) -> Int {
        let weekday = Int((localSeconds.floorDiv(86_400) + 3).floorMod(7))  // 1970-01-01 was a Thursday
        return weekday * 1440 + Int(localSeconds.floorMod(86_400) / 60)
    }

    /// The index of the last edge at or before `minute`, or -1.
    private func lastEdge(atOrBefore minute: Int) -> Int {
        var lo = 0, hi = edges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(edges[mid]) <= minute { lo = mid + 1 } else { hi = mid }
        }
        return lo - 1
    }
}
