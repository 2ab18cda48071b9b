import Foundation
import Testing
@testable import Routing
import TableLanguage
import TestSupport
@testable import Wire

/// A call read for a known table has its facts and customer fields read straight into the table's slots
/// (`JSONReader.Parser.slots(for:specs:base:)`); anything the slots cannot hold is read as members and checked at
/// evaluation. These tests hold the two ways to the same answer: the same call or error, the same bytes when the
/// call is written (events, idempotency digests), and the same decision or error from every bundled table.
@Suite(.timeLimit(.minutes(5)))
struct SlotsReadingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func load(_ name: String) throws -> Table {
        let path = root.appendingPathComponent("routing-tables/\(name).yaml").path
        return try TableLoader.load(yaml: try String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    static let tableNames = bundledTableNames
    static let instant = Timestamp.parse("2026-11-23T10:00:00+03:00")!.instant

    static let call = #"{"call_id":"c-1","topic":"demands_senior","language":"ru","identification":"ФИОПД","customer":{"region":"moscow","vip":true,"balance":100.5,"type":"business"},"facts":{"reason_given":true,"insists":true,"question":"equipment"},"notes":"карта 4111 1111 1111 1111"}"#

    /// Calls whose members the slots cannot hold, each for a different reason, and some they can.
    static let calls: [String] = [
        call,
        // Explicit nulls: given, not values; a customer field keeps its default.
        #"{"call_id":"a","topic":"termination","customer":{"vip":null,"region":"south"},"facts":{"insists":null}}"#,
        #"{"call_id":"a","topic":"termination","customer":{},"facts":{}}"#,
        #"{"call_id":"a","topic":"termination","customer":null,"facts":null}"#,
        // A fact the topic does not take, one of another type, a value outside an enumeration.
        #"{"call_id":"a","topic":"termination","facts":{"insists":true,"unknown":1}}"#,
        #"{"call_id":"a","topic":"termination","facts":{"insists":"yes"}}"#,
        #"{"call_id":"a","topic":"demands_senior","facts":{"reason_given":true,"insists":true,"question":"weather"}}"#,
        #"{"call_id":"a","topic":"termination","customer":{"vip":"yes"},"facts":{"insists":true}}"#,
        #"{"call_id":"a","topic":"termination","customer":{"vip_level":1.5},"facts":{"insists":true}}"#,
        #"{"call_id":"a","topic":"termination","customer":{"nickname":"x"},"facts":{"insists":true}}"#,
        // Both wrong: the facts' error comes first, as before.
        #"{"call_id":"a","topic":"termination","customer":{"vip":"yes"},"facts":{"insists":"no"}}"#,
        // Facts before the topic, an unknown topic, a topic that is not a string.
        #"{"call_id":"a","facts":{"insists":true},"topic":"termination"}"#,
        #"{"call_id":"a","topic":"weather","facts":{"insists":true}}"#,
        #"{"call_id":"a","topic":7,"facts":{"insists":true}}"#,
        // Keys written with escapes, a key given twice (once escaped), an enumeration's value with a combining mark.
        #"{"call_id":"a","topic":"termination","facts":{"in\u0073ists":true}}"#,
        #"{"call_id":"a","topic":"termination","customer":{"v\u0069p":true},"facts":{"insists":true}}"#,
        #"{"call_id":"a","topic":"termination","facts":{"insists":true,"insists":false}}"#,
        #"{"call_id":"a","topic":"termination","facts":{"insists":true,"in\u0073ists":false}}"#,
        "{\"call_id\":\"a\",\"topic\":\"termination\",\"customer\":{\"type\":\"business\u{0301}\"}}",
        // Free text to mask in a string fact and a customer field; an enumeration that masking changes.
        #"{"call_id":"a","topic":"operator_number","customer":{"region":"4111 1111 1111 1111"},"facts":{"operator_number":"4111111111111111"}}"#,
        #"{"call_id":"a","topic":"case_repeat","facts":{"case_category":"4111111111111111","case_status":"closed","disagrees":true}}"#,
        // Arrays and objects where a scalar is declared; bad JSON inside the facts, after them, a number too large.
        #"{"call_id":"a","topic":"termination","facts":{"insists":[true]}}"#,
        #"{"call_id":"a","topic":"termination","facts":{"insists":{"a":1}}}"#,
        #"{"call_id":"a","topic":"termination","facts":{"insists":tru}}"#,
        #"{"call_id":"a","topic":"termination","facts":{"insists":true},"notes":5}"#,
        #"{"call_id":"a","topic":"termination","customer":{"balance":1e400}}"#,
        // An error kept before the facts: the rest is only checked to be JSON.
        #"{"call_id":1,"topic":"termination","facts":{"insists":true}}"#,
        // A VIP of a region with a VIP line: the retention transfer goes there (a redirect reading both fields).
        #"{"call_id":"a","topic":"termination","customer":{"region":"south","vip":true},"facts":{"insists":true}}"#,
    ]

    /// The same call or error read both ways; the same bytes written; the same decision or error.
    static func expectSame(_ input: [UInt8], table: Table, sourceLocation: SourceLocation = #_sourceLocation) {
        let text = String(decoding: input, as: UTF8.self)
        let withSlots = Result { () throws(InputError) in try Wire.decodeCall(input, table: table) }
        let asMembers = Result { () throws(InputError) in try Wire.decodeCall(input) }
        #expect(withSlots == asMembers, "\(text)", sourceLocation: sourceLocation)
        guard case .success(let a) = withSlots, case .success(let b) = asMembers else { return }
        #expect(written(a) == written(b), "\(text)", sourceLocation: sourceLocation)
        #expect(decided(a, table) == decided(b, table), "\(text)", sourceLocation: sourceLocation)
    }

    static func written(_ call: Call) -> String {
        var w = JSONWriter()
        Wire.encode(call, masked: true, into: &w)
        return w.string
    }

    static func decided(_ call: Call, _ table: Table) -> String {
        do throws(InputError) { return Wire.encode(try table.evaluate(call, at: instant)) } catch { return Wire.encode(error) }
    }

    @Test func aPlainCallIsReadIntoSlots() throws {
        let table = try Self.load("retention-ru")
        let call = try Wire.decodeCall(Array(Self.call.utf8), table: table)
        #expect(call.factSlots?.keys === table.topic(named: "demands_senior")!.factKeys)
        #expect(call.customerSlots?.keys === table.customerKeys)
        #expect(call.facts == ["reason_given": .bool(true), "insists": .bool(true), "question": .string("equipment")])
        #expect(call.customer == ["region": .string("moscow"), "vip": .bool(true), "balance": .number(100.5), "type": .string("business")])
        // Written as given, sorted by name, defaults not added.
        #expect(Self.written(call).contains(#""customer":{"balance":100.5,"region":"moscow","type":"business","vip":true}"#))
        #expect(Self.written(call).contains(#""facts":{"insists":true,"question":"equipment","reason_given":true}"#))
        Self.expectSame(Array(Self.call.utf8), table: table)
    }

    @Test func nullsAreGivenAndKeepTheDefault() throws {
        let table = try Self.load("retention-ru")
        let call = try Wire.decodeCall(Array(Self.calls[1].utf8), table: table)
        #expect(call.customerSlots != nil && call.factSlots != nil)
        #expect(Self.written(call).contains(#""customer":{"region":"south","vip":null},"facts":{"insists":null}"#))
        #expect(call.customerAsGiven == [.init("vip", .null), .init("region", .string("south"))])  // the call's order
        // `vip` null counts as not given: its default, false, decides; `insists` null is a missing fact.
        #expect(Self.decided(call, table).contains(#""code":"missing_fact""#))
    }

    @Test func whatTheSlotsCannotHoldIsReadAsMembers() throws {
        let table = try Self.load("retention-ru")
        // Facts the slots refuse, or read before the topic is known (each call read, its facts as members).
        for k in [4, 5, 6, 10, 11, 12, 14, 20, 21, 22] {
            let call = try Wire.decodeCall(Array(Self.calls[k].utf8), table: table)
            #expect(call.factSlots == nil, "\(Self.calls[k])")
        }
        for k in [7, 8, 9, 10, 15, 18] {
            let call = try Wire.decodeCall(Array(Self.calls[k].utf8), table: table)
            #expect(call.customerSlots == nil, "\(Self.calls[k])")
        }
        // Refused whichever way they are read: a topic that is not a string, a repeat, bad JSON, a number too large.
        for k in [13, 16, 17, 23, 25] {
            #expect(throws: InputError.self, "\(Self.calls[k])") { try Wire.decodeCall(Array(Self.calls[k].utf8), table: table) }
        }
        // Masked values the fields still take stay in the slots, masked.
        let masked = try Wire.decodeCall(Array(Self.calls[19].utf8), table: table)
        #expect(masked.factSlots != nil && masked.customerSlots != nil)
        #expect(masked.customer["region"] != .string("4111 1111 1111 1111"))
    }

    @Test func everyCallReadsAndDecidesTheSameEitherWay() throws {
        let table = try Self.load("retention-ru")
        for text in Self.calls { Self.expectSame(Array(text.utf8), table: table) }
    }

    /// Each byte of two calls removed, replaced by one that matters to JSON, or the call cut short there.
    @Test func everyVariantReadsAndDecidesTheSameEitherWay() throws {
        let table = try Self.load("retention-ru")
        for text in [Self.call, Self.calls[1]] {
            for input in RequestReaderTests.variants(of: text) { Self.expectSame(input, table: table) }
        }
    }

    /// The last value a request may hold and one past it, and the deepest nesting and one past it, inside a fact
    /// the topic takes (read by the slots' reader, then refused by type and read again as members) and inside a
    /// customer field.
    @Test func theLimitsAreTheSameEitherWay() throws {
        let table = try Self.load("retention-ru")
        for extra in [-8, -7, -6, -5, -4] {
            let n = JSONReader.maximumValues + extra
            let items = (0..<n).map { _ in "true" }.joined(separator: ",")
            Self.expectSame(Array(#"{"call_id":"a","topic":"termination","facts":{"insists":[\#(items)]}}"#.utf8), table: table)
            Self.expectSame(Array(#"{"call_id":"a","topic":"termination","customer":{"region":[\#(items)]},"facts":{"insists":true}}"#.utf8), table: table)
        }
        for depth in JSONReader.maximumDepth - 4...JSONReader.maximumDepth {
            let deep = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            // The facts' array is refused by type after it is read; a value after it is read at the depth put back.
            let inner = String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1)
            Self.expectSame(Array(#"{"call_id":"a","topic":"termination","facts":{"insists":\#(deep)},"notes":\#(inner)}"#.utf8), table: table)
            Self.expectSame(Array(#"{"call_id":"a","topic":"termination","facts":{"insists":true,"x":\#(deep)}}"#.utf8), table: table)
        }
    }

    /// A small table whose topic `t` takes `facts` (YAML lines, each `name: type`) and whose customer fields are
    /// `customer`; one rule decides by `decide`'s condition and another everything else, or one rule everything.
    static func table(facts: [String], customer: [String] = [], decide: String? = nil) throws -> Table {
        let rules = decide.map { "      - \($0)\n      - {id: t.other, transfer: line}" } ?? "      - {id: t.go, transfer: line}"
        let customerLines = customer.isEmpty ? "" : "customer:\n" + customer.map { "  \($0)\n" }.joined()
        return try TableLoader.load(yaml: """
        table: t
        time_zone: Europe/Moscow
        \(customerLines)targets:
          line: {name: L, address: "cti:line", mode: blind}
        topics:
          t:
            facts:
        \(facts.map { "      \($0)" }.joined(separator: "\n"))
            rules:
        \(rules)
        """, file: "t.yaml")
    }

    /// A name as long as a string may be is read into slots; one byte longer, the key is refused (`too_large`)
    /// as the members' reader refuses it, for a fact and for a customer field.
    @Test func aNameLongerThanAStringMayBeIsRefusedEitherWay() throws {
        for length in [JSONReader.maximumStringBytes, JSONReader.maximumStringBytes + 1] {
            let name = String(repeating: "a", count: length)
            let table = try Self.table(facts: ["? \(name)\n      : bool"], customer: ["? c\(name.dropFirst())\n  : bool"])
            let facts = #"{"call_id":"c","topic":"t","facts":{"\#(name)":true}}"#
            let customer = #"{"call_id":"c","topic":"t","customer":{"c\#(name.dropFirst())":true}}"#
            for text in [facts, customer] {
                Self.expectSame(Array(text.utf8), table: table)
                let read = try? Wire.decodeCall(Array(text.utf8), table: table)
                #expect((read != nil) == (length == JSONReader.maximumStringBytes))
            }
        }
    }

    /// Names equal under Unicode canonical equivalence (the marks of `ạ́` in two orders, the second with a tag
    /// so YAML takes both) are compared as `String`s, as the members' reader compares them; and a key equivalent
    /// to one name but written otherwise is read as members and still found.
    @Test func namesEqualUnderCanonicalEquivalenceAreComparedAsText() throws {
        let first = "a\u{0301}\u{0323}", second = "a\u{0323}\u{0301}"
        #expect(first == second && Array(first.utf8) != Array(second.utf8))
        let table = try Self.table(facts: ["\"\(first)\": bool", "!x \"\(second)\": bool"], decide: "{id: t.yes, when: {\"facts.\(first)\": true}, transfer: line}")
        #expect(table.topics[0].factKeys.matchByBytes == false)
        for text in [#"{"call_id":"c","topic":"t","facts":{"\#(second)":true}}"#, #"{"call_id":"c","topic":"t","facts":{"\#(first)":true,"\#(second)":false}}"#] {
            Self.expectSame(Array(text.utf8), table: table)
        }
        let cafe = try Self.table(facts: ["café: bool"], decide: "{id: t.yes, when: {facts.café: true}, transfer: line}")
        let decomposed = Array(#"{"call_id":"c","topic":"t","facts":{"cafe\#u{0301}":true}}"#.utf8)
        Self.expectSame(decomposed, table: cafe)
        let call = try Wire.decodeCall(decomposed, table: cafe)
        #expect(call.factSlots == nil && Self.decided(call, cafe).contains(#""rule":"t.yes""#))
    }

    /// Up to ``GivenSlots/maximumGiven`` members an object is read into slots, keeping their order; more are read
    /// as members. Beyond 64 names, always as members.
    @Test func manyMembersAreReadAsTheCallGivesThem() throws {
        for names in [30, 70] {
            let table = try Self.table(facts: (0..<names).map { "f\($0): bool" })
            for given in [1, 9, 10, 11, 20, names] {
                // Given last name first, so the call's order is not the topic's.
                let members = (0..<given).reversed().map { #""f\#($0)":\#($0 % 2 == 0)"# }.joined(separator: ",")
                let text = Array(#"{"call_id":"c","topic":"t","facts":{\#(members)}}"#.utf8)
                Self.expectSame(text, table: table)
                let call = try Wire.decodeCall(text, table: table)
                #expect((call.factSlots != nil) == (names <= 64 && given <= GivenSlots.maximumGiven), "\(names) \(given)")
                #expect(call.factsAsGiven.map(\.key) == (0..<given).reversed().map { "f\($0)" }, "\(names) \(given)")
            }
        }
    }

    /// Every topic of every bundled table, each fact and customer field given a value of its type, then each
    /// given null, then one of the wrong type.
    @Test func everyTopicOfEveryTableReadsAndDecidesTheSameEitherWay() throws {
        for name in Self.tableNames {
            let table = try Self.load(name)
            for topic in table.topics {
                for variant in 0..<3 {
                    func value(_ spec: FieldSpec, _ k: Int) -> String {
                        if variant == 1 { return "null" }
                        if variant == 2 && k == 0 { return #"{"wrong":true}"# }
                        switch spec.type {
                        case .bool: return k % 2 == 0 ? "true" : "false"
                        case .integer: return "\(k + 1)"
                        case .number: return "\(k).5"
                        case .string: return #""x\#(k)""#
                        case .enumeration(let values): return String(decoding: JSONString.literal(values[k % values.count]), as: UTF8.self)
                        }
                    }
                    let facts = topic.facts.enumerated().map { k, spec in "\(String(decoding: JSONString.literal(spec.name), as: UTF8.self)):\(value(spec, k))" }
                    let customer = table.customerFields.enumerated().map { k, spec in "\(String(decoding: JSONString.literal(spec.name), as: UTF8.self)):\(value(spec, k + 1))" }
                    let code = String(decoding: JSONString.literal(topic.code), as: UTF8.self)
                    let text = #"{"call_id":"g","topic":\#(code),"customer":{\#(customer.joined(separator: ","))},"facts":{\#(facts.joined(separator: ","))}}"#
                    Self.expectSame(Array(text.utf8), table: table)
                    if variant == 0, topic.facts.count <= 64, let call = try? Wire.decodeCall(Array(text.utf8), table: table) {
                        #expect(call.factSlots != nil, "\(name) \(topic.code)")
                    }
                }
            }
        }
    }

    /// A table reloaded between reading and deciding (another instance, as after SIGHUP, here with its customer
    /// fields in another order): the slots are not the new table's, so evaluation reads the members they hold,
    /// and decides as a call read without them.
    @Test func aCallReadForAnotherInstanceOfTheTableDecidesTheSame() throws {
        let before = try Self.load("retention-ru")
        let path = Self.root.appendingPathComponent("routing-tables/retention-ru.yaml").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let region = "  region: {type: string, description: \"регион обслуживания: moscow, south, center, siberia, …\"}\n"
        let vip = "  vip: {type: bool, default: false}\n"
        #expect(text.contains(region + vip))
        text = text.replacingOccurrences(of: region + vip, with: vip + region)
        let after = try TableLoader.load(yaml: text, file: path)
        #expect(after.customerFieldNames != before.customerFieldNames)
        for text in Self.calls {
            guard let call = try? Wire.decodeCall(Array(text.utf8), table: before), let plain = try? Wire.decodeCall(Array(text.utf8)) else { continue }
            #expect(Self.decided(call, after) == Self.decided(plain, after), "\(text)")
        }
    }

    /// Read for one table and decided against another whose facts have other types: the first offending fact
    /// named is the first in the call, as when read without a table.
    @Test func aCallReadForAnotherTableNamesTheFirstOffendingFactInTheCall() throws {
        let strings = try Self.table(facts: ["a: string", "b: string"]), bools = try Self.table(facts: ["a: bool", "b: bool"])
        let text = Array(#"{"call_id":"c","topic":"t","facts":{"b":"x","a":"y"}}"#.utf8)
        let call = try Wire.decodeCall(text, table: strings), plain = try Wire.decodeCall(text)
        #expect(call.factSlots != nil)
        #expect(call.factsAsGiven.map(\.key) == ["b", "a"])
        #expect(Self.decided(call, bools) == Self.decided(plain, bools))
        #expect(Self.decided(call, bools).contains(#""field":"facts.b""#))
    }

    /// A `route --batch` line is read for its table as a call is.
    @Test func aBatchLineIsReadTheSameEitherWay() throws {
        let table = try Self.load("retention-ru")
        for text in Self.calls + [Self.call] {
            let line = Array(#"{"at":"2026-11-23T10:00:00+03:00","call":\#(text)}"#.utf8)
            let read = line.withUnsafeBufferPointer { b in Result { () throws(InputError) in try Wire.decodeBatchLine(b, table: table).call } }
            let plain = line.withUnsafeBufferPointer { b in Result { () throws(InputError) in try Wire.decodeBatchLine(b).call } }
            #expect(read == plain, "\(text)")
            if case .success(let a) = read, case .success(let b) = plain {
                #expect(Self.written(a) == Self.written(b))
                #expect(Self.decided(a, table) == Self.decided(b, table))
            }
        }
    }

    /// A query reads its call into the slots of the table it names, when named before the call, and keeps the table.
    @Test func aQueryReadsItsCallForTheTableItNames() throws {
        let table = try Self.load("retention-ru")
        let tables = ["retention-ru": table]
        let first = #"{"id":1,"table":"retention-ru","call":\#(Self.call)}"#, last = #"{"id":1,"call":\#(Self.call),"table":"retention-ru"}"#
        let a = try QueryRequest.decodeKeepingID(Array(first.utf8), tables: tables).result.get()
        let b = try QueryRequest.decodeKeepingID(Array(last.utf8), tables: tables).result.get()
        let c = try QueryRequest.decodeKeepingID(Array(first.utf8)).result.get()
        #expect(a.servedTable === table && a.call.factSlots != nil)
        #expect(b.servedTable === table && b.call.factSlots == nil)  // the table was not known when the call was read
        #expect(c.servedTable == nil && c.call.factSlots == nil)
        #expect(a.call == b.call && b.call == c.call)
        #expect(Self.written(a.call) == Self.written(c.call))
        let other = #"{"id":1,"table":"nope","call":\#(Self.call)}"#
        let d = try QueryRequest.decodeKeepingID(Array(other.utf8), tables: tables).result.get()
        #expect(d.servedTable == nil && d.call.factSlots == nil)
    }

    /// The field positions the reader compares with are those of the names.
    @Test func callFieldIndicesNameTheirFields() {
        #expect(Call.fieldNames[Call.topicFieldIndex] == "topic")
        #expect(Call.fieldNames[Call.customerFieldIndex] == "customer")
        #expect(Call.fieldNames[Call.factsFieldIndex] == "facts")
    }
}
