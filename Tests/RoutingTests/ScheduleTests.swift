import Testing
@testable import Routing
import TableLanguage
import TestSupport

@Suite(.timeLimit(.minutes(5)))
struct ScheduleTests {
    func open(_ t: Table, _ instant: String) -> Bool {
        t.schedule("s").isOpen(at: at(instant), zone: t.zone)
    }

    func next(_ t: Table, _ instant: String) -> String? {
        t.schedule("s").nextChange(after: at(instant), zone: t.zone).map { Timestamp.format($0, in: t.zone) }
    }

    @Test(arguments: [
        ("2026-11-23T03:59:59+03:00", false), ("2026-11-23T04:00:00+03:00", true),
        ("2026-11-23T23:49:59+03:00", true), ("2026-11-23T23:50:00+03:00", false),
        ("2026-11-23T23:59:59+03:00", false), ("2026-11-24T00:00:00+03:00", false),
    ])
    func window_isHalfOpen(instant: String, expected: Bool) throws {
        let t = try scheduleTable("weekly: [{days: daily, hours: \"04:00-23:50\"}]")
        #expect(open(t, instant) == expected)
    }

    @Test func window_crossingMidnight_belongsToTheDayItStarts() throws {
        // Friday night 22:00–02:00; nothing on Saturday.
        let t = try scheduleTable("weekly: [{days: fri, hours: \"22:00-02:00\"}]")
        #expect(!open(t, "2026-11-27T21:59:00+03:00"))
        #expect(open(t, "2026-11-27T22:00:00+03:00"))
        #expect(open(t, "2026-11-28T01:59:59+03:00"))  // Saturday morning, Friday's window
        #expect(!open(t, "2026-11-28T02:00:00+03:00"))
        #expect(!open(t, "2026-11-28T22:30:00+03:00"))  // Saturday has no window of its own
        #expect(next(t, "2026-11-27T23:00:00+03:00") == "2026-11-28T02:00:00+03:00")
        #expect(next(t, "2026-11-28T03:00:00+03:00") == "2026-12-04T22:00:00+03:00")
    }

    @Test func window_endingAt24_joinsTheNextDay() throws {
        let t = try scheduleTable("weekly: [{days: daily, hours: [\"00:00-24:00\"]}]")
        #expect(t.schedule("s").isAlwaysOpen)
        #expect(open(t, "2026-11-23T23:59:59+03:00"))
        #expect(next(t, "2026-11-23T12:00:00+03:00") == nil)
    }

    @Test func weekdayRangesAndSeveralWindows() throws {
        let t = try scheduleTable("""
        weekly:
          - {days: mon-thu, hours: "08:00-19:00"}
          - {days: fri, hours: ["08:00-12:00", "13:00-15:00"]}
        """)
        #expect(open(t, "2026-11-26T18:59:00+03:00"))  // Thursday
        #expect(!open(t, "2026-11-27T12:30:00+03:00"))  // Friday lunch
        #expect(open(t, "2026-11-27T13:00:00+03:00"))
        #expect(!open(t, "2026-11-28T10:00:00+03:00"))  // Saturday
        #expect(next(t, "2026-11-27T16:00:00+03:00") == "2026-11-30T08:00:00+03:00")
        #expect(t.schedule("s").summary == "mon–thu 08:00–19:00; fri 08:00–12:00, 13:00–15:00; sat–sun closed")
    }

    @Test func override_replacesTheWeeklyWindowsOfItsDate() throws {
        let t = try scheduleTable("""
        weekly: [{days: daily, hours: "04:00-23:50"}]
        overrides:
          - {date: 2026-12-31, hours: "04:00-18:00", reason: "Новый год"}
          - {from: 2027-01-01, to: 2027-01-02, closed: true}
        """)
        #expect(open(t, "2026-12-31T17:59:00+03:00"))
        #expect(!open(t, "2026-12-31T18:00:00+03:00"))
        #expect(!open(t, "2027-01-01T12:00:00+03:00"))
        #expect(!open(t, "2027-01-02T12:00:00+03:00"))
        #expect(open(t, "2027-01-03T04:00:00+03:00"))
        #expect(next(t, "2026-12-31T18:30:00+03:00") == "2027-01-03T04:00:00+03:00")
        #expect(t.schedule("s").state(at: at("2027-01-01T12:00:00+03:00"), zone: t.zone).explanation.contains("2027-01-01 override"))
    }

    @Test func override_doesNotCutAnOvernightWindowOfTheDayBefore() throws {
        let t = try scheduleTable("""
        weekly: [{days: daily, hours: "20:00-02:00"}]
        overrides: [{date: 2026-12-25, closed: true}]
        """)
        #expect(open(t, "2026-12-25T01:00:00+03:00"))  // the 24th's window
        #expect(!open(t, "2026-12-25T21:00:00+03:00"))
        #expect(open(t, "2026-12-26T01:00:00+03:00") == false)  // the 25th had no window to run over
    }

    @Test func emergencyClosure_winsOverEverything() throws {
        let t = try scheduleTable("""
        weekly: [{days: daily, hours: "00:00-24:00"}]
        overrides: [{date: 2026-11-23, hours: "00:00-24:00"}]
        emergency_closures:
          - {from: "2026-11-23T10:00:00+03:00", until: "2026-11-23T10:30:00+03:00", reason: "авария"}
        """)
        #expect(!t.schedule("s").isAlwaysOpen)
        #expect(open(t, "2026-11-23T09:59:59+03:00"))
        #expect(!open(t, "2026-11-23T10:00:00+03:00"))
        #expect(open(t, "2026-11-23T10:30:00+03:00"))
        #expect(next(t, "2026-11-23T09:00:00+03:00") == "2026-11-23T10:00:00+03:00")
        #expect(next(t, "2026-11-23T10:10:00+03:00") == "2026-11-23T10:30:00+03:00")
        #expect(next(t, "2026-11-23T11:00:00+03:00") == nil)
        let state = t.schedule("s").state(at: at("2026-11-23T10:10:00+03:00"), zone: t.zone)
        #expect(!state.isOpen && state.explanation.contains("emergency closure (авария)"))
    }

    /// Madrid's spring transition: 2026-03-29 02:00 local jumps to 03:00 (01:00Z).
    @Test func dst_springForward_madrid() throws {
        let t = try scheduleTable(zone: "Europe/Madrid", "weekly: [{days: daily, hours: \"01:30-02:30\"}]")
        #expect(open(t, "2026-03-29T00:30:00Z"))  // 01:30 CET
        #expect(open(t, "2026-03-29T00:59:59Z"))  // 01:59:59 CET
        // 02:30 never happens: the window closes at the jump, 03:00 CEST.
        #expect(!open(t, "2026-03-29T01:00:00Z"))
        #expect(next(t, "2026-03-29T00:45:00Z") == "2026-03-29T03:00:00+02:00")
        // The day after, the window is back to a full hour in summer time.
        #expect(open(t, "2026-03-30T00:00:00Z"))  // 02:00 CEST
        #expect(!open(t, "2026-03-30T00:30:00Z"))  // 02:30 CEST
    }

    /// Madrid's autumn transition: 2026-10-25 03:00 local goes back to 02:00 (01:00Z).
    @Test func dst_fallBack_madrid() throws {
        let t = try scheduleTable(zone: "Europe/Madrid", "weekly: [{days: daily, hours: \"08:00-20:00\"}]")
        #expect(open(t, "2026-10-25T07:00:00Z"))  // 08:00 CET, after the switch
        #expect(!open(t, "2026-10-25T06:59:59Z"))
        #expect(open(t, "2026-10-24T06:00:00Z"))  // 08:00 CEST the day before
        #expect(next(t, "2026-10-25T03:00:00Z") == "2026-10-25T08:00:00+01:00")
        #expect(next(t, "2026-10-24T12:00:00Z") == "2026-10-24T20:00:00+02:00")
        // A window across the repeated hour lasts an hour longer that night.
        let night = try scheduleTable(zone: "Europe/Madrid", "weekly: [{days: sat, hours: \"22:00-06:00\"}]")
        #expect(open(night, "2026-10-25T04:59:59Z"))  // 05:59:59 CET
        #expect(!open(night, "2026-10-25T05:00:00Z"))
        #expect(next(night, "2026-10-24T20:00:00Z") == "2026-10-25T06:00:00+01:00")
    }

    @Test func nextChange_isFoundBeyondAMonth() throws {
        let t = try scheduleTable("""
        weekly: [{days: daily, hours: "09:00-18:00"}]
        overrides: [{from: 2027-01-01, to: 2027-02-20, closed: true}]
        """)
        #expect(next(t, "2027-01-01T12:00:00+03:00") == "2027-02-21T09:00:00+03:00")
    }

    @Test func valid_until_isTheEarliestChangeOfEveryScheduleConsulted() throws {
        // sim_courier reads the retention line's hours before deciding, even when it transfers elsewhere.
        let call = Call(callID: "c", topic: "sim_courier", customer: ["region": .string("moscow")],
                        facts: ["delivery": .string("abroad")])
        let d = try retention.evaluate(call, at: at("2026-11-23T12:00:00+03:00"))
        #expect(d.target?.id == "english-split")
        #expect(d.validUntil == at("2026-11-23T23:50:00+03:00"))
        #expect(Timestamp.format(d.validUntil!, offsetSeconds: d.validUntilOffset) == "2026-11-23T23:50:00+03:00")
    }

    /// A decision remembers each schedule it consulted, the first 64 of a table by a bit each and any beyond in a
    /// list: `valid_until` is the earliest change among them, wherever each was.
    @Test func valid_until_countsSchedulesBeyondTheSixtyFourth() throws {
        let schedules = (0..<70).map { n in
            let hours = n == 66 ? "10:00-18:00" : n == 3 ? "09:00-09:45" : n == 4 ? "09:00-12:00" : "00:00-01:00"
            return "  s\(n): {weekly: [{days: daily, hours: \"\(hours)\"}]}\n"
        }.joined()
        func decide(_ fallback: String, at time: String) throws -> Decision {
            let t = try table("""
            table: t
            time_zone: UTC
            schedules:
            \(schedules)targets:
              a: {name: A, address: "1", schedule: s66, mode: blind}
              b3: {name: B, address: "2", schedule: s3, mode: blind}
              b4: {name: B, address: "2", schedule: s4, mode: blind}
            cases:
              later: {category: Later}
            topics:
              t:
                rules:
                  - id: t.go
                    transfer: a
                    when_closed: [{transfer: \(fallback)}, {case: later}]
            """)
            #expect(t.schedules.firstIndex { $0.id == "s66" }! >= 64)
            return try t.evaluate(Call(callID: "c", topic: "t"), at: at(time))
        }
        // Open: only the 67th schedule was consulted.
        #expect(try decide("b3", at: "2026-11-23T11:00:00Z").validUntil == at("2026-11-23T18:00:00Z"))
        // Closed, then the fallback's: the earlier of the two changes, whichever schedule it comes from.
        #expect(try decide("b3", at: "2026-11-23T09:30:00Z").validUntil == at("2026-11-23T09:45:00Z"))
        #expect(try decide("b4", at: "2026-11-23T09:30:00Z").validUntil == at("2026-11-23T10:00:00Z"))
    }

    /// The week's timeline answers most instants; the search over every window edge answers all. Wherever the
    /// timeline answers, it must say what the search says: every schedule of the bundled tables and schedules
    /// with offset changes, overrides, overnight windows and closures, over two years, at instants on and
    /// between minutes.
    @Test(arguments: ["retention-ru", "es-bank-directory", "es-fraud-alerts", "es-ivr-unblock", "br-broadband", "cn-card-service"])
    func weekTimeline_agreesWithTheSearch_bundled(name: String) throws {
        let t = try TableLoader.load(yaml: try bundledTableText(name), file: "\(name).yaml")
        expectTimelineAgrees(t)
    }

    @Test func weekTimeline_agreesWithTheSearch_offsetChangesOverridesClosures() throws {
        for zone in ["Europe/Madrid", "America/Sao_Paulo", "Europe/Moscow", "Australia/Lord_Howe"] {
            let t = try scheduleTable(zone: zone, """
            weekly: [{days: mon-fri, hours: ["01:30-02:30", "08:00-20:00"]}, {days: sat, hours: "22:00-06:00"}, {days: sun, hours: "23:00-01:00"}]
            overrides:
              - {date: 2026-12-31, hours: "04:00-18:00", reason: "Новый год"}
              - {from: 2027-01-01, to: 2027-01-02, closed: true}
              - {date: 2026-05-02, hours: "00:00-24:00"}
            emergency_closures:
              - {from: "2026-11-23T10:00:00+03:00", until: "2026-11-23T10:30:00+03:00", reason: "авария"}
              - {from: "2027-02-01T00:00:30Z", until: "2027-02-03T12:00:00Z"}
            """)
            expectTimelineAgrees(t)
        }
    }

    func expectTimelineAgrees(_ t: Table, sourceLocation: SourceLocation = #_sourceLocation) {
        let start = at("2026-01-01T00:00:00Z").seconds
        for schedule in t.schedules {
            var mismatches = 0
            for k in Int64(0)..<3_400 {
                // 307 minutes apart, so the instants walk through every minute of the week; some mid-minute.
                let instant = Instant(seconds: start + k * 307 * 60 + (k % 3 == 0 ? 0 : k % 60))
                if schedule.isOpen(at: instant, zone: t.zone) != schedule.isOpenBySearch(at: instant, zone: t.zone)
                    || schedule.nextChange(after: instant, zone: t.zone) != schedule.nextChangeBySearch(after: instant, zone: t.zone) {
                    mismatches += 1
                    if mismatches <= 3 { Issue.record("schedule \(schedule.id) of \(t.name) (\(t.zone)) at \(Timestamp.format(instant, in: t.zone))", sourceLocation: sourceLocation) }
                }
            }
        }
    }
}
