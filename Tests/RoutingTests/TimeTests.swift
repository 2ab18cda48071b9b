import Testing
@testable import Routing
import TestSupport

@Suite(.timeLimit(.minutes(5)))
struct TimestampTests {
    @Test(arguments: [
        ("2026-11-22T20:55:00Z", Int64(1_795_380_900_000), Int32(0)),
        ("2026-11-22T23:55:00+03:00", 1_795_380_900_000, 10_800),
        ("2026-11-22T23:55+03:00", 1_795_380_900_000, 10_800),
        ("2026-11-22 23:55:00+0300", 1_795_380_900_000, 10_800),
        ("2026-11-22T15:55:00-05:00", 1_795_380_900_000, -18_000),
        ("2026-11-22T20:55:00.250Z", 1_795_380_900_250, 0),
        ("1969-12-31T23:59:59Z", -1000, 0),
    ])
    func parse_acceptsOffsets(text: String, milliseconds: Int64, offset: Int32) {
        let parsed = Timestamp.parse(text)
        #expect(parsed?.instant.milliseconds == milliseconds)
        #expect(parsed?.offsetSeconds == offset)
    }

    @Test(arguments: ["2026-11-22T23:55:00", "2026-11-22", "2026-02-30T10:00:00Z", "2026-11-22T24:00:00Z",
                      "2026-11-22T23:60:00Z", "2026-13-01T00:00:00Z", "2026-11-22T23:55:00+3", "2026-11-22T23:55:00Zjunk",
                      "", "now", "2026-11-22T23:55:00.Z"])
    func parse_rejectsMalformed(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func format_roundTripsInAnyOffset() {
        let instant = Instant(milliseconds: 1_795_380_900_000)
        #expect(Timestamp.format(instant, offsetSeconds: 10_800) == "2026-11-22T23:55:00+03:00")
        #expect(Timestamp.format(instant, offsetSeconds: 0) == "2026-11-22T20:55:00Z")
        #expect(Timestamp.format(instant, offsetSeconds: -16_200) == "2026-11-22T16:25:00-04:30")
        #expect(Timestamp.format(Instant(milliseconds: -1), offsetSeconds: 0) == "1969-12-31T23:59:59.999Z")
    }

    /// The fixed-layout writer of four-digit years writes what the field-by-field one does, and what it writes
    /// parses back to the same instant and offset.
    @Test func fixedLayoutWritesWhatFieldByFieldDoes() {
        var rng = SplitMix64(seed: 17)
        for n in 0..<50_000 {
            // Years 0 to 9999, whole seconds and odd milliseconds, offsets of whole and odd minutes and seconds.
            let milliseconds = Int64.random(in: -62_167_219_200_000...253_402_300_799_999, using: &rng) / (n % 3 == 0 ? 1 : 1000) * (n % 3 == 0 ? 1 : 1000)
            let offset = Int32.random(in: -18 * 3600...18 * 3600, using: &rng) / (n % 2 == 0 ? 60 : 1) * (n % 2 == 0 ? 60 : 1)
            let local = milliseconds + Int64(offset) * 1000
            guard local >= -62_167_219_200_000, local < 253_402_300_800_000 else { continue }
            let seconds = local.floorDiv(1000)
            let date = CivilDate(day: seconds.floorDiv(86_400)).components
            let secondOfDay = Int(seconds.floorMod(86_400))
            let millis = Int(local.floorMod(1000))
            var fixedOutput = OutputBuffer(), byPartsOutput = OutputBuffer()
            Timestamp.writeFixed(date, secondOfDay, millis, offset, into: &fixedOutput)
            Timestamp.writeByParts(date, secondOfDay, millis, offset, into: &byPartsOutput)
            let fixed = fixedOutput.bytes, byParts = byPartsOutput.bytes
            #expect(fixed == byParts)
            if fixed != byParts { return }
            if offset % 60 == 0, date.year >= 1 {
                let text = String(decoding: fixed, as: UTF8.self)
                #expect(Timestamp.parse(text)?.instant.milliseconds == milliseconds, "\(text)")
            }
        }
    }

    /// Where `write` chooses between the two writers: years −1/0 and 9999/10000, offsets of 99:59:59 and 100 hours.
    @Test func writesTheEdgesOfTheFixedLayoutAsFieldByField() {
        func byParts(_ instant: Instant, _ offset: Int32) -> String {
            let local = instant.milliseconds + Int64(offset) * 1000
            let seconds = local.floorDiv(1000)
            var out = OutputBuffer()
            Timestamp.writeByParts(CivilDate(day: seconds.floorDiv(86_400)).components, Int(seconds.floorMod(86_400)),
                                   Int(local.floorMod(1000)), offset, into: &out)
            return String(decoding: out.bytes, as: UTF8.self)
        }
        let yearZero = Timestamp.parse("0000-01-01T00:00:00Z")!.instant.milliseconds
        let year9999 = Timestamp.parse("9999-12-31T23:59:59.999Z")!.instant.milliseconds
        for milliseconds in [yearZero - 1, yearZero, year9999, year9999 + 1, 1_795_380_900_000] {
            for offset: Int32 in [0, 359_999, -359_999, 360_000, -360_000, 10_800] {
                let instant = Instant(milliseconds: milliseconds - Int64(offset) * 1000)
                #expect(Timestamp.format(instant, offsetSeconds: offset) == byParts(instant, offset))
            }
        }
        #expect(Timestamp.format(Instant(milliseconds: 1_795_380_900_000), offsetSeconds: 360_000) == "2026-11-27T00:55:00+100:00")
    }

    @Test func leapDay() {
        #expect(Timestamp.parse("2028-02-29T12:00:00Z") != nil)
        #expect(Timestamp.parse("2027-02-29T12:00:00Z") == nil)
        #expect(Timestamp.parse("2000-02-29T12:00:00Z") != nil)
        #expect(Timestamp.parse("2100-02-29T12:00:00Z") == nil)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct CivilDateTests {
    @Test func daysRoundTripAcrossCenturies() {
        for day in stride(from: Int64(-800_000), through: 800_000, by: 97) {
            let c = CivilDate(day: day).components
            #expect(CivilDate(year: c.year, month: c.month, day: c.day)?.day == day)
        }
    }

    @Test func weekdays() {
        #expect(CivilDate(iso: "1970-01-01")?.weekday == 3)  // Thursday
        #expect(CivilDate(iso: "2026-11-23")?.weekday == 0)  // Monday
        #expect(CivilDate(iso: "2026-11-22")?.weekday == 6)  // Sunday
        #expect(CivilDate(iso: "1969-12-29")?.weekday == 0)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct ZoneRulesTests {
    let moscow = ZoneRules(identifier: "Europe/Moscow")!
    let madrid = ZoneRules(identifier: "Europe/Madrid")!

    @Test func moscowHistory() {
        #expect(moscow.offset(at: at("2013-06-01T12:00:00Z")) == 14_400)  // UTC+4, 2011–2014
        #expect(moscow.offset(at: at("2015-06-01T12:00:00Z")) == 10_800)
        #expect(moscow.offset(at: at("2010-07-01T12:00:00Z")) == 14_400)  // summer time, UTC+4
        #expect(moscow.offset(at: at("2010-01-01T12:00:00Z")) == 10_800)
    }

    @Test func madridSwitchesAtOneUTC() {
        #expect(madrid.offset(at: at("2026-03-29T00:59:59Z")) == 3600)
        #expect(madrid.offset(at: at("2026-03-29T01:00:00Z")) == 7200)
        #expect(madrid.offset(at: at("2026-10-25T00:59:59Z")) == 7200)
        #expect(madrid.offset(at: at("2026-10-25T01:00:00Z")) == 3600)
    }

    @Test func localTimeInTheSpringGapMeansTheJump() {
        // 02:30 on 2026-03-29 does not exist in Madrid: the clocks go from 02:00 to 03:00 (01:00Z).
        let local = CivilDate(iso: "2026-03-29")!.day * 86_400 + 2 * 3600 + 1800
        #expect(madrid.utc(fromLocal: local) == at("2026-03-29T01:00:00Z").seconds)
    }

    @Test func ambiguousAutumnTimeMeansTheFirstOccurrence() {
        // 02:30 on 2026-10-25 happens twice in Madrid: first at 00:30Z (summer time).
        let local = CivilDate(iso: "2026-10-25")!.day * 86_400 + 2 * 3600 + 1800
        #expect(madrid.utc(fromLocal: local) == at("2026-10-25T00:30:00Z").seconds)
    }

    @Test func unknownZone() {
        #expect(ZoneRules(identifier: "Mars/Olympus_Mons") == nil)
    }
}
