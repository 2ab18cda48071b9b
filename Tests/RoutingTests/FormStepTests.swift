import Testing
@testable import Routing
import TableLanguage
import TestSupport

/// The form walk (``Table/formStep(for:at:operations:)``): only what the deciding branch reads is asked.
@Suite(.timeLimit(.minutes(5)))
struct FormStepTests {
    static let open = at("2026-11-23T12:00:00+03:00")
    static let names = bundledTableNames

    func step(_ facts: [String: Value], topic: String = "demands_senior") throws -> FormStep {
        try retention.formStep(for: Call(callID: "c", topic: topic, language: "ru", facts: facts), at: Self.open)
    }

    /// `demands_senior`: without a reason nothing else is asked; with one, `insists`, and only when the client
    /// insists, `question` (read by the equipment rule and by the comment).
    @Test func demandsSenior_asksOnlyAlongTheBranch() throws {
        var s = try step([:])
        #expect(s.facts.map(\.name) == ["reason_given"])
        #expect(s.next == "facts.reason_given")
        s = try step(["reason_given": .bool(false)])
        #expect(s.facts.map(\.name) == ["reason_given"])
        #expect(s.next == nil)
        s = try step(["reason_given": .bool(true)])
        #expect(s.facts.map(\.name) == ["reason_given", "insists"])
        #expect(s.next == "facts.insists")
        s = try step(["reason_given": .bool(true), "insists": .bool(true)])
        #expect(s.facts.map(\.name) == ["reason_given", "insists", "question"])
        #expect(s.next == "facts.question")
        #expect(s.facts.last?.labels["equipment"] == "вопрос по оборудованию")
        s = try step(["reason_given": .bool(true), "insists": .bool(false), "question": .string("other")])
        #expect(s.facts.map(\.name) == ["reason_given", "insists"], "an answer off the branch is not shown")
        #expect(s.next == nil)
    }

    /// A VIP customer's transfer reads the region through the redirects: it is asked, as deciding requires it.
    @Test func redirectsAskForTheCustomerFieldsTheyRead() throws {
        let call = Call(callID: "c", topic: "termination", customer: ["vip": .bool(true)], facts: ["insists": .bool(true)])
        let s = try retention.formStep(for: call, at: Self.open)
        #expect(s.next == "customer.region")
        #expect(s.customer.map(\.name).contains("region"))
    }

    /// Menus and playbooks ask step by step through their own decisions: the form lists all their facts.
    @Test func menusAndPlaybooksListAllTheirFacts() throws {
        for name in ["es-fraud-alerts", "es-ivr-unblock"] {
            let table = try TableLoader.load(yaml: try bundledTableText(name), file: "\(name).yaml")
            for topic in table.topics where topic.menu != nil || topic.playbook != nil {
                let s = try table.formStep(for: Call(callID: "c", topic: topic.code), at: Self.open)
                #expect(s.facts.map(\.name) == topic.facts.map(\.name), "\(name) \(topic.code)")
                #expect(s.next == nil)
            }
        }
    }

    @Test func badAnswersAndUnknownTopicsAreTheContractsErrors() throws {
        let bad = #expect(throws: InputError.self) { try step(["reason_given": .string("yes")]) }
        #expect(bad?.code == .badType)
        #expect(bad?.field == "facts.reason_given")
        let unknown = #expect(throws: InputError.self) { try step([:], topic: "nope") }
        #expect(unknown?.code == .unknownTopic)
    }

    /// Over every rule topic of every bundled table, in and out of hours: answering what the walk asks, in
    /// every combination of bool and enumerated values, always ends in a decision; and adding any of the
    /// facts it did not ask for never changes which rule decides.
    @Test(arguments: names)
    func walkingEveryBranchDecidesAndWhatIsNotAskedDoesNotMatter(_ name: String) throws {
        let table = try TableLoader.load(yaml: try bundledTableText(name), file: "\(name).yaml")
        var leaves = 0
        for instant in [Self.open, at("2026-11-23T23:55:00+03:00"), at("2026-11-22T03:00:00Z")] {
            for topic in table.topics where topic.menu == nil && topic.playbook == nil {
                var pending: [Call] = [Call(callID: "w", topic: topic.code)]
                while let call = pending.popLast() {
                    let s = try table.formStep(for: call, at: instant)
                    guard let next = s.next else {
                        leaves += 1
                        let decided = try table.evaluate(call, at: instant)
                        #expect(Set(s.facts.map(\.name)).isSubset(of: Set(call.facts.keys)))
                        var padded = call
                        for f in topic.facts where padded.facts[f.name] == nil { padded.facts[f.name] = Self.values(f.type).last! }
                        #expect(try table.evaluate(padded, at: instant).rule == decided.rule, "\(name) \(topic.code): a fact not asked changed the rule")
                        continue
                    }
                    #expect(pending.count < 10_000, "\(name) \(topic.code): the walk does not end")
                    let isFact = next.hasPrefix("facts.")
                    let field = String(next.drop(while: { $0 != "." }).dropFirst())
                    let spec = isFact ? topic.facts.first { $0.name == field } : table.customerFields.first { $0.name == field }
                    let asked = try #require(spec, "\(next) is not a field")
                    if isFact { #expect(s.facts.last?.name == field, "the field asked next comes last") }
                    for v in Self.values(asked.type) {
                        var answered = call
                        if isFact { answered.facts[field] = v } else { answered.customer[field] = v }
                        pending.append(answered)
                    }
                }
            }
        }
        // Menu and playbook topics show all their facts: their flows ask step by step.
        #expect(leaves > 0 || table.topics.allSatisfy { $0.menu != nil || $0.playbook != nil })
    }

    static func values(_ type: FieldType) -> [Value] {
        switch type {
        case .bool: [.bool(true), .bool(false)]
        case .enumeration(let values): values.map(Value.string)
        case .integer: [.number(0), .number(100_000)]
        case .number: [.number(-1), .number(100_000)]
        case .string: [.string("moscow"), .string("south")]
        }
    }
}
