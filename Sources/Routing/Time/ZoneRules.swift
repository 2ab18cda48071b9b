import Foundation

/// The UTC offsets of one IANA time zone, precomputed as a sorted list of transitions.
///
/// Built once per table from the system's zone data through Foundation's `TimeZone`
/// (which knows history: Moscow was UTC+4 in 2013), then answered by binary search, so
/// evaluation never calls into Foundation.
public struct ZoneRules: Sendable {
    public let identifier: String
    /// UTC seconds at which a new offset takes effect, ascending.
    package let transitions: [Int64]
    /// `offsets[0]` holds before the first transition; `offsets[i + 1]` from `transitions[i]` on.
    let offsets: [Int32]

    /// Transitions are tabulated over these years; outside them the nearest offset holds.
    static let firstYear = 1900
    static let lastYear = 2200

    /// - Returns: nil when the system knows no zone of that name.
    public init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.identifier = identifier
        let start = Date(timeIntervalSince1970: TimeInterval(CivilDate(year: ZoneRules.firstYear, month: 1, day: 1)!.day * 86_400))
        let end = Date(timeIntervalSince1970: TimeInterval(CivilDate(year: ZoneRules.lastYear, month: 1, day: 1)!.day * 86_400))
        var transitions: [Int64] = []
        var offsets: [Int32] = [Int32(zone.secondsFromGMT(for: start))]
        var cursor = start
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor), next < end {
            let offset = Int32(zone.secondsFromGMT(for: next))
            if offset != offsets.last {
                transitions.append(Int64(next.timeIntervalSince1970.rounded()))
                offsets.append(offset)
            }
            cursor = next
        }
        self.transitions = transitions
        self.offsets = offsets
    }

    /// Seconds east of UTC at `utcSeconds`.
    /// - Complexity: O(log n) in the number of transitions.
    public func offset(atUTC utcSeconds: Int64) -> Int32 {
        var lo = 0, hi = transitions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if transitions[mid] <= utcSeconds { lo = mid + 1 } else { hi = mid }
        }
        return offsets[lo]
    }

    public func offset(at instant: Instant) -> Int32 { offset(atUTC: instant.seconds) }

    /// The instant at which local wall-clock time `localSeconds` (seconds since 1970-01-01T00:00 local) occurs.
    ///
    /// A wall time that occurs twice (clocks going back) means its first occurrence; one that
    /// never occurs (clocks jumping forward) means the instant of the jump, so a window opening
    /// inside the gap opens when the clocks reach it.
    public func utc(fromLocal localSeconds: Int64) -> Int64 {
        let before = Int64(offset(atUTC: localSeconds - 86_400))
        let after = Int64(offset(atUTC: localSeconds + 86_400))
        let early = localSeconds - before
        if before == after { return early }
        let late = localSeconds - after
        let earlyValid = Int64(offset(atUTC: early)) == before
        let lateValid = Int64(offset(atUTC: late)) == after
        switch (earlyValid, lateValid) {
        case (true, true): return min(early, late)
        case (true, false): return early
        case (false, true): return late
        case (false, false): return firstTransition(after: min(early, late))
        }
    }

    private func firstTransition(after utcSeconds: Int64) -> Int64 {
        var lo = 0, hi = transitions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if transitions[mid] <= utcSeconds { lo = mid + 1 } else { hi = mid }
        }
        return lo < transitions.count ? transitions[lo] : utcSeconds
    }

    /// A stretch of time with one offset, from one transition to the next.
    package struct SteadySpan {
        /// The span is `[start, end)` in UTC seconds.
        let start: Int64
        let end: Int64
        /// Seconds east of UTC throughout.
        let offset: Int64

        /// Whether `utcSeconds` lies four days or more inside the span: far enough that the local days either
        /// side of it, and what ``ZoneRules/utc(fromLocal:)`` looks at a day either side of those, share the offset.
        func covers(_ utcSeconds: Int64) -> Bool {
            utcSeconds - 4 * 86_400 >= start && utcSeconds + 4 * 86_400 < end
        }

        /// The local day (days since 1970-01-01) at `utcSeconds`, which the span covers.
        func localDay(_ utcSeconds: Int64) -> Int64 { (utcSeconds + offset).floorDiv(86_400) }
    }

    /// The span of a single offset that holds at `utcSeconds`.
    /// - Complexity: O(log n) in the number of transitions.
    package func steadySpan(around utcSeconds: Int64) -> SteadySpan {
        var lo = 0, hi = transitions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if transitions[mid] <= utcSeconds { lo = mid + 1 } else { hi = mid }
        }
        return SteadySpan(start: lo > 0 ? transitions[lo - 1] : .min, end: lo < transitions.count ? transitions[lo] : .max,
                          offset: Int64(offsets[lo]))
    }

    /// The local calendar date at an instant.
    public func localDate(at instant: Instant) -> CivilDate {
        let local = instant.seconds + Int64(offset(at: instant))
        return CivilDate(day: local.floorDiv(86_400))
    }
}

extension ZoneRules: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { identifier }
    public var debugDescription: String { "ZoneRules(\(identifier), \(transitions.count) transitions)" }
}
