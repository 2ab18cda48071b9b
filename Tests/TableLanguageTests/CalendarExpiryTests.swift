import Testing
@testable import Routing
@testable import TableLanguage
import TestSupport

/// Holiday calendars state the years they cover, and a table reports a calendar that ends within 90 days or has ended.
@Suite(.timeLimit(.minutes(5)))
struct CalendarExpiryTests {
    let bank: Table = try! TableLoader.load(yaml: try! bundledTableText("es-bank-directory"), file: "es-bank-directory.yaml")

    @Test(arguments: [
        ("2026-11-23T12:00:00+01:00", nil as Int?),            // over a year left: nothing to say
        ("2027-10-03T01:00:00+02:00", nil),                    // exactly 90 days before the end (CET from October 31)
        ("2027-10-03T01:01:00+02:00", 89),                     // within 90 days: warned
        ("2027-12-31T23:59:00+01:00", 0),                      // the last minute of the calendar
        ("2028-01-06T10:00:00+01:00", -6),                     // Epifanía 2028: the calendar has ended
    ])
    func theNationalHolidaysOfTheBankDirectory(_ instant: String, _ daysLeft: Int?) {
        let expiries = bank.calendarExpiries(at: at(instant))
        if let daysLeft {
            // Every schedule sharing the national holidays says so.
            #expect(expiries.count == 6)
            #expect(expiries.allSatisfy { $0.daysLeft == daysLeft && $0.years == 2026...2027 && $0.lastDay.description == "2027-12-31" })
            #expect(expiries.first?.hasEnded == (daysLeft < 0))
            #expect(expiries.first?.end == at("2028-01-01T00:00:00+01:00"))
        } else {
            #expect(expiries.isEmpty)
        }
    }

    @Test func theValueForHealthAndJSON() {
        let v = bank.calendarExpiries(at: at("2027-11-01T12:00:00+01:00")).first?.value
        #expect(v?["schedule"] == .string("online-support-hours"))
        #expect(v?["years"] == .string("2026-2027"))
        #expect(v?["last_day"] == .string("2027-12-31"))
        #expect(v?["days_left"] == .number(60))
        #expect(v?["ended"] == .bool(false))
    }

    @Test func aScheduleWithoutStatedYearsIsNotReported() {
        #expect(retention.calendarExpiries(at: at("2040-01-01T00:00:00Z")).isEmpty)
    }

    @Test func theMessageSaysWhatToDo() {
        let text = bank.calendarExpiries(at: at("2028-01-06T10:00:00+01:00")).first?.description ?? ""
        #expect(text.contains("table es-bank-directory: the holiday calendar of schedule 'online-support-hours' (2026-2027) ended on 2027-12-31"))
        #expect(text.contains("widen calendar_years"))
    }

    func schedule(_ extra: String) -> String {
        """
        table: t
        time_zone: Europe/Madrid
        schedules:
          office:
            weekly: [{days: mon-fri, hours: "08:00-15:00"}]
        \(extra)
        targets:
          desk: {name: Desk, address: "1", schedule: office, mode: blind}
        topics:
          t:
            rules:
              - {id: t.go, transfer: desk, when_closed: {first_line: "Cerrado."}}
        """
    }

    @Test func anOverrideOutsideTheStatedYearsIsAnError() {
        let errors = loadErrors(schedule("""
            calendar_years: 2026
            overrides: [{date: 2027-01-01, closed: true}]
        """))
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("covers 2026-2026, but it has an override on 2027-01-01") == true)
    }

    @Test(arguments: ["\"2027-2026\"", "\"next year\"", "\"2026-\""])
    func badCalendarYearsAreRefused(_ years: String) {
        let errors = loadErrors(schedule("    calendar_years: \(years)"))
        #expect(errors.first?.message.contains("calendar_years of schedule 'office' must be a year or a range of years") == true, "\(errors)")
    }

    @Test func aSingleYearIsAccepted() throws {
        let t = try table(schedule("    calendar_years: 2026\n    overrides: [{date: 2026-12-25, closed: true}]"))
        #expect(t.schedules.first?.calendarYears == 2026...2026)
        #expect(t.calendarExpiries(at: at("2026-11-22T12:00:00+01:00")).first?.daysLeft == 39)
    }
}
