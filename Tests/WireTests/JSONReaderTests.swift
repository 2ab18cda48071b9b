import Testing
@testable import Routing
@testable import Wire

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

    @Test func boundsNesting() throws {
        let ok = String(repeating: "[", count: JSONReader.maximumDepth) + String(repeating: "]", count: JSONReader.maximumDepth)
        #expect(throws: Never.self) { try JSONReader.parse(ok) }
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: InputError.self) { try JSONReader.parse(deep) }
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
