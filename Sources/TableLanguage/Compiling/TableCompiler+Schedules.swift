import Routing
extension TableCompiler {
    mutating func compileSchedules(_ node: YAMLNode) {
        guard let entries = collect({ _ throws(TableError) in try node.entries("schedules") }) else { return }
        for e in entries {
            guard let schedule = collect({ c throws(TableError) in try c.schedule(e) }) else {
                failed.insert("schedule:\(e.key)")
                continue
            }
            scheduleIndex[schedule.id] = schedules.count
            schedules.append(schedule)
            scheduleMarks.append(e.keyMark)
        }
    }

    func schedule(_ e: YAMLNode.Entry) throws(TableError) -> Schedule {
        let what = "schedule '\(e.key)'"
        let f = try e.value.fields(what, allowed: ["weekly", "overrides", "emergency_closures", "calendar_years"], required: ["weekly"])
        var weekly: [[Schedule.Window]] = Array(repeating: [], count: 7)
        var assigned = Array(repeating: false, count: 7)
        for item in try f["weekly"]!.sequence("weekly") {
            let w = try item.fields("a weekly entry of \(what)", allowed: ["days", "hours"], required: ["days", "hours"])
            let days = try weekdays(w["days"]!)
            let windows = try self.windows(w["hours"]!, what: what)
            for d in days {
                guard !assigned[d] else {
                    throw w["days"]!.error("\(Schedule.dayNames[d]) appears in two weekly entries of \(what); give each weekday once.")
                }
                assigned[d] = true
                weekly[d] = windows
            }
        }
        var overrides: [CivilDate: Schedule.Override] = [:]
        if let o = f["overrides"] {
            for item in try o.sequence("overrides") {
                let fields = try item.fields("an override of \(what)", allowed: ["date", "from", "to", "hours", "closed", "reason"])
                let dates = try overrideDates(fields, item)
                let closed = try fields["closed"]?.bool("closed") ?? false
                let hours = try fields["hours"].map { n throws(TableError) in try windows(n, what: what) }
                guard closed != (hours != nil) else {
                    throw item.error("an override gives either 'closed: true' or 'hours', not both and not neither.")
                }
                let override = Schedule.Override(windows: hours ?? [], reason: try fields["reason"]?.string("reason"))
                for d in dates {
                    guard overrides[d] == nil else { throw item.error("\(d) has two overrides in \(what); give each date once.") }
                    overrides[d] = override
                }
            }
        }
        var emergencies: [Schedule.EmergencyClosure] = []
        if let c = f["emergency_closures"] {
            for item in try c.sequence("emergency_closures") {
                let fields = try item.fields("an emergency closure of \(what)", allowed: ["from", "until", "reason"], required: ["from", "until"])
                let from = try instant(fields["from"]!)
                let until = try instant(fields["until"]!)
                guard from < until else { throw fields["until"]!.error("an emergency closure must end after it starts.") }
                emergencies.append(.init(from: from, until: until, reason: try fields["reason"]?.string("reason")))
            }
        }
        let years = try f["calendar_years"].map { n throws(TableError) in try calendarYears(n, what: what) }
        if let years, let outside = overrides.keys.sorted().first(where: { !years.contains($0.components.year) }) {
            throw f["calendar_years"]!.error("\(what) states that its calendar covers \(years.lowerBound)-\(years.upperBound), but it has an override on \(outside); widen calendar_years or remove the override.")
        }
        return Schedule(id: e.key, zone: zone?.identifier ?? "", weekly: weekly, overrides: overrides, emergencies: emergencies,
                        calendarYears: years)
    }

    /// `calendar_years: 2026` or `"2026-2027"`: the years a schedule's holiday overrides cover.
    func calendarYears(_ node: YAMLNode, what: String) throws(TableError) -> ClosedRange<Int> {
        let text = try node.string("calendar_years")
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int(String($0).trimmingWhitespace) }
        guard (1...2).contains(parts.count), let first = parts.first ?? nil, let last = parts.last ?? nil,
              (1900...9999).contains(first), first <= last, last <= 9999 else {
            throw node.error("calendar_years of \(what) must be a year or a range of years, like 2026 or \"2026-2027\".")
        }
        return first...last
    }

    /// `daily`, `weekdays`, `weekends`, `mon-fri`, `sat`, or a list of those.
    func weekdays(_ node: YAMLNode) throws(TableError) -> [Int] {
        var out: [Int] = []
        for word in try node.strings("days") {
            let w = word.lowercased()
            switch w {
            case "daily": out += Array(0...6)
            case "weekdays": out += Array(0...4)
            case "weekends": out += [5, 6]
            default:
                let ends = w.split(whereSeparator: { $0 == "-" || $0 == "–" }).map(String.init)
                guard (1...2).contains(ends.count), let first = Schedule.dayNames.firstIndex(of: ends[0]),
                      let last = Schedule.dayNames.firstIndex(of: ends.last!), first <= last else {
                    throw node.error("days: '\(word)' is not a weekday; expected daily, weekdays, weekends, mon…sun or a range like mon-fri.")
                }
                out += Array(first...last)
            }
        }
        return out
    }

    /// Windows written `HH:MM-HH:MM`; a close not after the open crosses midnight; `24:00` is the end of the day.
    func windows(_ node: YAMLNode, what: String) throws(TableError) -> [Schedule.Window] {
        var out: [Schedule.Window] = []
        for text in try node.strings("hours") {
            let parts = text.split(whereSeparator: { $0 == "-" || $0 == "–" }).map { String($0).trimmingWhitespace }
            guard parts.count == 2, let open = minutes(parts[0]), let close = minutes(parts[1]), open < 1440 else {
                throw node.error("hours '\(text)' of \(what) must be a window like 04:00-23:50 (24-hour clock, 24:00 for midnight at the end).")
            }
            guard open != close else {
                throw node.error("hours '\(text)' of \(what) is empty; for a whole day write 00:00-24:00.")
            }
            out.append(Schedule.Window(open: open, close: close > open ? close : close + 1440))
        }
        return out.sorted { $0.open < $1.open }
    }

    func minutes(_ text: String) -> Int32? {
        let hm = text.split(separator: ":")
        guard hm.count == 2, hm[1].count == 2, let h = Int32(hm[0]), let m = Int32(hm[1]), (0...24).contains(h), (0...59).contains(m),
              h < 24 || m == 0 else { return nil }
        return h * 60 + m
    }

    func overrideDates(_ fields: [String: YAMLNode], _ item: YAMLNode) throws(TableError) -> [CivilDate] {
        func date(_ node: YAMLNode) throws(TableError) -> CivilDate {
            let text = try node.string("date")
            guard let d = CivilDate(iso: text) else { throw node.error("'\(text)' is not a date; expected YYYY-MM-DD.") }
            return d
        }
        if let d = fields["date"] {
            guard fields["from"] == nil, fields["to"] == nil else { throw item.error("an override gives 'date' or 'from'/'to', not both.") }
            return [try date(d)]
        }
        guard let f = fields["from"], let t = fields["to"] else { throw item.error("an override needs 'date', or 'from' and 'to'.") }
        let from = try date(f), to = try date(t)
        guard from <= to, to.day - from.day < 366 else { throw t.error("'to' must be on or after 'from' and within a year of it.") }
        return (from.day...to.day).map(CivilDate.init(day:))
    }

    func instant(_ node: YAMLNode) throws(TableError) -> Instant {
        let text = try node.string("instant")
        guard let parsed = Timestamp.parse(text) else {
            throw node.error("'\(text)' is not an instant; expected ISO 8601 with an offset, like 2026-11-22T23:50:00+03:00.")
        }
        return parsed.instant
    }
}
