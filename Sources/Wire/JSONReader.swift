import Routing

/// A strict JSON parser into ``Value``.
///
/// Written for the engine's request path: it never traps, rejects duplicate keys and trailing bytes,
/// and tells `true` from `1` (which Foundation's `JSONSerialization` does not on Linux), so a fact's type
/// is checked against what the client actually sent.
///
/// Every input costs time linear in its length: each byte is looked at a bounded number of times and
/// the duplicate-key check hashes each key once (Swift's `Hasher` is seeded per process, so keys cannot
/// be chosen to collide). On top of that, ``Limits/request`` bounds what one request may hold — nesting,
/// keys per object, values in all, bytes per string — so its cost is small whatever its size, and the
/// reader stops at the first bound exceeded with `too_large`, naming the bound. The bounds are listed in
/// docs/OPERATIONS.md ("Limits").
public enum JSONReader {
    /// What one document may hold before it is refused with `too_large`.
    public struct Limits: Sendable, Hashable {
        /// Nesting of objects and arrays.
        public var depth: Int
        /// Keys in one object.
        public var keysPerObject: Int
        /// Values in the whole document, containers and their members included.
        public var values: Int
        /// Bytes of one string or key as written, between its quotes (escapes count as written).
        public var stringBytes: Int
        /// Bytes of one number as written.
        public var numberBytes: Int
        /// Whether a number beyond `Double`'s range is read as infinite rather than refused.
        public var numbersBeyondDoubleAreInfinite: Bool

        public init(depth: Int, keysPerObject: Int, values: Int, stringBytes: Int, numberBytes: Int,
                    numbersBeyondDoubleAreInfinite: Bool = false) {
            self.depth = depth
            self.keysPerObject = keysPerObject
            self.values = values
            self.stringBytes = stringBytes
            self.numberBytes = numberBytes
            self.numbersBeyondDoubleAreInfinite = numbersBeyondDoubleAreInfinite
        }

        /// What a client may send: a query, a replay request, a control command, a `route` call or batch line.
        ///
        /// A call has a handful of keys and a few dozen values; these leave room for large ones and keep the
        /// parse of any request under about 0.1 ms (docs/PERFORMANCE.md).
        public static let request = Limits(
            depth: JSONReader.maximumDepth, keysPerObject: JSONReader.maximumKeysPerObject, values: JSONReader.maximumValues,
            stringBytes: JSONReader.maximumStringBytes, numberBytes: JSONReader.maximumNumberBytes)

        /// What the engine wrote itself (events, replay replies, the journal, the session file): no bound but
        /// nesting, which is twice a request's so that an event or a replay reply wrapping a request's call
        /// always fits. Still linear in the input. A number beyond `Double`'s range reads as infinite: a reply
        /// echoes its query's id byte for byte, and an id may be `1e400`.
        public static let trusted = Limits(depth: 2 * JSONReader.maximumDepth, keysPerObject: .max, values: .max, stringBytes: .max,
                                           numberBytes: .max, numbersBeyondDoubleAreInfinite: true)
    }

    /// Nesting deeper than this is refused in a request rather than risking the stack.
    public static let maximumDepth = 64
    /// Keys one object of a request may have (a call has seven; facts and customer a few dozen).
    public static let maximumKeysPerObject = 256
    /// Values a whole request may hold, containers included.
    public static let maximumValues = 4096
    /// Bytes one string of a request may take as written: notes of about 8,000 Cyrillic or 5,000 Chinese characters.
    public static let maximumStringBytes = 16 * 1024
    /// Bytes one number of a request may take as written (`1e400` and 17-digit ids fit; 60 KB of digits does not).
    public static let maximumNumberBytes = 64

    /// - Parameter limits: ``Limits/request`` unless the bytes are the engine's own output.
    /// - Throws: `InputError` with code `bad_json` and the byte offset of the problem, or `too_large` naming the
    ///   bound exceeded.
    /// - Complexity: O(n) in the length of the input.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>, limits: Limits = .request) throws(InputError) -> Value {
        var parser = Parser(buffer, limits: limits)
        return try parser.document()
    }

    public static func parse(_ bytes: [UInt8], limits: Limits = .request) throws(InputError) -> Value {
        try bytes.withUnsafeBufferPointer { b in Result { () throws(InputError) in try parse(b, limits: limits) } }.get()
    }

    public static func parse(_ text: String, limits: Limits = .request) throws(InputError) -> Value {
        var text = text
        return try text.withUTF8 { b in Result { () throws(InputError) in try parse(b, limits: limits) } }.get()
    }

    /// The key comparisons and hash insertions the duplicate-key check made, for tests of the parser's growth.
    static func duplicateCheckWork(_ text: String, limits: Limits) throws(InputError) -> Int {
        var text = text
        return try text.withUTF8 { b in
            Result { () throws(InputError) in
                var parser = Parser(b, limits: limits)
                _ = try parser.document()
                return parser.keyChecks
            }
        }.get()
    }

    /// The parser, shared by ``parse(_:limits:)`` and the readers of requests (`JSONReader+Requests.swift`),
    /// which read a request's members straight into what they decode, without a ``Value`` for the whole.
    struct Parser {
        let b: UnsafeBufferPointer<UInt8>
        let limits: Limits
        var i = 0
        var depth = 0
        var values = 0
        /// Work done by duplicate-key checks (see ``JSONReader/duplicateCheckWork(_:limits:)``).
        var keyChecks = 0
        /// Where a query's `id` was, so the reply can echo its bytes (``QueryRequest/decodeKeepingID(_:)``).
        var kept: Range<Int>?
        /// True while parsing the kept member, where out-of-range numbers are allowed.
        var lenientNumbers = false
        /// The first error in the shape of a request read member by member, thrown only once the whole
        /// document has proved to be JSON: bad JSON anywhere is the answer before anything about its shape.
        var shapeError: InputError?
        /// The table a request's call is for, when known as the call is read: its facts and customer fields
        /// are then read straight into the table's slots (``slots(for:specs:base:)``).
        var table: Table?

        /// Objects up to this many keys are checked for duplicates by scanning; larger ones through a set.
        static let scanLimit = 12

        init(_ buffer: UnsafeBufferPointer<UInt8>, limits: Limits) {
            b = buffer
            self.limits = limits
        }

        func fail(_ what: String) -> InputError {
            InputError(.badJSON, "not valid JSON at byte \(i): \(what).")
        }

        func tooLarge(_ what: String) -> InputError {
            InputError(.tooLarge, "\(what) (at byte \(i)); see the limits in docs/OPERATIONS.md.")
        }

        mutating func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func document() throws(InputError) -> Value {
            try document { p throws(InputError) in try p.value() }
        }

        /// The document as `read` reads its one value, after which only white space may follow. An error in
        /// its shape that `read` refused is left in ``shapeError``.
        mutating func document<T>(_ read: (inout Parser) throws(InputError) -> T) throws(InputError) -> T {
            skipSpace()
            guard i < b.count else { throw InputError(.badJSON, "the input is empty; expected a JSON object.") }
            let v = try read(&self)
            skipSpace()
            guard i == b.count else { throw fail("unexpected text after the JSON value") }
            return v
        }

        mutating func value() throws(InputError) -> Value {
            try countValue()
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

        /// Counts the value starting at `i` against ``Limits/values``.
        mutating func countValue() throws(InputError) {
            guard i < b.count else { throw fail("unexpected end of input") }
            values += 1
            guard values <= limits.values else { throw tooLarge("more than \(limits.values) values in one request") }
        }

        /// Keeps the first error in a request's shape (see ``shapeError``).
        mutating func refuse(_ error: InputError) {
            if shapeError == nil { shapeError = error }
        }

        mutating func literal(_ word: StaticString) throws(InputError) {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count else { throw fail("expected \(word)") }
            for k in 0..<n where b[i + k] != word.utf8Start[k] { throw fail("expected \(word)") }
            i += n
        }

        mutating func enter() throws(InputError) {
            depth += 1
            guard depth <= limits.depth else { throw tooLarge("objects and arrays nested deeper than \(limits.depth) levels") }
        }

        mutating func object() throws(InputError) -> Value {
            var members: [Value.Member] = []
            var seen: Set<String> = []
            try readMembers { p, key throws(InputError) in
                try p.checkUnique(key, in: members, seen: &seen)
            } value: { p, key throws(InputError) in
                // A call's customer and facts hold a few members: one allocation instead of growing 1, 2, 4, 8.
                if members.isEmpty { members.reserveCapacity(8) }
                members.append(.init(key, try p.value()))
            }
            return .object(members)
        }

        /// Reads the object at `i` (its value already counted) member by member: `key` is handed each key as
        /// soon as it is read (to refuse one given twice), `value` reads the value after the colon.
        mutating func readMembers(key: (inout Parser, String) throws(InputError) -> Void,
                              value: (inout Parser, String) throws(InputError) -> Void) throws(InputError) {
            try readMembers(readKey: { p throws(InputError) in try p.string() }, key: key, value: value)
        }

        /// ``readMembers(key:value:)`` with the key read by `readKey`: its text, or (``key(among:)``) its index
        /// among names the reader expects.
        @inline(__always)
        mutating func readMembers<Key>(readKey: (inout Parser) throws(InputError) -> Key,
                                       key: (inout Parser, Key) throws(InputError) -> Void,
                                       value: (inout Parser, Key) throws(InputError) -> Void) throws(InputError) {
            try enter()
            i += 1
            var count = 0
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                depth -= 1
                return
            }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key in double quotes") }
                guard count < limits.keysPerObject else { throw tooLarge("more than \(limits.keysPerObject) keys in one object") }
                let name = try readKey(&self)
                try key(&self, name)
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                i += 1
                skipSpace()
                try value(&self, name)
                count += 1
                skipSpace()
                guard i < b.count else { throw fail("unexpected end of input in an object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; break }
                throw fail("expected ',' or '}' in an object")
            }
            depth -= 1
        }

        /// Refuses a key already in the object: a scan while the object is small, then one hash a key.
        mutating func checkUnique(_ key: String, in members: [Value.Member], seen: inout Set<String>) throws(InputError) {
            if members.count < Parser.scanLimit {
                keyChecks += members.count
                for m in members where m.key == key { throw fail("duplicate key \"\(key)\"") }
                return
            }
            if seen.isEmpty {
                keyChecks += members.count
                seen.reserveCapacity(2 * members.count)
                for m in members { seen.insert(m.key) }
            }
            keyChecks += 1
            guard seen.insert(key).inserted else { throw fail("duplicate key \"\(key)\"") }
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
            // No string may run past this: checked as the bytes are read, so a long one costs no more than the bound.
            let end = limits.stringBytes >= b.count - start ? b.count : start + limits.stringBytes + 1
            // Fast path: no escapes. (Eight bytes at a time, as the writer looks for escapes, measured 0.5 % more
            // instructions on the retention-ru mix, whose strings are mostly keys and codes of under 16 bytes.)
            while i < end, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\"), b[i] >= 0x20 { i += 1 }
            guard i - start <= limits.stringBytes else { throw tooLarge("a string longer than \(limits.stringBytes) bytes") }
            guard i < b.count else { throw fail("unterminated string") }
            if b[i] == UInt8(ascii: "\"") {
                let s = try validated(UnsafeBufferPointer(rebasing: b[start..<i]))
                i += 1
                return s
            }
            var bytes = Array(b[start..<i])
            while true {
                guard i < b.count else { throw fail("unterminated string") }
                guard i - start <= limits.stringBytes else { throw tooLarge("a string longer than \(limits.stringBytes) bytes") }
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
                if let byte = JSONReader.escapedByte(e) {
                    bytes.append(byte)
                    continue
                }
                guard e == UInt8(ascii: "u") else { throw fail("unknown escape \\\(Character(Unicode.Scalar(e)))") }
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                    scalar = JSONReader.scalar(high: scalar, low: low)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                bytes.append(contentsOf: Array(String(Character(u)).utf8))
            }
            return try bytes.withUnsafeBufferPointer { buffer throws(InputError) in try validated(buffer) }
        }

        /// The bytes as a `String`, or `bad_json` when they are not UTF-8. Decoding repairs bad sequences with
        /// U+FFFD, so the bytes were valid exactly when the string's UTF-8 is the bytes again, compared as
        /// contiguous buffers (through `String.UTF8View` the comparison cost as much as the decoding). The
        /// standard library's generic `String(validating:as:)` looked up type metadata for every string: a
        /// ninth of decoding, deciding and encoding a call.
        func validated(_ bytes: UnsafeBufferPointer<UInt8>) throws(InputError) -> String {
            var s = bytes.count <= 15 ? JSONReader.smallString(bytes) : String(decoding: bytes, as: UTF8.self)
            // ASCII is valid UTF-8: keys, codes and most values need no comparison.
            if JSONReader.highBits(bytes) == 0 { return s }
            guard s.withUTF8({ JSONReader.sameBytes($0, bytes) }) else { throw fail("text is not valid UTF-8") }
            return s
        }

        mutating func hex4() throws(InputError) -> UInt32 {
            guard i + 4 <= b.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let d = JSONReader.hexDigitValue(b[i]) else { throw fail("bad hex digit in \\u escape") }
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
            guard i - start <= limits.numberBytes else {
                i = start
                throw tooLarge("a number longer than \(limits.numberBytes) bytes")
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
            if let d = Double(text), d.isFinite { return d }
            guard lenientNumbers || limits.numbersBeyondDoubleAreInfinite else { throw fail("number out of range") }
            return b[start] == UInt8(ascii: "-") ? -.infinity : .infinity
        }

        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    }
}

extension JSONReader {
    /// The high bits of all the bytes ORed together, eight bytes at a time: zero exactly when they are ASCII.
    static func highBits(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard let base = bytes.baseAddress else { return 0 }
        var bits: UInt64 = 0
        var i = 0
        while i + 8 <= bytes.count {
            bits |= UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            bits |= UInt64(base[i])
            i += 1
        }
        return bits & 0x8080_8080_8080_8080
    }

    /// A string of at most 15 bytes (held inline, no allocation), repaired as `String(decoding:as:)` does. For
    /// ASCII the standard library skips validation on this path: most of a request's keys and values.
    @inline(__always)
    static func smallString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { buffer in
            _ = buffer.initialize(from: bytes)
            return bytes.count
        }
    }

    /// The index of the first of `names` whose bytes are `bytes`, or nil.
    static func index(of bytes: UnsafeBufferPointer<UInt8>, in names: [[UInt8]]) -> Int? {
        for k in names.indices where names[k].count == bytes.count {
            if names[k].withUnsafeBufferPointer({ sameBytes($0, bytes) }) { return k }
        }
        return nil
    }

    /// Whether two buffers hold the same bytes, compared eight at a time.
    static func sameBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        var i = 0
        while i + 8 <= a.count {
            guard UnsafeRawPointer(pa + i).loadUnaligned(as: UInt64.self) == UnsafeRawPointer(pb + i).loadUnaligned(as: UInt64.self) else {
                return false
            }
            i += 8
        }
        while i < a.count {
            guard pa[i] == pb[i] else { return false }
            i += 1
        }
        return true
    }

    /// The value of one hexadecimal digit of a `\\u` escape, or nil for any other byte.
    public static func hexDigitValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// The byte a one-letter escape stands for (the `n` of `\\n` gives 0x0A), or nil for `u` (four
    /// hexadecimal digits follow it) and for a letter that is no escape.
    public static func escapedByte(_ letter: UInt8) -> UInt8? {
        switch letter {
        case UInt8(ascii: "\""): 0x22
        case UInt8(ascii: "\\"): 0x5C
        case UInt8(ascii: "/"): 0x2F
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// The scalar a `\\uD8xx\\uDCxx` pair stands for; `high` in D800–DBFF and `low` in DC00–DFFF.
    public static func scalar(high: UInt32, low: UInt32) -> UInt32 {
        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    }
}
