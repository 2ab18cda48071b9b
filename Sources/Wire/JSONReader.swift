import Routing

/// A strict JSON parser into ``Value``.
///
/// Written for the engine's request path: it never traps, bounds nesting depth, rejects duplicate
/// keys and trailing bytes, and tells `true` from `1` (which Foundation's `JSONSerialization`
/// does not on Linux), so a fact's type is checked against what the client actually sent.
public enum JSONReader {
    /// Nesting deeper than this is rejected rather than risking the stack.
    public static let maximumDepth = 64

    /// - Throws: `InputError` with code `bad_json` and the byte offset of the problem.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(InputError) -> Value {
        var parser = Parser(buffer)
        return try parser.document()
    }

    public static func parse(_ bytes: [UInt8]) throws(InputError) -> Value {
        try bytes.withUnsafeBufferPointer { b in Result { () throws(InputError) in try parse(b) } }.get()
    }

    public static func parse(_ text: String) throws(InputError) -> Value {
        var text = text
        return try text.withUTF8 { b in Result { () throws(InputError) in try parse(b) } }.get()
    }

    private struct Parser {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0
        var depth = 0

        init(_ buffer: UnsafeBufferPointer<UInt8>) { b = buffer }

        func fail(_ what: String) -> InputError {
            InputError(.badJSON, "not valid JSON at byte \(i): \(what).")
        }

        mutating func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func document() throws(InputError) -> Value {
            skipSpace()
            guard i < b.count else { throw InputError(.badJSON, "the input is empty; expected a JSON object.") }
            let v = try value()
            skipSpace()
            guard i == b.count else { throw fail("unexpected text after the JSON value") }
            return v
        }

        mutating func value() throws(InputError) -> Value {
            guard i < b.count else { throw fail("unexpected end of input") }
            switch b[i] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw fail("expected a value")
            }
        }

        mutating func literal(_ word: StaticString) throws(InputError) {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count else { throw fail("expected \(word)") }
            for k in 0..<n where b[i + k] != word.utf8Start[k] { throw fail("expected \(word)") }
            i += n
        }

        mutating func enter() throws(InputError) {
            depth += 1
            guard depth <= JSONReader.maximumDepth else { throw fail("nested deeper than \(JSONReader.maximumDepth) levels") }
        }

        mutating func object() throws(InputError) -> Value {
            try enter()
            i += 1
            var members: [Value.Member] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                depth -= 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key in double quotes") }
                let key = try string()
                for m in members where m.key == key { throw fail("duplicate key \"\(key)\"") }
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                i += 1
                skipSpace()
                members.append(.init(key, try value()))
                skipSpace()
                guard i < b.count else { throw fail("unexpected end of input in an object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; break }
                throw fail("expected ',' or '}' in an object")
            }
            depth -= 1
            return .object(members)
        }

        mutating func array() throws(InputError) -> Value {
            try enter()
            i += 1
            var items: [Value] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") {
                i += 1
                depth -= 1
                return .array(items)
            }
            while true {
                skipSpace()
                items.append(try value())
                skipSpace()
                guard i < b.count else { throw fail("unexpected end of input in an array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; break }
                throw fail("expected ',' or ']' in an array")
            }
            depth -= 1
            return .array(items)
        }

        mutating func string() throws(InputError) -> String {
            i += 1
            let start = i
            // Fast path: no escapes.
            while i < b.count, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\"), b[i] >= 0x20 { i += 1 }
            guard i < b.count else { throw fail("unterminated string") }
            if b[i] == UInt8(ascii: "\"") {
                let s = try validated(UnsafeBufferPointer(rebasing: b[start..<i]))
                i += 1
                return s
            }
            var bytes = Array(b[start..<i])
            while true {
                guard i < b.count else { throw fail("unterminated string") }
                let c = b[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                guard c >= 0x20 else { throw fail("control character in a string; escape it") }
                if c != UInt8(ascii: "\\") {
                    bytes.append(c)
                    i += 1
                    continue
                }
                i += 1
                guard i < b.count else { throw fail("unterminated escape") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): bytes.append(0x22)
                case UInt8(ascii: "\\"): bytes.append(0x5C)
                case UInt8(ascii: "/"): bytes.append(0x2F)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate in \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                    bytes.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw fail("unknown escape \\\(Character(Unicode.Scalar(e)))")
                }
            }
            return try bytes.withUnsafeBufferPointer { buffer throws(InputError) in try validated(buffer) }
        }

        func validated(_ bytes: UnsafeBufferPointer<UInt8>) throws(InputError) -> String {
            guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("text is not valid UTF-8") }
            return s
        }

        mutating func hex4() throws(InputError) -> UInt32 {
            guard i + 4 <= b.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = b[i]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw fail("bad hex digit in \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func number() throws(InputError) -> Double {
            let start = i
            if b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw fail("expected a digit") }
            if b[i] == UInt8(ascii: "0") {
                i += 1
            } else {
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
            var isInteger = true
            if i < b.count, b[i] == UInt8(ascii: ".") {
                isInteger = false
                i += 1
                guard i < b.count, isDigit(b[i]) else { throw fail("expected a digit after '.'") }
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                isInteger = false
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard i < b.count, isDigit(b[i]) else { throw fail("expected a digit in the exponent") }
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
            // Small integers, the common case, without going through text.
            if isInteger, i - start <= 15 {
                var v: Int64 = 0
                var k = start
                let negative = b[k] == UInt8(ascii: "-")
                if negative { k += 1 }
                while k < i { v = v * 10 + Int64(b[k] - UInt8(ascii: "0")); k += 1 }
                return Double(negative ? -v : v)
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
            return d
        }

        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    }
}
