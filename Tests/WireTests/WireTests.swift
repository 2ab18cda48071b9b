import Foundation
import Testing
@testable import Routing
import TableLanguage
@testable import Wire
import TestSupport

@Suite(.timeLimit(.minutes(5)))
struct CallDecodingTests {
    @Test func contractExampleDecodes() throws {
        let call = try Wire.decodeCall(Array(#"""
        {"call_id": "c-000123", "topic": "termination", "language": "ru", "identification": "ФИОПД",
         "customer": {"type": "person", "region": "moscow", "vip": false, "vip_level": 0,
                      "sm": false, "balance": 120.5, "strategic_former_employee": false},
         "facts": {"insists": true}, "notes": "модель телефона Xiaomi 12, браузер Chrome"}
        """#.utf8))
        #expect(call.callID == "c-000123")
        #expect(call.facts["insists"] == .bool(true))
        #expect(call.customer["balance"] == .number(120.5))
        #expect(call.identification == "ФИОПД")
    }

    @Test(arguments: [
        (#"{"call_id":"c","topic":"t","topik":1}"#, "unknown_field", "topik"),
        (#"{"topic":"t"}"#, "missing_field", "call_id"),
        (#"{"call_id":"c"}"#, "missing_field", "topic"),
        (#"{"call_id":7,"topic":"t"}"#, "bad_type", "call_id"),
        (#"{"call_id":"c","topic":"t","facts":[]}"#, "bad_type", "facts"),
        (#"{"call_id":"c","topic":"t","customer":"vip"}"#, "bad_type", "customer"),
        (#"{"call_id":"c","topic":"t","notes":5}"#, "bad_type", "notes"),
        (#"["call"]"#, "bad_type", "call"),
        (#"{"call_id":"c","topic":"t""#, "bad_json", nil),
    ] as [(String, String, String?)])
    func callErrors(json: String, code: String, field: String?) {
        #expect {
            _ = try Wire.decodeCall(Array(json.utf8))
        } throws: { error in
            let e = error as! InputError
            return e.code.rawValue == code && e.field == field
        }
    }

    /// A call's customer and facts are written in the order of their keys however the request gave them, so an
    /// event's bytes depend only on the values.
    @Test func encodedCallsOrderTheirMembersByKey() throws {
        let names = ["vip", "balance", "region", "Ära", "zone", "a_b", "ab", "Ω", "a"]
        var rng = SplitMix64(seed: 46)
        var encodings: Set<[UInt8]> = []
        for n in 0..<200 {
            let order = n == 0 ? names.sorted() : names.shuffled(using: &rng)  // sorted as given, and not
            let members = order.map { name in "\"\(name)\":\(names.firstIndex(of: name)! * 10)" }
            let json = #"{"call_id":"c","topic":"t","customer":{"# + members.joined(separator: ",") + #"},"facts":{"# + members.reversed().joined(separator: ",") + "}}"
            let call = try Wire.decodeCall(Array(json.utf8))
            var w = JSONWriter()
            Wire.encode(call, into: &w)
            encodings.insert(w.bytes)
        }
        let sorted = names.sorted().map { "\"\($0)\":\(names.firstIndex(of: $0)! * 10)" }.joined(separator: ",")
        #expect(encodings == [Array((#"{"call_id":"c","topic":"t","customer":{"# + sorted + #"},"facts":{"# + sorted + "}}").utf8)])
    }

    @Test func batchLines() throws {
        func line(_ s: String) throws(InputError) -> Wire.BatchLine {
            var s = s
            return try s.withUTF8 { b in Result { () throws(InputError) in try Wire.decodeBatchLine(b) } }.get()
        }
        let ok = try line(#"{"at":"2026-11-22T20:55:00Z","call":{"call_id":"c","topic":"t"}}"#)
        #expect(ok.at == Instant(milliseconds: 1_795_380_900_000))
        #expect(try line(#"{"call":{"call_id":"c","topic":"t"}}"#).at == nil)
        for (text, code, field) in [
            (#"{"at":"2026-11-22 20:55","call":{"call_id":"c","topic":"t"}}"#, "bad_time", "at"),
            (#"{"at":1795380900,"call":{"call_id":"c","topic":"t"}}"#, "bad_time", "at"),
            (#"{"when":"x","call":{}}"#, "unknown_field", "when"),
            (#"{"at":"2026-11-22T20:55:00Z"}"#, "missing_field", "call"),
        ] {
            #expect {
                _ = try line(text)
            } throws: { error in
                let e = error as! InputError
                return e.code.rawValue == code && e.field == field
            }
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct DecisionEncodingTests {
    let table = try! TableLoader.load(yaml: """
    table: t
    time_zone: Europe/Moscow
    schedules:
      day: {weekly: [{days: daily, hours: "04:00-23:50"}]}
    targets:
      line: {name: L, address: "cti:line", schedule: day, mode: blind}
    cases:
      later: {category: "Back Office Сохранение/Передача клиента/", fields: [a, b]}
    topics:
      t:
        rules:
          - {id: t.go, transfer: line, comment: "Суть", when_closed: {case: later}}
    """, file: "t.yaml")

    @Test func transferKeysInContractOrder() throws {
        let d = try table.evaluate(Call(callID: "c", topic: "t", identification: "ФИОПД"), at: Instant(seconds: 1_795_370_000))
        let json = Wire.encode(d)
        #expect(json.hasPrefix(#"{"action":"transfer","target":{"id":"line","address":"cti:line","via":"cti","mode":"blind"},"case":null,"rule":"t.go","phrases":[],"comment":"Суть. идент. ФИОПД","checks":[],"valid_until":"2026-11-22T23:50:00+03:00","trace":["#))
        let parsed = try JSONReader.parse(json)
        #expect(parsed["valid_until"] == .string("2026-11-22T23:50:00+03:00"))
    }

    @Test func caseShape() throws {
        let d = try table.evaluate(Call(callID: "c", topic: "t"), at: Instant(seconds: 1_795_380_900))
        let parsed = try JSONReader.parse(Wire.encode(d))
        #expect(parsed["action"] == .string("case"))
        #expect(parsed["target"] == .null)
        #expect(parsed["case"] == .object([
            .init("id", .string("later")), .init("category", .string("Back Office Сохранение/Передача клиента/")),
            .init("priority", .string("normal")), .init("subject", .null), .init("fields", .array([.string("a"), .string("b")])),
        ]))
        #expect(parsed["valid_until"] == .string("2026-11-23T04:00:00+03:00"))
    }

    @Test func errorObject() throws {
        let json = Wire.encode(InputError(.missingFact, "facts.insists is required.", field: "facts.insists"))
        #expect(json == #"{"error":{"code":"missing_fact","message":"facts.insists is required.","field":"facts.insists"}}"#)
        #expect(Wire.encode(InputError(.badJSON, "bad.")) == #"{"error":{"code":"bad_json","message":"bad.","field":null}}"#)
    }
}

/// The reply's `id` is the request's, byte for byte (issue 13, finding 7).
@Suite(.timeLimit(.minutes(5)))
struct RequestIDTests {
    static let ids = [
        "1234567890123456", "9007199254740993", "-0", "1e400", "0.1", "-12.50E+3", "0", "null",
        #""a \"quoted\" \\ back\/slash \u00e9 \ud83d\ude00 é\n""#, #""c-000123""#,
    ]

    @Test(arguments: ids)
    func aDecisionReplyEchoesTheIDAsSent(id: String) throws {
        let request = #"{"id": \#(id), "table": "retention-ru", "call": {"call_id": "c", "topic": "termination"}}"#
        let (decoded, result) = QueryRequest.decodeKeepingID(Array(request.utf8))
        _ = try result.get()
        var w = JSONWriter()
        Wire.encodeReply(id: decoded, decisionJSON: Array(#"{"action":"deny"}"#.utf8), into: &w)
        #expect(w.string == #"{"id":\#(id),"decision":{"action":"deny"}}"#)
    }

    /// Refused requests echo it too, as long as the reader got past the id.
    @Test(arguments: ids)
    func anErrorReplyEchoesTheIDAsSent(id: String) throws {
        for rest in [#", "tabel": "x"}"#, #", "call": {"call_id": 1}}"#, #", "table": "t", "call": [1e999]}"#, #", "table": "#] {
            let (decoded, result) = QueryRequest.decodeKeepingID(Array(#"{"id":\#(id)\#(rest)"#.utf8))
            let error = try #require(throws: InputError.self) { try result.get() }
            var w = JSONWriter()
            Wire.encodeReply(id: decoded, error: error, into: &w)
            #expect(w.string.hasPrefix(#"{"id":\#(id),"error":{"#), "\(rest)")
        }
    }

    @Test(arguments: [("true", "a boolean"), ("[1]", "an array"), (#"{"n":1}"#, "an object")])
    func anIDThatIsNotAScalarIsRefused(id: String, kind: String) throws {
        let (decoded, result) = QueryRequest.decodeKeepingID(Array(#"{"id":\#(id),"table":"t","call":{}}"#.utf8))
        #expect(decoded == .null)
        let error = try #require(throws: InputError.self) { try result.get() }
        #expect(error.code == .badType && error.field == "id" && error.message.contains(kind))
    }

    @Test func theValueIsStillThereForLogs() {
        #expect(QueryRequest.decode(Array(#"{"id":"x","table":"t","call":{"call_id":"c","topic":"t"}}"#.utf8)).id == .string("x"))
        #expect(QueryRequest.decodeKeepingID(Array(#"{"id":12,"table":"t"}"#.utf8)).id.value == .number(12))
    }
}

/// Masking happens where a call is decoded, so nothing downstream (engine, journal, `route`) sees the clear value.
@Suite(.timeLimit(.minutes(5)))
struct DecodingMasksTests {
    static let call = #"{"call_id":"c","topic":"termination","identification":"护照E73920461","notes":"CVV码562","customer":{"card":"4111/1111/1111/1111"},"facts":{"said":"短信验证码为604918","insists":true}}"#

    static func expectMasked(_ call: Call) {
        #expect(call.identification == "护照E********")
        #expect(call.notes == "CVV码***")
        #expect(call.customer["card"] == .string("**** **** **** 1111"))
        #expect(call.facts == ["said": .string("短信验证码为******"), "insists": .bool(true)])
    }

    @Test func aQuery() throws {
        Self.expectMasked(try QueryRequest.decode(Array(#"{"id":1,"table":"t","call":\#(Self.call)}"#.utf8)).result.get().call)
    }

    @Test func aCall() throws {
        Self.expectMasked(try Wire.decodeCall(Array(Self.call.utf8)))
    }

    /// Notes set after decoding are clear text again: the comment masks them.
    @Test func notesSetAfterDecodingAreMaskedInTheComment() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("routing-tables/retention-ru.yaml").path
        let table = try TableLoader.load(yaml: try String(contentsOfFile: path, encoding: .utf8), file: path)
        var call = try Wire.decodeCall(Array(#"{"call_id":"c","topic":"termination","facts":{"insists":true},"notes":"CVV 562"}"#.utf8))
        let at = Instant(seconds: 1_795_380_900)
        #expect(try table.evaluate(call, at: at).comment.hasSuffix("CVV ***"))
        call.notes = "карта 4111 1111 1111 1111"
        let comment = try table.evaluate(call, at: at).comment
        #expect(!comment.contains("4111 1111 1111 1111") && comment.hasSuffix("1111"), "\(comment)")
    }

    /// An event carries the call's notes masked: a decoded call's as they were masked at decode (not masked
    /// again), a call made otherwise or whose notes were set after decoding masked as the event is written.
    @Test func eventsCarryMaskedNotesWhicheverWayTheCallWasMade() throws {
        func eventNotes(_ call: Call) throws -> String? {
            let decision = Decision(action: .deny, target: nil, case: nil, procedure: nil, reason: "r", rule: "r", phrases: [],
                                    comment: "", checks: [], validUntil: nil, validUntilOffset: 0, trace: [])
            var w = JSONWriter()
            DecisionEvent(seq: 1, eventID: "e-1", at: Instant(seconds: 0), atOffset: 0, callID: call.callID, table: "t",
                          tableVersion: "v", call: call, decision: decision).encode(into: &w)
            return try Wire.DecodedEvent(json: w.bytes).call?.notes
        }
        var decoded = try Wire.decodeCall(Array(Self.call.utf8))
        #expect(try eventNotes(decoded) == "CVV码***")
        decoded.notes = "карта 4111 1111 1111 1111"
        #expect(try eventNotes(decoded) == "карта **** **** **** 1111")
        #expect(try eventNotes(Call(callID: "c", topic: "t", notes: "CVV 562")) == "CVV ***")
    }

    @Test func aBatchLine() throws {
        var line = #"{"call":\#(Self.call)}"#
        Self.expectMasked(try line.withUTF8 { b in Result { () throws(InputError) in try Wire.decodeBatchLine(b) } }.get().call)
    }
}

/// A comparison's trace line is kept as its probe and the value (``TraceLine/comparison(_:_:_:)``) and written
/// from parts escaped at load: the bytes must be those of its text written as a string.
@Suite
struct ComparisonLineTests {
    @Test func writesTheBytesOfItsText() {
        let paths = ["customer.balance", "facts.\"quoted\"\\path\u{1}", "facts.сумма"]
        let comparisons: [Condition.Comparison] = [.less(0), .equals(.string("a\"b")), .notEquals(.number(2.5)), .oneOf([.string("x\ty"), .string("д")]),
                                                   .noneOf([.number(1)]), .greaterOrEqual(-1e20)]
        let values: [Value?] = [nil, .number(7), .number(-0.5), .number(1e300), .bool(true), .string(""), .string("a\"b\\c\u{0}\u{1F}\n"),
                                .string("Иван «И»"), .string("\u{2028}😀"), .array([.string("q\""), .number(1)])]
        var checked = 0
        for path in paths {
            for comparison in comparisons {
                let probe = Condition.Probe(path: path, comparison: comparison, domain: [], id: 0)
                for value in values {
                    for result in [true, false] {
                        let line = TraceLine.comparison(probe, value, result)
                        var w = JSONWriter()
                        w.comparisonLine(probe, value, result)
                        #expect(w.bytes == JSONString.literal(line.text), "\(line.text)")
                        #expect(line.text == Condition.traceLine(path, value, comparison, result))
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == 360)
    }
}
