import Testing
@testable import Routing
import TableLanguage
import TestSupport

@Suite(.timeLimit(.minutes(5)))
struct EvaluationTests {
    let noon = at("2026-11-23T12:00:00+03:00")

    @Test func contractExample() throws {
        let call = Call(callID: "c-000123", topic: "termination", language: "ru", identification: "ФИОПД",
                        customer: ["type": .string("person"), "region": .string("moscow"), "vip": .bool(false), "vip_level": .number(0),
                                   "sm": .bool(false), "balance": .number(120.5), "strategic_former_employee": .bool(false)],
                        facts: ["insists": .bool(true)], notes: "модель телефона Xiaomi 12, браузер Chrome")
        let d = try retention.evaluate(call, at: at("2026-11-22T20:00:00Z"))
        #expect(d.action == .transfer)
        #expect(d.target == .init(id: "retention", address: "cti:retention", via: .cti, mode: .blind))
        #expect(d.case == nil)
        #expect(d.rule == "termination.insists")
        #expect(d.phrases == ["Для решения вопроса потребуется помощь старшего специалиста. Пожалуйста, оставайтесь на линии и дождитесь соединения"])
        #expect(d.comment == "Угроза расторжения: клиент настаивает. идент. ФИОПД. модель телефона Xiaomi 12, браузер Chrome")
        #expect(d.validUntil == at("2026-11-22T23:50:00+03:00"))
        #expect(d.trace.first == "topic=termination")
        #expect(d.trace.contains("facts.insists=true"))
        #expect(d.trace.contains("retention open 04:00–23:50 daily Europe/Moscow"))
    }

    @Test func ctiIncidentFlipsVia() throws {
        let call = Call(callID: "c", topic: "funds_hold_fraud")
        #expect(try retention.evaluate(call, at: noon).target?.via == .cti)
        #expect(try retention.evaluate(call, at: noon, operations: Operations(ctiIncident: true)).target?.via == .number)
    }

    /// A table of a few topics finds a call's by comparing codes, a larger one through its dictionary: both find
    /// each topic, equal texts spelt otherwise (a composed `é` for a decomposed one) included, and no other.
    @Test(arguments: [3, Table.topicsCompared - 1, Table.topicsCompared, 80])  // and one more: `café`
    func everyTopicIsFoundWhateverTheTablesSize(topics count: Int) throws {
        let codes = (0..<count).map { "topic_\($0)" } + ["caf\u{E9}"]
        let yaml = "table: t\ntime_zone: UTC\ntargets:\n  line: {name: Line, address: \"1\", mode: blind}\ntopics:\n"
            + codes.map { "  \($0):\n    rules:\n      - {id: \($0).go, transfer: line}\n" }.joined()
        let table = try table(yaml)
        #expect(table.topics.count == count + 1)
        for (n, code) in codes.enumerated() {
            #expect(table.topicNumber(code) == n)
            #expect(try table.evaluate(Call(callID: "c", topic: code), at: noon).rule == "\(code).go")
        }
        #expect(table.topicNumber("cafe\u{301}") == count)
        for missing in ["topic_", "topic_\(count)", "Topic_0", ""] { #expect(table.topicNumber(missing) == nil) }
    }

    @Test(arguments: [
        (Call(callID: "c", topic: "no_such_topic"), "unknown_topic", "topic"),
        (Call(callID: "c", topic: "termination"), "missing_fact", "facts.insists"),
        (Call(callID: "c", topic: "termination", facts: ["insists": .string("true")]), "bad_type", "facts.insists"),
        (Call(callID: "c", topic: "termination", facts: ["insist": .bool(true)]), "unknown_field", "facts.insist"),
        (Call(callID: "c", topic: "sim_block", facts: ["x": .bool(true)]), "unknown_field", "facts.x"),
        (Call(callID: "c", topic: "termination", customer: ["vip": .number(1)], facts: ["insists": .bool(true)]), "bad_type", "customer.vip"),
        (Call(callID: "c", topic: "number_change", facts: ["choose_number": .bool(false), "pd_provided": .bool(true)]), "missing_fact", "customer.balance"),
    ])
    func errorCodes(call: Call, code: String, field: String) {
        #expect {
            _ = try retention.evaluate(call, at: noon)
        } throws: { error in
            let e = error as! InputError
            return e.code.rawValue == code && e.field == field && e.message.hasSuffix(".")
        }
    }

    @Test func explicitNullCountsAsNotGiven() throws {
        let call = Call(callID: "c", topic: "termination", facts: ["insists": .null])
        #expect(throws: InputError.self) { try retention.evaluate(call, at: noon) }
        let withNullDefaulted = Call(callID: "c", topic: "termination", customer: ["vip": .null], facts: ["insists": .bool(false)])
        #expect(try retention.evaluate(withNullDefaulted, at: noon).action == .firstLine)
    }

    @Test func onlyTheFactsOfTheDecidingBranchAreRequired() throws {
        // reason_given=false decides at once: question and insists are not needed.
        let d = try retention.evaluate(Call(callID: "c", topic: "demands_senior", facts: ["reason_given": .bool(false)]), at: noon)
        #expect(d.rule == "demands_senior.no_reason")
    }

    @Test func traceExplainsAClosedTargetAndItsFallback() throws {
        let d = try retention.evaluate(Call(callID: "c", topic: "termination", facts: ["insists": .bool(true)]), at: at("2026-11-23T02:00:00+03:00"))
        #expect(d.trace.contains("retention closed 04:00–23:50 daily Europe/Moscow"))
        #expect(d.trace.contains("when closed: case bo-retention-transfer"))
    }

    /// Evaluation is a pure function: the same table, call, instant and state always give the same decision,
    /// whichever table instance and in whatever order calls are evaluated.
    @Test func evaluationIsDeterministic() throws {
        let again = try TableLoader.load(yaml: try bundledTableText("retention-ru"), file: "retention-ru.yaml")
        #expect(again.version == retention.version)
        var rng = SplitMix64(seed: 0x5EED)
        var calls: [(Call, Instant, Operations)] = []
        for n in 0..<3000 {
            let topic = retention.topics[Int(rng.next() % UInt64(retention.topics.count))]
            var facts: [String: Value] = [:]
            for spec in topic.facts where rng.next() % 8 != 0 {
                facts[spec.name] = randomValue(spec.type, &rng)
            }
            let customer: [String: Value] = [
                "region": .string(["moscow", "south", "center", "siberia", "ural"][Int(rng.next() % 5)]),
                "vip": .bool(rng.next() % 2 == 0), "vip_level": .number(Double(rng.next() % 6)), "sm": .bool(rng.next() % 2 == 0),
                "balance": .number(Double(Int(rng.next() % 400)) - 100), "type": .string(rng.next() % 2 == 0 ? "person" : "business"),
            ]
            let call = Call(callID: "p-\(n)", topic: topic.code, language: rng.next() % 10 == 0 ? "en" : "ru",
                            identification: rng.next() % 2 == 0 ? "ФИОПД" : nil, customer: customer, facts: facts,
                            notes: rng.next() % 3 == 0 ? "заметка \(n)" : nil)
            let instant = Instant(seconds: 1_795_000_000 + Int64(rng.next() % (86_400 * 30)))
            calls.append((call, instant, Operations(ctiIncident: rng.next() % 7 == 0)))
        }
        func outcome(_ t: Table, _ c: (Call, Instant, Operations)) -> Result<Decision, InputError> {
            Result { () throws(InputError) in try t.evaluate(c.0, at: c.1, operations: c.2) }
        }
        let first = calls.map { outcome(retention, $0) }
        let second = calls.reversed().map { outcome(again, $0) }.reversed()
        #expect(Array(first) == Array(second))
        // The random calls reach decisions and errors alike, so the comparison means something.
        #expect(first.contains { if case .success = $0 { true } else { false } })
        #expect(first.contains { if case .failure = $0 { true } else { false } })
    }

    func randomValue(_ type: FieldType, _ rng: inout SplitMix64) -> Value {
        switch type {
        case .bool: .bool(rng.next() % 2 == 0)
        case .integer: .number(Double(rng.next() % 10))
        case .number: .number(Double(rng.next() % 1200))
        case .string: .string(["closed", "open", "4521"][Int(rng.next() % 3)])
        case .enumeration(let values): .string(values[Int(rng.next() % UInt64(values.count))])
        }
    }
}

