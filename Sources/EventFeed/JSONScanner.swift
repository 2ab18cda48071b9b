import Wire
/// Reads the parts of the engine's own JSON that a subscriber needs, in place, without building a `Value` tree.
///
/// A replay reply carries hundreds of events; parsing it whole (`JSONReader`) builds a tree of every string
/// of every event, which a subscriber like the recorder then mostly throws away. The scanner finds values'
/// byte ranges and reads the few strings and numbers asked for. It delimits, it does not validate what it
/// skips: whatever it hands on is read again by its consumer (``FeedRecord``), which reports bad input.
/// Keys are compared as their raw bytes (the engine writes its keys without escapes).
///
/// ```swift
/// try bytes.withUnsafeBufferPointer { buffer in
///     var scanner = JSONScanner(buffer)
///     try scanner.members { key, scanner in
///         if JSONScanner.equal(key, "seq") { seq = try scanner.integer() } else { try scanner.skipValue() }
///     }
/// }
/// ```
public struct JSONScanner {
    /// Where the input stopped being what was expected, and what was.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let offset: Int
        public let expected: String
        public var description: String { "expected \(expected) at byte \(offset)" }
    }

    public let buffer: UnsafeBufferPointer<UInt8>
    /// The next byte to read.
    public private(set) var position: Int

    public init(_ buffer: UnsafeBufferPointer<UInt8>, at position: Int = 0) {
        self.buffer = buffer
        self.position = position
    }

    /// Whether two byte strings are equal: a key's bytes against a known key.
    public static func equal(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence, _ key: StaticString) -> Bool {
        guard bytes.count == key.utf8CodeUnitCount else { return false }
        let known = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        return bytes.elementsEqual(known)
    }

    private func fail(_ expected: String) -> Failure { Failure(offset: position, expected: expected) }

    private mutating func skipWhitespace() {
        while position < buffer.count {
            switch buffer[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// The next significant byte, not consumed; nil at the end.
    public mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < buffer.count ? buffer[position] : nil
    }

    /// Consumes `null` if it is next.
    public mutating func null() -> Bool {
        guard peek() == UInt8(ascii: "n"), position + 4 <= buffer.count, buffer[position + 1] == UInt8(ascii: "u"),
              buffer[position + 2] == UInt8(ascii: "l"), buffer[position + 3] == UInt8(ascii: "l") else { return false }
        position += 4
        return true
    }

    /// Calls `body` with each member's key (its raw bytes, without quotes); `body` must consume the value.
    public mutating func members(_ body: (UnsafeBufferPointer<UInt8>.SubSequence, inout JSONScanner) throws -> Void) throws {
        guard peek() == UInt8(ascii: "{") else { throw fail("an object") }
        position += 1
        if peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw fail("a member's key") }
            let key = try skipString()
            let raw = buffer[(key.lowerBound + 1)..<(key.upperBound - 1)]
            guard peek() == UInt8(ascii: ":") else { throw fail("':'") }
            position += 1
            try body(raw, &self)
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return
            default: throw fail("',' or '}'")
            }
        }
    }

    /// Calls `body` for each element of an array; `body` must consume the element.
    public mutating func elements(_ body: (inout JSONScanner) throws -> Void) throws {
        guard peek() == UInt8(ascii: "[") else { throw fail("an array") }
        position += 1
        if peek() == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            try body(&self)
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return
            default: throw fail("',' or ']'")
            }
        }
    }

    /// Steps over the next value, whatever it is.
    /// - Returns: the value's bytes in ``buffer``.
    @discardableResult
    public mutating func skipValue() throws -> Range<Int> {
        guard let first = peek() else { throw fail("a value") }
        let start = position
        switch first {
        case UInt8(ascii: "\""):
            return try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            // Brackets are counted, not matched: the consumer reads the value again.
            var depth = 0
            while position < buffer.count {
                switch buffer[position] {
                case UInt8(ascii: "\""):
                    _ = try skipString()
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        position += 1
                        return start..<position
                    }
                default: break
                }
                position += 1
            }
            throw fail("the end of the \(first == UInt8(ascii: "{") ? "object" : "array")")
        default:
            // A number, true, false or null: up to the next delimiter.
            while position < buffer.count {
                switch buffer[position] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                    guard position > start else { throw fail("a value") }
                    return start..<position
                default: position += 1
                }
            }
            guard position > start else { throw fail("a value") }
            return start..<position
        }
    }

    /// Steps over a string, quotes included.
    private mutating func skipString() throws -> Range<Int> {
        let start = position
        position += 1
        while position < buffer.count {
            switch buffer[position] {
            case UInt8(ascii: "\""):
                position += 1
                return start..<position
            case UInt8(ascii: "\\"): position += 2
            default: position += 1
            }
        }
        throw fail("the end of a string")
    }

    /// Reads a string, unescaping it.
    public mutating func string() throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw fail("a string") }
        let range = try skipString()
        let content = buffer[(range.lowerBound + 1)..<(range.upperBound - 1)]
        guard content.contains(UInt8(ascii: "\\")) else { return String(decoding: content, as: UTF8.self) }
        return try unescape(content, from: range.lowerBound + 1)
    }

    private func unescape(_ content: UnsafeBufferPointer<UInt8>.SubSequence, from offset: Int) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(content.count)
        var i = content.startIndex
        func hex4(_ at: Int) throws -> UInt32 {
            guard at + 4 <= content.endIndex else { throw Failure(offset: at, expected: "four hexadecimal digits") }
            var value: UInt32 = 0
            for k in at..<(at + 4) {
                guard let digit = JSONReader.hexDigitValue(content[k]) else { throw Failure(offset: k, expected: "a hexadecimal digit") }
                value = value << 4 | digit
            }
            return value
        }
        while i < content.endIndex {
            let c = content[i]
            guard c == UInt8(ascii: "\\") else {
                bytes.append(c)
                i += 1
                continue
            }
            guard i + 1 < content.endIndex else { throw Failure(offset: i, expected: "an escape") }
            if let byte = JSONReader.escapedByte(content[i + 1]) {
                bytes.append(byte)
                i += 2
                continue
            }
            guard content[i + 1] == UInt8(ascii: "u") else { throw Failure(offset: i, expected: "an escape") }
            var scalar = try hex4(i + 2)
            i += 6
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by its low half.
                guard i + 1 < content.endIndex, content[i] == UInt8(ascii: "\\"), content[i + 1] == UInt8(ascii: "u") else {
                    throw Failure(offset: i, expected: "the low half of a surrogate pair")
                }
                let low = try hex4(i + 2)
                guard (0xDC00...0xDFFF).contains(low) else { throw Failure(offset: i, expected: "the low half of a surrogate pair") }
                scalar = JSONReader.scalar(high: scalar, low: low)
                i += 6
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw Failure(offset: i, expected: "a Unicode scalar") }
            bytes.append(contentsOf: UTF8.encode(unicode)!)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads a whole number (no fraction, no exponent).
    public mutating func integer() throws -> Int64 {
        guard let first = peek(), first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw fail("a whole number")
        }
        let negative = first == UInt8(ascii: "-")
        if negative { position += 1 }
        var value: Int64 = 0
        var digits = 0
        while position < buffer.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buffer[position]) {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int64(buffer[position] - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw fail("a whole number that fits 64 bits") }
            value = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw fail("a digit") }
        if position < buffer.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(buffer[position]) {
            throw fail("a whole number")
        }
        return negative ? -value : value
    }
}
