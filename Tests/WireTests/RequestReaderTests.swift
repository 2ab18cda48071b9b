import Testing
@testable import Routing
@testable import Wire

/// The requests that carry a call are read member by member from their bytes (`JSONReader+Requests.swift`).
/// Before, the whole document was parsed into a ``Value`` and its shape checked after; these tests hold the
/// two to the same answer — the same call, or the same error (code, message, field) — for every variant of a
/// few requests: each cut short, each with a byte removed, each with a byte replaced by one that matters to
/// JSON, and hand-written ones for each check.
@Suite(.timeLimit(.minutes(5)))
struct RequestReaderTests {
    static let call = #"{"call_id":"c-1","topic":"termination","language":"ru","identification":"ФИОПД 4111 1111 1111 1111","customer":{"region":"moscow","vip":true,"balance":100,"tags":["a",{"k":"смс 123456"}]},"facts":{"insists":true,"card":"4111111111111111","n":-1.5e3},"notes":"карта 4111 1111 1111 1111, \"код\" 1234\n"}"#
    static let batchLine = #"{"at":"2026-11-23T10:00:00+03:00","call":\#(call)}"#
    static let query = #"{"id":7,"table":"retention-ru","at":"2026-11-23T10:00:00+03:00","call":\#(call),"idempotency_key":"k-1"}"#

    /// The document with each byte of it removed, replaced, or the document cut short there.
    static func variants(of text: String) -> [[UInt8]] {
        let bytes = Array(text.utf8)
        var out = [bytes]
        let replacements = Array(#""{}[],:1x \n"#.utf8)
        for i in 0..<bytes.count {
            out.append(Array(bytes[..<i]))
            var removed = bytes
            removed.remove(at: i)
            out.append(removed)
            for r in replacements where r != bytes[i] {
                var replaced = bytes
                replaced[i] = r
                out.append(replaced)
            }
        }
        return out
    }

    /// Hand-written calls for each check, in the order the checks come.
    static let calls: [String] = [
        "", " ", "[]", "5", "null", #""call""#, "{}", #"{"call_id":"a"}"#, #"{"topic":"t"}"#,
        #"{"call_id":1,"topic":2}"#, #"{"topic":2,"call_id":1}"#, #"{"call_id":"a","topic":"t","extra":1,"more":2}"#,
        #"{"extra":1,"call_id":"a","extra":2}"#, #"{"call_id":"a","call_id":"b","topic":"t"}"#,
        #"{"call_id":"a","topic":"t","facts":null,"customer":null,"notes":null,"language":null,"identification":null}"#,
        #"{"call_id":"a","topic":"t","facts":[1]}"#, #"{"call_id":"a","topic":"t","customer":"x"}"#,
        #"{"call_id":"a","topic":"t","facts":{"x":1,"x":2}}"#, #"{"call_id":"a","topic":"t","notes":5}"#,
        #"{"call_id":"a","topic":"t","language":true,"notes":5}"#, #"{"call_id":"a","topic":"t"} x"#,
        #"{"call_id":"a","topic":"t","facts":{"big":1e400}}"#, #"{"call_id":"a","topic":"t","notes":"\ud800"}"#,
        #"{"call_\u0069d":"a","topic":"t"}"#, #"{"call_id":"a","topic":"t","call_\u0069d":"b"}"#,
        #"{"call_id":"a","topic":5,"bad":1,"notes":"#,
        "{\"call_id\":\"a\",\"topic\":\"t\",\"notes\":\"\u{FF}\"}",
        // Keys are found among the names by their bytes: near misses, and the names written with escapes.
        #"{"call_i":"a","topic":"t"}"#, #"{"call_idx":"a","topic":"t"}"#, #"{"":1,"call_id":"a","topic":"t"}"#,
        #"{"call_id":"a","topic":"t","Notes":"x"}"#, #"{"call_id":"a","t\u006fpic":"t","topic":"u"}"#,
        #"{"call_id":"a","topic":"t","facts":{},"f\u0061cts":{}}"#, #"{"call_id":"a","topic":"t","customer\u0000":1}"#,
        #"{"call_id"#, #"{"call_id":"a","topic"#, "{\"topic\u{01}\":\"t\",\"call_id\":\"a\"}", #"{"call_id":"a","topic":"t","notes_and_more_than_any_name":1}"#,
    ]

    /// `at` values for the reader's two ways: printable ASCII parsed from the bytes, anything else as a value.
    static let instants: [String] = [
        #""2026-11-23T10:00:00+03:00""#, #""2026-11-23T10:00:00.125Z""#, #""2026-11-23t10:00z""#, #""2026-11-23 10:00+0300""#,
        #""2026-11-23T10:00:00\u002b03:00""#, #""2026-11-23T10:00:00+03:00é""#, #""2026-11-23T10:00:00+03:00\n""#,
        "\"2026-11-23T10:00:00+03:00\u{01}\"", #""2026-11-23T10:00:00+03:00"#, #""2026-13-23T10:00:00Z""#, #""""#, #"" ""#,
        #""yesterday""#, #"  "2026-11-23T10:00:00Z"  "#, "null", "5", #"["2026-11-23T10:00:00Z"]"#, #""\"""#,
    ]

    /// `at` as the longest string a request may hold and one byte longer, and as the last value a request may
    /// hold and one past it (after a call of the object, its two members, `facts`, an array and its numbers).
    static let instantsAtTheLimits: [(call: String, at: String)] = {
        let call = #"{"call_id":"a","topic":"t"}"#
        func numbers(_ n: Int) -> String { #"{"call_id":"a","topic":"t","facts":{"n":["# + Array(repeating: "1", count: n).joined(separator: ",") + "]}}" }
        let longest = String(repeating: "2", count: JSONReader.maximumStringBytes)
        return [(call, "\"\(longest)\""), (call, "\"\(longest)2\""),
                (numbers(JSONReader.maximumValues - 7), #""2026-11-23T10:00:00Z""#), (numbers(JSONReader.maximumValues - 6), #""2026-11-23T10:00:00Z""#)]
    }()

    @Test func aCallIsReadAsWhenParsedFirst() {
        for input in Self.variants(of: Self.call) + Self.calls.map({ Array($0.utf8) }) {
            let read = Result { () throws(InputError) in try Wire.decodeCall(input) }
            let parsed = Result { () throws(InputError) in try Call(value: try JSONReader.parse(input)).masked() }
            #expect(read == parsed, "\(String(decoding: input, as: UTF8.self))")
        }
    }

    @Test func factsKeepTheCallsOrder() throws {
        let call = try Wire.decodeCall(Array(Self.call.utf8))
        #expect(call.factsAsGiven.map(\.key) == ["insists", "card", "n"])
        #expect(call.customerAsGiven.map(\.key) == ["region", "vip", "balance", "tags"])
        #expect(call.facts["card"] == .string(SensitiveData.mask("4111111111111111")))
        #expect(call.notes != nil && !call.notes!.contains("4111"))
    }

    @Test func aBatchLineIsReadAsWhenParsedFirst() {
        let lines = Self.variants(of: Self.batchLine) + Self.calls.map { Array(#"{"call":\#($0)}"#.utf8) } + [
            #"{"at":5,"call":{"call_id":1}}"#, #"{"at":"yesterday","call":{}}"#, #"{"at":null}"#, #"{"x":1,"call":5}"#, #"[1]"#,
            #"{"call":{"call_id":"a","topic":"t"},"call":{}}"#, #"{"c\u0061ll":{"call_id":"a","topic":"t"},"\u0061t":null}"#,
            #"{"calls":{},"call":{"call_id":"a","topic":"t"}}"#, #"{"a":1}"#,
        ].map { Array($0.utf8) } + Self.instants.map { Array(#"{"at":\#($0),"call":{"call_id":"a","topic":"t"}}"#.utf8) }
            + Self.instantsAtTheLimits.map { Array(#"{"call":\#($0.call),"at":\#($0.at)}"#.utf8) }
        for input in lines {
            let read = Result { () throws(InputError) in
                try input.withUnsafeBufferPointer { b in Result { () throws(InputError) in try Wire.decodeBatchLine(b) } }.get()
            }.map { BatchLineParts(at: $0.at, call: $0.call) }
            #expect(read == ParsedFirst.batchLine(input), "\(String(decoding: input, as: UTF8.self))")
        }
    }

    @Test func aQueryIsReadAsWhenParsedFirst() {
        let queries = Self.variants(of: Self.query) + Self.calls.map { Array(#"{"id":"q","table":"t","call":\#($0)}"#.utf8) } + [
            #"{"id":1}"#, #"{"call":{"call_id":"a","topic":"t"}}"#, #"{"table":5,"call":5}"#, #"{"idempotency_key":"","table":"t"}"#,
            #"{"idempotency_key":"é","table":"t"}"#, #"{"at":"no","table":5}"#, #"{"what":1,"table":5}"#, #"[1]"#, #"{"id":{}}"#,
            #"{"id":[1],"table":5}"#, #"{"id":true,"x":"#, #"{"id":-1e400,"table":"t","call":{"call_id":"a","topic":"t"}}"#,
            #"{"\u0069d":1,"t\u0061ble":"t","call":{"call_id":"a","topic":"t"}}"#, #"{"id":1,"table":"t","tabl\u0065":"u"}"#,
            #"{"id":1,"tables":"t","call":{"call_id":"a","topic":"t"}}"#, #"{"id":1,"table":"t","idempotency_ke":"k"}"#,
        ].map { Array($0.utf8) } + Self.instants.map { Array(#"{"id":1,"table":"t","at":\#($0),"call":{"call_id":"a","topic":"t"}}"#.utf8) }
            + Self.instantsAtTheLimits.map { Array(#"{"table":"t","call":\#($0.call),"at":\#($0.at)}"#.utf8) }
        for input in queries {
            let (id, result) = QueryRequest.decodeKeepingID(input)
            let read = result.map { QueryParts(table: $0.table, at: $0.at, call: $0.call, key: $0.idempotencyKey) }
            guard let expected = ParsedFirst.query(input) else { continue }
            #expect(read == expected, "\(String(decoding: input, as: UTF8.self))")
            if case .success = read { #expect(id.value == (try? JSONReader.parse(id.json)) ?? .null) }
        }
    }

    @Test func aQueryEchoesItsIDEvenWhenRefused() {
        let (id, result) = QueryRequest.decodeKeepingID(Array(#"{"id":"a\u0062","table":5}"#.utf8))
        #expect(String(decoding: id.json, as: UTF8.self) == #""a\u0062""#)
        #expect(id.value == .string("ab"))
        #expect(throws: InputError(.badType, "table must be a string, got a number.", field: "table")) { try result.get() }
        let (none, refused) = QueryRequest.decodeKeepingID(Array(#"{"id":true,"table":"t"}"#.utf8))
        #expect(none == .null)
        #expect(throws: InputError(.badType, "id must be a string or a number, got a boolean.", field: "id")) { try refused.get() }
    }
}

struct BatchLineParts: Equatable {
    let at: Instant?
    let call: Call
}

struct QueryParts: Equatable {
    let table: String
    let at: Instant?
    let call: Call
    let key: String?
}

/// Requests decoded as they were before they were read member by member: the whole document parsed, then
/// each member checked in order.
enum ParsedFirst {
    static func batchLine(_ bytes: [UInt8]) -> Result<BatchLineParts, InputError> {
        Result { () throws(InputError) in
            let value = try JSONReader.parse(bytes)
            guard case .object(let members) = value else {
                throw InputError(.badType, "a batch line must be a JSON object {\"at\"?, \"call\"}, got \(value.kindDescription).", field: nil)
            }
            var at: Instant?
            var call: Call?
            for m in members {
                switch m.key {
                case "at": at = try Wire.instant(m.value, field: "at")
                case "call": call = try Call(value: m.value).masked()
                default: throw InputError(.unknownField, "\(m.key) is not a field of a batch line; expected at, call.", field: m.key)
                }
            }
            guard let call else { throw InputError(.missingField, "call is required: the call to decide.", field: "call") }
            return BatchLineParts(at: at, call: call)
        }
    }

    /// Nil where the answer depended on the id's bytes read before a JSON error (not knowable from a parse).
    static func query(_ bytes: [UInt8]) -> Result<QueryParts, InputError>? {
        let value: Value
        do throws(InputError) { value = try JSONReader.parse(bytes) } catch {
            return bytes.contains(Array("\"id\"".utf8)) ? nil : .failure(error)
        }
        if case .object(let members) = value, let id = members.first(where: { $0.key == "id" })?.value {
            switch id {
            case .object: return .failure(InputError(.badType, "id must be a string or a number, got an object.", field: "id"))
            case .array: return .failure(InputError(.badType, "id must be a string or a number, got an array.", field: "id"))
            case .bool: return .failure(InputError(.badType, "id must be a string or a number, got a boolean.", field: "id"))
            default: break
            }
        }
        return Result { () throws(InputError) in
            guard case .object(let members) = value else {
                throw InputError(.badType, "a query must be a JSON object {\"id\", \"table\", \"at\"?, \"call\"}, got \(value.kindDescription).")
            }
            var table: String?
            var at: Instant?
            var call: Call?
            var key: String?
            for m in members {
                switch m.key {
                case "id": break
                case "idempotency_key":
                    guard case .string(let s) = m.value, (1...QueryRequest.maximumKeyLength).contains(s.utf8.count),
                          s.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                        throw .init(.badType, "idempotency_key must be a string of 1 to \(QueryRequest.maximumKeyLength) printable ASCII characters (a UUID, say).", field: "idempotency_key")
                    }
                    key = s
                case "table":
                    guard case .string(let s) = m.value else { throw .init(.badType, "table must be a string, got \(m.value.kindDescription).", field: "table") }
                    table = s
                case "at": at = try Wire.instant(m.value, field: "at")
                case "call": call = try Call(value: m.value).masked()
                default: throw InputError(.unknownField, "\(m.key) is not a field of a query; expected one of: \(QueryRequest.keys.joined(separator: ", ")).", field: m.key)
                }
            }
            guard let table else { throw InputError(.missingField, "table is required: the name of a table the engine serves.", field: "table") }
            guard let call else { throw InputError(.missingField, "call is required: the call to decide.", field: "call") }
            return QueryParts(table: table, at: at, call: call, key: key)
        }
    }
}
