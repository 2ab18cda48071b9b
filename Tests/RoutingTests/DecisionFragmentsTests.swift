import Foundation
import Testing
@testable import Routing
import TableLanguage
import TestSupport
import Wire

/// A decision of a rule topic carries the parts of its JSON the table rendered at load (``DecisionFragments``)
/// and trace lines rendered at load; Wire's encoder copies them. These tests hold those bytes to the same
/// decision written member by member from its texts, so the two ways of encoding cannot drift apart.
@Suite(.timeLimit(.minutes(5)))
struct DecisionFragmentsTests {
    static let names = bundledTableNames

    /// The same decision with nothing rendered: made from its members as a subscriber's decoder makes one.
    func written(_ d: Decision) -> Decision {
        Decision(action: d.action, target: d.target, case: d.case, procedure: d.procedure, reason: d.reason, rule: d.rule,
                 phrases: d.phrases, comment: d.comment, checks: d.checks, validUntil: d.validUntil,
                 validUntilOffset: d.validUntilOffset, trace: d.trace, menu: d.menu, playbook: d.playbook)
    }

    func encoded(_ d: Decision) -> String { Wire.encode(d) }

    /// Every scenario of every bundled table, at its own instant and at six more through the week (open and
    /// closed hours), with CTI working and in a mass incident.
    @Test(arguments: names)
    func renderedDecisionsEncodeAsTheirMembers(_ name: String) throws {
        let table = try TableLoader.load(yaml: try bundledTableText(name), file: "\(name).yaml")
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("routing-tables/\(name).scenarios.yaml"), encoding: .utf8)
        let suite = try ScenarioSuite.load(yaml: text, file: "\(name).scenarios.yaml")
        var rendered = 0, compared = 0
        for ctiIncident in [false, true] {
            var sessions = SessionBook()
            for scenario in suite.scenarios {
                guard let call = try? Call(value: scenario.call) else { continue }
                for step in 0..<7 {
                    let instant = Instant(seconds: scenario.at.seconds + Int64(step) * 25_201)
                    guard let d = try? table.evaluate(call, at: instant, operations: Operations(ctiIncident: ctiIncident), sessions: &sessions) else { continue }
                    if d.fragments != nil { rendered += 1 }
                    compared += 1
                    #expect(encoded(d) == encoded(written(d)), "\(name): '\(scenario.name)' at \(instant.seconds)")
                    // Equal and hashed alike whether its members are kept by reference or as values.
                    #expect(d == written(d) && d.hashValue == written(d).hashValue, "\(name): '\(scenario.name)' at \(instant.seconds)")
                }
            }
        }
        #expect(compared > 0)
        // Menus and playbooks make their prompts and steps themselves; a table with rule topics renders.
        if table.topics.contains(where: { $0.menu == nil && $0.playbook == nil }) {
            #expect(rendered > 0, "\(name): no decision carried rendered fragments")
        }
    }

    /// Texts that need escaping, a rule's own subject, a case with no subject, region addresses, a number by
    /// which a transfer goes during a CTI incident, phrases said in the caller's language.
    @Test func escapesSubjectsAddressesAndLanguages() throws {
        let t = try table(#"""
        table: t
        time_zone: Europe/Madrid
        customer:
          region: {type: string}
        phrases:
          hello:
            es: "Hola, \"cliente\"\ttab"
            en: "Hello \\ back"
        targets:
          line:
            name: Line
            address: "cti:line\u0001"
            number: "+34 900 \"1\""
            region_addresses: {north: "cti:north\n"}
            mode: warm
            phrases: [hello]
            checks: ["Check \"one\"", "two\\"]
        cases:
          later: {category: "Later \"cat\"", priority: urgent, fields: ["a\"b"]}
          bare: {category: Bare}
        topics:
          go:
            facts:
              kind: {type: [transfer, subject, bare, first, deny, alone]}
              amount: {type: number}
            rules:
              - id: go.transfer
                when: {facts.kind: transfer, facts.amount: {gt: 10}}
                transfer: line
                checks: ["own \"check\""]
                comment: "to \"line\""
              - id: go.small
                when: {facts.kind: transfer}
                transfer: line
              - id: go.subject
                when: {facts.kind: subject}
                case: later
                subject: "Own \"subject\" {facts.kind}"
              - id: go.bare
                when: {facts.kind: bare}
                case: bare
                phrases: [hello]
              - id: go.first
                when: {facts.kind: first}
                first_line: "Do \"this\""
                checks: ["x"]
              - id: go.deny
                when: {facts.kind: deny}
                deny: "No \\ way"
              - id: go.alone
                when: {facts.kind: alone}
                self_service: "Use the \"app\""
        """#)
        var seen = 0
        for kind in ["transfer", "subject", "bare", "first", "deny", "alone"] {
            for amount in [5.0, 50.0] {
                for (region, language) in [("north", "en"), ("south", "es"), ("south", "fr")] {
                    for incident in [false, true] {
                        let call = Call(callID: "c\"1", topic: "go", language: language, identification: "Ana \"A\"",
                                        customer: ["region": .string(region)], facts: ["kind": .string(kind), "amount": .number(amount)],
                                        notes: "note\twith \"quotes\"")
                        let d = try t.evaluate(call, at: at("2026-11-22T10:00:00Z"), operations: Operations(ctiIncident: incident))
                        #expect(d.fragments != nil, "\(kind): not rendered")
                        #expect(encoded(d) == encoded(written(d)), "\(kind) \(amount) \(region) \(language) \(incident)")
                        // A rendered topic (target, category, or the rule's for the other actions) says what the
                        // decision says, as one made whole does.
                        #expect(d.eventTopicBytes == written(d).eventTopicBytes, "\(kind)")
                        #expect(d.eventTopic == "decision.\(d.action.rawValue).\(d.target?.id ?? d.case?.id ?? d.rule)", "\(kind)")
                        seen += 1
                    }
                }
            }
        }
        #expect(seen == 72)
    }

    /// Phrases as the table says them (no translations, so the rendered ones are used): a case whose rule names
    /// its own subject keeps its category's phrases; a rule's own phrases replace a target's or a category's.
    @Test func renderedPhrasesOfTargetsCategoriesAndOutcomes() throws {
        let t = try table(#"""
        table: t
        time_zone: Europe/Madrid
        phrases:
          wait: "Espere, \"por favor\""
          case_opened: "Abrimos un caso"
          own: "Frase propia"
        targets:
          line: {name: Line, address: "cti:line", mode: blind, phrases: [wait], checks: ["c1"]}
        cases:
          later: {category: Later, subject: "Category's subject", phrases: [case_opened]}
        topics:
          go:
            facts:
              kind: {type: [transfer, own_phrases, subject, category, own_case_phrases]}
            rules:
              - id: go.transfer
                when: {facts.kind: transfer}
                transfer: line
              - id: go.own_phrases
                when: {facts.kind: own_phrases}
                transfer: line
                phrases: [own]
                checks: ["c2"]
              - id: go.subject
                when: {facts.kind: subject}
                case: later
                subject: "Rule's \"subject\""
              - id: go.category
                when: {facts.kind: category}
                case: later
              - id: go.own_case_phrases
                when: {facts.kind: own_case_phrases}
                case: later
                subject: "Another"
                phrases: [own]
        """#)
        let expected: [String: [String]] = ["transfer": ["Espere, \"por favor\""], "own_phrases": ["Frase propia"],
                                            "subject": ["Abrimos un caso"], "category": ["Abrimos un caso"],
                                            "own_case_phrases": ["Frase propia"]]
        for (kind, phrases) in expected {
            let d = try t.evaluate(Call(callID: "c", topic: "go", language: "es", facts: ["kind": .string(kind)]), at: at("2026-11-22T10:00:00Z"))
            #expect(d.renderedPhrases != nil, "\(kind): phrases not rendered")
            #expect(d.phrases == phrases, "\(kind)")
            #expect(encoded(d) == encoded(written(d)), "\(kind)")
            #expect(encoded(d).contains(#""phrases":["# + phrases.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "]"), "\(kind): \(encoded(d))")
        }
    }

    /// A decision made from its members (decoded from an event, written by a test) carries nothing rendered.
    @Test func decodedDecisionsCarryNoFragments() throws {
        let d = try retention.evaluate(Call(callID: "c", topic: "termination", facts: ["insists": .bool(true)]), at: at("2026-11-22T10:00:00Z"))
        #expect(d.fragments != nil)
        #expect(written(d).fragments == nil)
        #expect(written(d) == d)
    }

    /// What is set after deciding (a menu's view, phrases in the caller's language) is replaced whole: a copy
    /// set apart does not change the decision it was copied from.
    @Test func copiesOfADecisionStayApart() throws {
        let d = try retention.evaluate(Call(callID: "c", topic: "termination", facts: ["insists": .bool(true)]), at: at("2026-11-22T10:00:00Z"))
        var copy = d
        copy.phrases = ["другая фраза"]
        copy.menu = .init(node: "root", language: "ru", prompt: nil, options: [], invalid: 0, retries: 1, asks: [])
        #expect(copy.phrases == ["другая фраза"] && copy.menu?.node == "root")
        #expect(copy.renderedPhrases == nil, "phrases said otherwise are written as texts")
        #expect(d.menu == nil && d.phrases != copy.phrases && d.renderedPhrases != nil)
        #expect(copy != d)
        #expect(Wire.encode(copy).contains(#""phrases":["другая фраза"]"#))
    }

    /// A procedure set after deciding replaces the decision's own, and setting none leaves none.
    @Test func aProcedureSetAfterDecidingReplacesTheOwn() throws {
        let d = try retention.evaluate(Call(callID: "c", topic: "termination", facts: ["insists": .bool(false)]), at: at("2026-11-22T10:00:00Z"))
        try #require(d.action == .firstLine && d.procedure != nil, "termination without insisting is a first-line procedure")
        var replaced = d
        replaced.procedure = "другая процедура"
        #expect(replaced.procedure == "другая процедура" && d.procedure != replaced.procedure)
        replaced.procedure = nil
        #expect(replaced.procedure == nil && d.procedure != nil)
        #expect(!Wire.encode(replaced).contains("\"procedure\""))
    }
}
