import Testing
@testable import Routing
@testable import TableLanguage
import TestSupport

/// Crafted pairs of tables: each change shows exactly the expected differences, and nothing else.
@Suite(.timeLimit(.minutes(5)))
struct DiffTests {
    func variant(_ replacements: [(String, String)]) throws -> Table {
        var text = try bundledTableText("retention-ru")
        for (a, b) in replacements {
            #expect(text.contains(a), "the variant's text to replace is not in the table: \(a)")
            text = text.replacingOccurrences(of: a, with: b)
        }
        return try TableLoader.load(yaml: text, file: "new.yaml")
    }

    func run(_ new: Table, from: String = "2026-11-23", days: Int = 7, examples: Int = 50, expecting: ExpectedChanges? = nil) -> TableDiff {
        var diff = TableDiff(old: retention, new: new, examplesPerGroup: examples, expecting: expecting)
        for input in Sweep.inputs(old: retention, new: new, from: CivilDate(iso: from)!, days: days) { diff.compare(input.call, at: input.at) }
        return diff
    }

    @Test func identicalTablesChangeNothing() throws {
        let same = try TableLoader.load(yaml: try bundledTableText("retention-ru"), file: "same.yaml")
        let diff = run(same)
        #expect(diff.evaluated > 10_000)
        #expect(diff.changed == 0)
        #expect(diff.groups.isEmpty)
    }

    /// Retention closes at 23:00 instead of 23:50: only calls between those times change, from a transfer to
    /// the line's out-of-hours outcome, and every example stands in that half hour.
    @Test func aChangedHour() throws {
        let diff = run(try variant([(#"hours: "04:00-23:50""#, #"hours: "04:00-23:00""#)]))
        #expect(diff.changed > 0)
        for group in diff.groups {
            #expect(group.before.isEmpty == false)
            for e in group.examples {
                let local = (e.at.seconds + 3 * 3600).floorMod(86_400)
                #expect(local >= 23 * 3600 && local < 23 * 3600 + 50 * 60, "\(Timestamp.format(e.at, offsetSeconds: 10_800))")
                #expect(e.before.action == "transfer" || e.before.action == "first_line")
                #expect(e.after.action == "case" || e.after.action == "transfer")
            }
        }
        // key_account_request goes to the duty supervisor out of hours: a transfer either way, to another target.
        let keyAccount = diff.groups.first { $0.topic == "key_account_request" }
        #expect(keyAccount?.fields == ["target", "mode", "phrases"])
        #expect(Set(diff.groups.map(\.topic)).isSuperset(of: ["termination", "demands_senior", "fraud_block", "sim_courier"]))
        #expect(!diff.groups.contains { $0.topic == "equipment" })  // the equipment experts keep their hours
    }

    /// The two fraud_block conditions swapped in order decide alike: no change. Swapping rules that overlap does change.
    @Test func aReorderedRule() throws {
        let text = try bundledTableText("retention-ru")
        let a = """
              - id: demands_senior.equipment
                when: {facts.reason_given: true, facts.insists: true, facts.question: equipment}
                transfer: equipment-experts
                comment: "Клиент требует старшего специалиста: {facts.question}"
                when_closed: {case: equipment-experts}
        """
        let b = """
              - id: demands_senior.insists
                when: {facts.reason_given: true, facts.insists: true}
                transfer: retention
                comment: "Клиент требует старшего специалиста: {facts.question}"
                when_closed: {case: bo-retention-transfer}
        """
        #expect(text.contains(a + "\n" + b))
        // With the broader rule first, the equipment rule can never decide: the loader refuses that table.
        #expect(throws: TableErrors.self) { try TableLoader.load(yaml: text.replacingOccurrences(of: a + "\n" + b, with: b + "\n" + a), file: "new.yaml") }
        // Leniently loaded, the diff shows exactly the equipment calls moving to the retention line.
        let reordered = try TableLoader.load(yaml: text.replacingOccurrences(of: a + "\n" + b, with: b + "\n" + a), file: "new.yaml", lenient: true)
        let diff = run(reordered)
        #expect(Set(diff.groups.map(\.topic)) == ["demands_senior"])
        #expect(Set(diff.groups.map(\.ruleBefore)) == ["demands_senior.equipment"])
        #expect(Set(diff.groups.map(\.ruleAfter)) == ["demands_senior.insists"])
        for g in diff.groups { for e in g.examples { #expect(e.call.facts["question"] == .string("equipment")) } }
    }

    /// Out of hours, key-account managers get a case instead of the duty supervisor: only closed-hour calls change.
    @Test func aNewFallback() throws {
        let diff = run(try variant([("when_closed: {transfer: duty-supervisor}", "when_closed: {case: bo-retention-transfer}")]))
        #expect(diff.groups.count == 1)
        let g = try #require(diff.groups.first)
        #expect(g.topic == "key_account_request")
        #expect(g.fields == ["action", "target", "case", "via", "mode"])  // neither has phrases
        for e in g.examples {
            #expect(e.before.target == "duty-supervisor" && e.after.caseID == "bo-retention-transfer")
            #expect(!retention.schedule("retention-hours").isOpen(at: e.at, zone: retention.zone))
        }
    }

    /// The sweep reaches Madrid's DST nights: a window that ends inside the skipped hour and one across the repeated hour.
    @Test func sweepCoversMadridsDSTNights() throws {
        func madrid(_ hours: String) throws -> Table {
            try table("""
            table: m
            time_zone: Europe/Madrid
            schedules:
              night: {weekly: [{days: sat-sun, hours: "\(hours)"}]}
            targets:
              line: {name: L, address: "1", schedule: night, mode: blind}
            cases:
              later: {category: Later}
            topics:
              t:
                rules:
                  - {id: t.go, transfer: line, when_closed: {case: later}}
            """)
        }
        let old = try madrid("01:30-02:30"), new = try madrid("01:30-03:30")
        let instants = Sweep.representativeInstants(tables: [old, new], from: CivilDate(iso: "2026-11-23")!, days: 7)
        let days = Set(instants.map { old.zone.localDate(at: $0).description })
        #expect(days.contains("2027-03-28"))  // spring forward, within a year of the range
        #expect(days.contains("2026-11-28"))
        var diff = TableDiff(old: old, new: new, examplesPerGroup: 10_000)
        for input in Sweep.inputs(old: old, new: new, from: CivilDate(iso: "2026-11-23")!, days: 7) { diff.compare(input.call, at: input.at) }
        // On the spring night the old window ends at the jump (03:00 CEST) and the new one at 03:30 CEST:
        // a call in between is decided differently, and the sweep has one there.
        let changedAt = diff.groups.flatMap(\.examples).map(\.at)
        let springNight = changedAt.filter { old.zone.localDate(at: $0).description == "2027-03-28" }
        #expect(!springNight.isEmpty)
        for t in springNight {
            #expect(!old.schedule("night").isOpen(at: t, zone: old.zone) && new.schedule("night").isOpen(at: t, zone: new.zone))
        }
    }

    @Test func expectedChangesGateTheDiff() throws {
        let new = try variant([("when_closed: {transfer: duty-supervisor}", "when_closed: {case: bo-retention-transfer}")])
        func expected(_ yaml: String) throws -> [Bool?] { run(new, expecting: try ExpectedChanges(yaml: yaml, file: "e.yaml")).groups.map(\.expected) }
        #expect(try expected("- {topic: key_account_request, fields: [action, target, case, via, mode]}") == [true])
        #expect(try expected("- {topic: key_account_request, fields: [target]}") == [false])
        #expect(try expected("- {topic: termination}") == [false])
        #expect(try expected("- {topic: \"*\", fields: [action, target, case, via, mode]}") == [true])
        #expect(run(new).groups.map(\.expected) == [nil])
    }

    /// Issue 14: an entry without a topic approved every change; now it must say `topic: "*"`.
    @Test(arguments: ["- {fields: [action]}", "- {}", "- {rule_after: key_account_request.transfer}"])
    func anExpectedChangeWithoutATopicIsRefused(_ yaml: String) {
        #expect {
            _ = try ExpectedChanges(yaml: yaml, file: "e.yaml")
        } throws: { error in
            "\(error)".contains("names no topic, so it would approve every change; give its topic, or topic: \"*\"")
        }
    }

    /// A change expected only within a time window: the same kind of change outside it is unexpected.
    @Test func anExpectedChangeWithinAWindow() throws {
        let new = try variant([("when_closed: {transfer: duty-supervisor}", "when_closed: {case: bo-retention-transfer}")])
        // The key-account change happens only while the retention line is closed, 23:50-04:00 Moscow.
        let night = run(new, expecting: try ExpectedChanges(yaml: "- {topic: key_account_request, hours: \"23:50-04:00\"}", file: "e.yaml"))
        #expect(night.groups.map(\.expected) == [true])
        // Recorded calls at 23:55 and 03:00: a window of the evening only expects the first.
        var evening = TableDiff(old: retention, new: new, expecting: try ExpectedChanges(yaml: "- {topic: key_account_request, hours: \"23:50-24:00\"}", file: "e.yaml"))
        let call = try Call(value: .object([.init("call_id", .string("k")), .init("topic", .string("key_account_request")),
                                            .init("customer", .object([.init("region", .string("moscow"))]))]))
        evening.compare(call, at: at("2026-11-23T23:55:00+03:00"))
        evening.compare(call, at: at("2026-11-24T03:00:00+03:00"))
        #expect(evening.groups.map(\.expected) == [true, false])
        #expect(evening.groups.map(\.count) == [1, 1])
        let later = run(new, expecting: try ExpectedChanges(yaml: "- {topic: key_account_request, from: \"2026-12-01T00:00:00+03:00\"}", file: "e.yaml"))
        #expect(later.groups.map(\.expected) == [false])
    }

    @Test func zeroExamplesKeepsNone() throws {
        let diff = run(try variant([("when_closed: {transfer: duty-supervisor}", "when_closed: {case: bo-retention-transfer}")]), examples: 0)
        #expect(diff.groups.count == 1)
        #expect(diff.groups[0].count > 0)
        #expect(diff.groups[0].examples.isEmpty)
    }
}

extension TableDiff.Group {
    var before: [TableDiff.Outcome] { examples.map(\.before) }
}
