import Foundation
import Testing
import Routing
import TableLanguage
import Wire

/// Events and replies written by the real encoders read back equal, member for member.
@Suite(.timeLimit(.minutes(5)))
struct EventDecodingTests {
    static let moscow = Timestamp.parse("2026-11-23T12:00:00+03:00")!

    static let decisions: [Decision] = [
        Decision(action: .transfer, target: .init(id: "retention", address: "cti:retention", via: .cti, mode: .blind), case: nil,
                 procedure: nil, reason: nil, rule: "termination.insists", phrases: ["Для решения вопроса…"],
                 comment: "Угроза расторжения: клиент настаивает. идент. ФИОПД", checks: [], validUntil: at("2026-11-23T23:50:00+03:00"),
                 validUntilOffset: 10_800, trace: ["topic=termination", "facts.insists=true"]),
        Decision(action: .transfer, target: .init(id: "equipment", address: "+7 495 000-00-00", via: .number, mode: .warm), case: nil,
                 procedure: nil, reason: nil, rule: "equipment.warm", phrases: [], comment: "с \"кавычками\"\nи строкой",
                 checks: ["договор", "паспорт"], validUntil: nil, validUntilOffset: 0, trace: []),
        Decision(action: .openCase, target: nil,
                 case: .init(id: "bo-retention-transfer", category: "Back Office Сохранение/Передача клиента/", priority: .urgent,
                             subject: nil, fields: ["phone", "reason"]),
                 procedure: nil, reason: nil, rule: "termination.insists", phrases: ["a", "b"], comment: "c", checks: [],
                 validUntil: at("2026-11-23T04:00:00+03:00"), validUntilOffset: 10_800, trace: ["x"]),
        Decision(action: .firstLine, target: nil, case: nil, procedure: "Процедура 7", reason: nil, rule: "termination.first_line",
                 phrases: [], comment: "", checks: [], validUntil: nil, validUntilOffset: 0, trace: []),
        Decision(action: .deny, target: nil, case: nil, procedure: nil, reason: "no", rule: "r", phrases: [], comment: "",
                 checks: [], validUntil: at("2026-11-22T20:55:00Z"), validUntilOffset: 0, trace: []),
        Decision(action: .prompt, target: nil, case: nil, procedure: nil, reason: nil, rule: "ivr.root", phrases: [], comment: "",
                 checks: [], validUntil: nil, validUntilOffset: 0, trace: [],
                 menu: .init(node: "root", language: "es", prompt: "Pulse 1", options: [.init(key: "1", label: "Tarjeta")],
                             invalid: 1, retries: 3, asks: [])),
        Decision(action: .step, target: nil, case: nil, procedure: "Contact", reason: nil, rule: "fraud.contact", phrases: [],
                 comment: "", checks: [], validUntil: nil, validUntilOffset: 0, trace: [],
                 playbook: .init(session: "s-1", step: "contact", name: "Contact", instructions: ["Call"], outcomes: ["reached"],
                                 attempt: 2, limit: 3, done: false, mergedInto: nil)),
    ]

    static func at(_ text: String) -> Instant { Timestamp.parse(text)!.instant }

    static func encoded(_ event: DecisionEvent) -> [UInt8] {
        var w = JSONWriter()
        event.encode(into: &w)
        return w.bytes
    }

    @Test(arguments: decisions.indices)
    func eventRoundTrip(index: Int) throws {
        let call = Call(callID: "c-1", topic: "termination", language: "ru", identification: "ФИОПД",
                        customer: ["region": .string("moscow"), "vip": .bool(false), "balance": .number(120.5)],
                        facts: ["insists": .bool(true)], notes: "браузер Chrome")
        let event = DecisionEvent(seq: 42, eventID: "e-42", at: Self.moscow.instant, atOffset: Self.moscow.offsetSeconds, callID: "c-1",
                                  table: "retention-ru", tableVersion: "sha-1", call: index == 0 ? nil : call, decision: Self.decisions[index])
        let decoded = try Wire.DecodedEvent(json: Self.encoded(event))
        #expect(decoded == Wire.DecodedEvent(event))
        #expect(decoded.decision == Self.decisions[index])
        #expect(decoded.atText == "2026-11-23T12:00:00+03:00")
    }

    /// An event id written from its journal's rendered prefix is the id's JSON string, whatever the journal id holds.
    @Test func anEventIDIsWrittenAsItsJSONString() throws {
        for journalID in ["0123456789abcdef", "", "with \"quote\" and \\", "tab\tnew\nline\u{01}", "журнал-7", "🇷🇺"] {
            let ids = EventIDPrefix(journalID: journalID)
            for seq: UInt64 in [0, 1, 9, 10, 4_532, UInt64(Int64.max), .max] {
                var w = JSONWriter()
                ids.write(seq: seq, into: &w)
                var expected = JSONWriter()
                expected.string("\(journalID)-\(seq)")
                #expect(w.bytes == expected.bytes, "\(journalID) \(seq)")
                #expect(try JSONReader.parse(w.bytes) == .string(ids.eventID(seq: seq)))
            }
        }
    }

    /// A decision made whole (decoded, or written as here) has the topic a rendered one has.
    @Test func aGivenDecisionsTopicNamesWhatWasDecided() {
        #expect(Self.decisions.map(\.eventTopic) == [
            "decision.transfer.retention", "decision.transfer.equipment", "decision.case.bo-retention-transfer",
            "decision.first_line.termination.first_line", "decision.deny.r", "decision.prompt.ivr.root", "decision.step.fraud.contact",
        ])
    }

    @Test func eventFromTheFlagshipTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("routing-tables/retention-ru.yaml").path
        let table = try TableLoader.load(yaml: try String(contentsOfFile: path, encoding: .utf8), file: path)
        let decision = try table.evaluate(Call(callID: "c", topic: "termination", facts: ["insists": .bool(true)]), at: Self.moscow.instant)
        let event = DecisionEvent(seq: 1, eventID: "e-1", at: Self.moscow.instant, atOffset: 10_800, callID: "c", table: "retention-ru",
                                  tableVersion: "v", decision: decision)
        let decoded = try Wire.DecodedEvent(json: Self.encoded(event))
        #expect(decoded.decision == decision)
        #expect(decoded.decision.target?.address == "cti:retention")
    }

    @Test func idempotencyKeyAndUnknownMembersAreRead() throws {
        var bytes = Self.encoded(DecisionEvent(seq: 3, eventID: "e-3", at: Self.moscow.instant, atOffset: 10_800, callID: "c",
                                               table: "t", tableVersion: "v", decision: Self.decisions[0]))
        bytes.removeLast()  // the closing brace: add members a newer engine might write after `decision`
        bytes += Array(#","idempotency_key":"k-1","later":{"x":[1]}}"#.utf8)
        let decoded = try Wire.DecodedEvent(json: bytes)
        #expect(decoded.idempotencyKey == "k-1")
        #expect(decoded.decision == Self.decisions[0])
    }

    @Test(arguments: [
        (#"{"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{}}"#, "missing_field", "seq"),
        (#"{"seq":"1","event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{}}"#, "bad_type", "seq"),
        (#"{"seq":1,"event_id":"e","at":"noon","call_id":"c","table":"t","table_version":"v","decision":{}}"#, "bad_time", "at"),
        (#"{"seq":1,"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"transfer","target":{"id":"r","address":"a","via":"cti","mode":"hot"},"rule":"r","comment":""}}"#, "bad_type", "decision.target.mode"),
        (#"{"seq":1,"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"case","case":{"id":"x"},"rule":"r","comment":""}}"#, "missing_field", "decision.case.priority"),
    ] as [(String, String, String)])
    func malformedEventsNameTheMember(json: String, code: String, field: String) {
        #expect {
            _ = try Wire.DecodedEvent(json: Array(json.utf8))
        } throws: { error in
            (error as? InputError)?.code.rawValue == code && (error as? InputError)?.field == field
        }
    }

    @Test func replyRoundTrip() throws {
        var w = JSONWriter()
        Wire.encodeReply(id: .number(7), decision: Self.decisions[2], into: &w)
        let reply = try Wire.DecodedReply(json: w.bytes)
        #expect(reply == Wire.DecodedReply(id: .number(7), outcome: .decision(Self.decisions[2], seq: nil, eventID: nil)))

        var e = JSONWriter()
        Wire.encodeReply(id: .string("q"), error: InputError(.init(rawValue: "idempotency_key_reused"), "another body", field: "idempotency_key"), into: &e)
        let refused = try Wire.DecodedReply(json: e.bytes)
        #expect(refused.id == .string("q"))
        #expect(refused.errorCode?.rawValue == "idempotency_key_reused")

        let withSeq = try Wire.DecodedReply(json: Array(#"{"id":1,"seq":9,"event_id":"e-9","decision":\#(Wire.encode(Self.decisions[3]))}"#.utf8))
        #expect(withSeq.outcome == .decision(Self.decisions[3], seq: 9, eventID: "e-9"))
    }

    @Test func heartbeat() throws {
        #expect(try Wire.decodeHeartbeat(Wire.encodeHeartbeat(seq: 12, at: Self.moscow.instant)) == 12)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct EndpointsTests {
    /// The contract's table of default endpoints, written once.
    @Test func defaultsAreTheContracts() {
        #expect(Endpoints.default == Endpoints(query: "tcp://127.0.0.1:5570", events: "tcp://127.0.0.1:5571",
                                               replay: "tcp://127.0.0.1:5572", control: "tcp://127.0.0.1:5573"))
    }
}
