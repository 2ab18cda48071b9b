import Testing
import TestSupport
@testable import Routing
@testable import Wire

@Suite(.timeLimit(.minutes(5)))
struct JSONReaderTests {
    @Test func parsesEveryKindOfValue() throws {
        let v = try JSONReader.parse(#"{"a": [1, -2.5e1, 0.125, true, false, null, "x\"y\\z\n\u00e9\ud83d\ude00"], "b": {}}"#)
        #expect(v == .object([
            .init("a", .array([.number(1), .number(-25), .number(0.125), .bool(true), .bool(false), .null, .string("x\"y\\z\né😀")])),
            .init("b", .object([])),
        ]))
    }

    @Test func tellsBooleansFromNumbers() throws {
        #expect(try JSONReader.parse("[true, 1]") == .array([.bool(true), .number(1)]))
    }

    @Test(arguments: [
        "", "   ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{'a': 1}", "{a: 1}",
        "tru", "nul", "01", "1.", ".5", "-", "1e", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00x\"",
        "{\"a\":1}{", "{\"a\":1} x", "\"tab\there\"", "{\"a\":1,\"a\":2}", "1e999", "[\"\u{7f}\", ]",
    ])
    func rejectsMalformedInputWithBadJSON(text: String) {
        #expect {
            _ = try JSONReader.parse(text)
        } throws: { error in
            (error as? InputError)?.code == .badJSON
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: InputError.self) { try JSONReader.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    /// Every kind of bad sequence UTF-8 forbids is refused at the string's first byte, in a plain string and
    /// in one with an escape; every valid length is read as the same scalars.
    @Test(arguments: [
        [0xC3], [0x80], [0xBF, 0x41], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF0, 0x80, 0x80, 0xAF],
        [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFE], [0xFF], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xEF, 0xBF, 0xBD, 0xFF],
    ] as [[UInt8]])
    func rejectsEveryInvalidUTF8Sequence(bad: [UInt8]) {
        for text in [[0x22] + bad + [0x22], [0x22, 0x5C, 0x6E] + bad + [0x22], [0x7B, 0x22] + bad + [0x22, 0x3A, 0x31, 0x7D]] {
            #expect(throws: InputError.self) { try JSONReader.parse(text) }
            #expect((try? JSONReader.parse(text)) == nil)
        }
        #expect(throws: InputError.self) { try JSONReader.parse([0x22, 0x61] + bad + [0x22]) }
    }

    @Test func readsEveryValidUTF8Length() throws {
        let text = "a é € 😀 \u{7F} \u{80} \u{7FF} \u{800} \u{FFFF} \u{10000} \u{10FFFF} \u{FFFD}"
        #expect(try JSONReader.parse([0x22] + Array(text.utf8) + [0x22]) == .string(text))
    }

    @Test func boundsNesting() throws {
        let ok = String(repeating: "[", count: JSONReader.maximumDepth) + String(repeating: "]", count: JSONReader.maximumDepth)
        #expect(throws: Never.self) { try JSONReader.parse(ok) }
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: InputError.self) { try JSONReader.parse(deep) }
    }

    /// The object of issue 13's finding 4: 8,464 keys in 59 KB. Refused at the 257th key, so the parser never
    /// reads past the first few kilobytes.
    @Test func theEightThousandKeyObjectIsRefusedAtTheKeyBound() throws {
        let text = JSONReaderTests.wideObject(keys: 8464)
        #expect(text.utf8.count == 59_249)
        let error = try #require(throws: InputError.self) { try JSONReader.parse(text) }
        #expect(error.code == .tooLarge)
        #expect(error.message.contains("more than \(JSONReader.maximumKeysPerObject) keys in one object"))
        let match = try #require(error.message.firstMatch(of: /at byte (\d+)/))
        let offset = try #require(Int(match.output.1))
        #expect(offset < 3_000)
    }

    /// Without the bounds (the engine's own output), the duplicate-key check grows linearly with the keys, not
    /// quadratically: work is counted, not timed.
    @Test(arguments: [1_000, 2_000, 4_000, 8_464])
    func duplicateCheckIsLinear(keys: Int) throws {
        let work = try JSONReader.duplicateCheckWork(JSONReaderTests.wideObject(keys: keys), limits: .trusted)
        #expect(work <= 2 * keys)
    }

    @Test func duplicatesAreFoundInLargeObjects() {
        let text = "{" + (0..<100).map { "\"k\($0)\":\($0)," }.joined() + "\"k7\":1}"
        #expect { try JSONReader.parse(text) } throws: { ($0 as? InputError)?.message.contains("duplicate key \"k7\"") == true }
    }

    @Test(arguments: [
        ("values", "[" + Array(repeating: "0", count: JSONReader.maximumValues).joined(separator: ",") + "]"),
        ("bytes", "\"" + String(repeating: "é", count: JSONReader.maximumStringBytes / 2 + 1) + "\""),
        ("bytes", "\"" + String(repeating: "\\n", count: JSONReader.maximumStringBytes / 2 + 1) + "\""),
        ("bytes", "{\"" + String(repeating: "k", count: JSONReader.maximumStringBytes + 1) + "\":1}"),
        ("bytes", String(repeating: "9", count: JSONReader.maximumNumberBytes + 1)),
        ("levels", String(repeating: "[", count: JSONReader.maximumDepth + 1) + String(repeating: "]", count: JSONReader.maximumDepth + 1)),
    ])
    func eachBoundIsNamedWhenExceeded(bound: String, text: String) {
        #expect {
            try JSONReader.parse(text)
        } throws: { error in
            let e = error as? InputError
            return e?.code == .tooLarge && e?.message.contains(bound) == true
        }
    }

    @Test func justWithinTheBoundsParses() throws {
        let values = "[" + Array(repeating: "0", count: JSONReader.maximumValues - 1).joined(separator: ",") + "]"
        #expect(throws: Never.self) { try JSONReader.parse(values) }
        let string = "\"" + String(repeating: "x", count: JSONReader.maximumStringBytes) + "\""
        #expect(throws: Never.self) { try JSONReader.parse(string) }
        #expect(throws: Never.self) { try JSONReader.parse(JSONReaderTests.wideObject(keys: JSONReader.maximumKeysPerObject)) }
        // The engine's own output is not held to a request's bounds.
        #expect(throws: Never.self) { try JSONReader.parse(JSONReaderTests.wideObject(keys: 8464), limits: .trusted) }
    }

    @Test func keepsTheQueryIDsBytesAsWritten() throws {
        let (id, result) = QueryRequest.decodeKeepingID(Array(#"{"a": 1, "id" : 9007199254740993 , "b": [1e400]}"#.utf8))
        #expect(String(decoding: id.json, as: UTF8.self) == "9007199254740993")
        // 1e400 outside the id is still out of range; the id got past before that.
        #expect(throws: InputError.self) { try result.get() }
        let (big, lenient) = QueryRequest.decodeKeepingID(Array(#"{"id":-1e400,"table":"t","call":{"call_id":"c","topic":"x"}}"#.utf8))
        #expect(try lenient.get().id == .number(-.infinity))
        #expect(String(decoding: big.json, as: UTF8.self) == "-1e400")
    }

    /// The reply echoes such an id byte for byte, and a client reads it (`.trusted`, the engine's own output) as
    /// infinite; a request still may not hold a number beyond `Double` anywhere but its id. Found by fuzzing: the
    /// request target's check that each reply is JSON refused the reply to `{"id":2E1111111001138905,…`.
    @Test func aReplyEchoingAnIdBeyondDoubleIsRead() throws {
        for (id, value) in [("1e400", Double.infinity), ("-1e400", -.infinity), ("2E1111111001138905", .infinity)] {
            let reply = try Wire.DecodedReply(json: Array(#"{"id":\#(id),"error":{"code":"unknown_table","message":"m","field":"table"}}"#.utf8))
            #expect(reply.id == .number(value))
            #expect(reply.errorCode == .unknownTable)
            #expect(throws: InputError.self) { try JSONReader.parse("[\(id)]") }
        }
    }

    /// `{"!!":0,"!#":1,…}`: keys of two printable ASCII characters, seven bytes a member; all 92² = 8,464 of them
    /// make the 59 KB object of the finding.
    static func wideObject(keys: Int) -> String {
        let alphabet = (0x21...0x7E).filter { $0 != 0x22 && $0 != 0x5C }.map { Character(Unicode.Scalar(UInt8($0))) }
        precondition(keys <= alphabet.count * alphabet.count)
        return "{" + (0..<keys).map { "\"\(alphabet[$0 / alphabet.count])\(alphabet[$0 % alphabet.count])\":\($0 % 10)" }.joined(separator: ",") + "}"
    }

    /// No input makes the parser trap: random bytes and mutations of a valid call only ever give a value or `bad_json`.
    @Test func neverTrapsOnArbitraryBytes() {
        var rng = SystemRandomNumberGenerator()
        let valid = Array(#"{"call_id":"c","topic":"termination","facts":{"insists":true},"notes":"é"}"#.utf8)
        let alphabet = Array(#"{}[]":,-+.eE0123456789tfnrlsu\ abc"#.utf8) + [0xC3, 0xA9, 0xFF, 0x00]
        for n in 0..<20_000 {
            var bytes: [UInt8]
            if n % 2 == 0 {
                bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0...2, using: &rng) {
                    case 0: bytes[i] = alphabet.randomElement(using: &rng)!
                    case 1: bytes.remove(at: i)
                    default: bytes.insert(alphabet.randomElement(using: &rng)!, at: i)
                    }
                    if bytes.isEmpty { break }
                }
            }
            do {
                _ = try JSONReader.parse(bytes)
            } catch {
                #expect(error.code == .badJSON)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(5)))
struct JSONWriterTests {
    @Test func escapesAndRoundTrips() throws {
        let value = Value.object([.init("s", .string("кавычка \" и \\ и \n и \u{01}")), .init("n", .number(-12)), .init("f", .number(0.5)),
                                  .init("a", .array([.bool(true), .null]))])
        var w = JSONWriter()
        w.value(value)
        #expect(w.string == #"{"s":"кавычка \" и \\ и \n и \u0001","n":-12,"f":0.5,"a":[true,null]}"#)
        #expect(try JSONReader.parse(w.bytes) == value)
    }
}

extension JSONReaderTests {
    /// An escape, a quote or a control character at any position of strings of 0 to 24 bytes (ASCII, Cyrillic,
    /// three-byte fillers) is found where it stands: what the writer escapes reads back as the text, and a raw
    /// control character is refused.
    @Test func findsEveryEscapeWhereverItStands() throws {
        for (bytes, special) in JSONWriterTests.textsWithASpecialByte() {
            let text = String(decoding: bytes, as: UTF8.self)
            var w = JSONWriter()
            w.string(text)
            #expect(try JSONReader.parse(w.bytes) == .string(text), "\(bytes)")
            if special < 0x20 {
                #expect(throws: InputError.self) { try JSONReader.parse([0x22] + bytes + [0x22]) }
            }
        }
    }
}

extension JSONWriterTests {
    /// Integers are written as Swift prints them, the extremes and every length of digits included, and so are
    /// whole `Double`s below 1e15.
    @Test func writesIntegersAsSwiftPrintsThem() {
        var samples: [Int64] = [0, -1, 1, 9, 10, -10, 99, 100, .max, .min, .max - 1, .min + 1]
        var power: Int64 = 1
        for _ in 0..<18 {
            power *= 10
            samples += [power - 1, power, power + 1, -power + 1, -power, -power - 1]
        }
        var rng = SplitMix64(seed: 64)
        samples += (0..<1000).map { _ in Int64.random(in: .min ... .max, using: &rng) >> Int64.random(in: 0...62, using: &rng) }
        for n in samples {
            var w = JSONWriter()
            w.number(n)
            #expect(w.string == String(n))
            if n.magnitude < 1_000_000_000_000_000 {
                var d = JSONWriter()
                d.number(Double(n))
                #expect(d.string == String(n))
            }
        }
    }

    /// Every byte that needs an escape, and bytes beside the bounds of the word-at-a-time test (0x1F/0x20,
    /// 0x21/0x23, 0x5B/0x5D, UTF-8 continuation and lead bytes), at every position of strings of 0 to 24
    /// bytes, written as a byte-by-byte escaper writes them.
    @Test func escapesEveryByteWhereverItStands() {
        for (bytes, _) in Self.textsWithASpecialByte() {
            let text = String(decoding: bytes, as: UTF8.self)
            var w = JSONWriter()
            w.string(text)
            #expect(w.bytes == Self.escapedByteByByte(text), "\(bytes)")
        }
    }

    /// Texts of 0 to 24 bytes of a filler (ASCII, Cyrillic, three-byte), with one special byte inserted at each
    /// position: every byte that needs an escape and those beside the bounds of the word-at-a-time test.
    static func textsWithASpecialByte() -> [(bytes: [UInt8], special: UInt8)] {
        let special: [UInt8] = Array(0x00...0x20) + [0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F]
        let fillers: [[UInt8]] = [Array("a".utf8), Array("ж".utf8), Array("€".utf8)]
        var texts: [(bytes: [UInt8], special: UInt8)] = []
        for length in 0...24 {
            for filler in fillers {
                var base: [UInt8] = []
                while base.count < length { base += filler }
                for position in 0...base.count {
                    for byte in special {
                        var bytes = base
                        bytes.insert(byte, at: position)
                        texts.append((bytes, byte))
                    }
                }
            }
        }
        return texts
    }

    static func escapedByteByByte(_ text: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for c in text.utf8 {
            switch c {
            case 0x22: out += Array(#"\""#.utf8)
            case 0x5C: out += Array(#"\\"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array(#"\u00"#.utf8) + [hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            default: out.append(c)
            }
        }
        return out + [0x22]
    }
}
