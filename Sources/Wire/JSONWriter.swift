import Routing

/// Appends JSON text to a byte buffer, keys in the order written, so output bytes are stable.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    /// A writer with no buffer at all: what stands in while ``object(_:)`` lends its buffer out.
    private init(lending: Void) {}

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func raw(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        // A bracket, a comma, `":`: appended byte by byte, since `append(contentsOf:)` costs about 90 instructions
        // of checks whatever its length, and one byte's `append` a fifth of that.
        if n <= 2 {
            for k in 0..<n { bytes.append(s.utf8Start[k]) }
            return
        }
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: n))
    }

    /// `s` as a JSON string literal (``JSONString``, which the compiled table's rendered texts use too).
    public mutating func string(_ s: String) { JSONString.append(s, to: &bytes) }

    public mutating func number(_ n: Double) {
        if n == n.rounded(), abs(n) < 1e15 {
            number(Int64(n))
        } else if n.isFinite {
            bytes.append(contentsOf: String(n).utf8)
        } else {
            raw("null")
        }
    }

    /// An instant as the contract writes it (``Timestamp/format(_:offsetSeconds:)``), in quotes: ASCII that
    /// needs no escaping, so it is written straight into the buffer.
    public mutating func timestamp(_ instant: Instant, offsetSeconds: Int32) {
        bytes.append(0x22)
        Timestamp.write(instant, offsetSeconds: offsetSeconds, into: &bytes)
        bytes.append(0x22)
    }

    /// `n` in decimal, its digits set on the stack and appended at once (no `String` made for them).
    public mutating func number(_ n: Int64) {
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)  // Int64.min, 19 digits and a sign, fits in 24 bytes
        withUnsafeMutableBytes(of: &text) { b in
            var m = n.magnitude
            var start = b.count
            repeat {
                start -= 1
                b[start] = UInt8(truncatingIfNeeded: 0x30 + m % 10)
                m /= 10
            } while m > 0
            if n < 0 {
                start -= 1
                b[start] = 0x2D
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[start...]))
        }
    }

    public mutating func bool(_ b: Bool) { b ? raw("true") : raw("false") }

    /// Appends bytes that are already JSON text.
    public mutating func appendRaw(_ json: some Collection<UInt8>) { bytes.append(contentsOf: json) }

    public mutating func null() { raw("null") }

    public mutating func value(_ v: Value) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let n): number(n)
        case .string(let s): string(s)
        case .array(let items):
            bytes.append(0x5B)
            for (k, item) in items.enumerated() {
                if k > 0 { bytes.append(0x2C) }
                value(item)
            }
            bytes.append(0x5D)
        case .object(let members): object(inOrder: members)
        }
    }

    /// `{"key":value,…}` in the members' order.
    private mutating func object(inOrder members: [Value.Member]) {
        bytes.append(0x7B)
        for (k, m) in members.enumerated() {
            if k > 0 { bytes.append(0x2C) }
            string(m.key)
            bytes.append(0x3A)
            value(m.value)
        }
        bytes.append(0x7D)
    }

    /// `{…}` with the members in order of their keys (as `<` orders them), whatever order they come in. Most come
    /// sorted already and are written as they are, without sorting a copy or wrapping them in a ``Value``.
    public mutating func object(sortedByKey members: [Value.Member]) {
        var isSorted = true
        for k in members.indices.dropFirst() where !(members[k - 1].key < members[k].key) {
            isSorted = false
            break
        }
        object(inOrder: isSorted ? members : members.sorted { $0.key < $1.key })
    }

    public mutating func strings(_ items: [String]) {
        bytes.append(0x5B)
        for (k, s) in items.enumerated() {
            if k > 0 { bytes.append(0x2C) }
            string(s)
        }
        bytes.append(0x5D)
    }

    /// Writes `[…]`, each element by `write`.
    public mutating func array<T>(_ items: [T], _ write: (inout JSONWriter, T) -> Void) {
        bytes.append(0x5B)
        for (k, item) in items.enumerated() {
            if k > 0 { bytes.append(0x2C) }
            write(&self, item)
        }
        bytes.append(0x5D)
    }

    /// Writes `{"key":…,"key":…}`; `body` writes the members with ``member(_:_:)``.
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        bytes.append(0x7B)
        var o = ObjectWriter(writer: self)
        self = JSONWriter(lending: ())  // hand the buffer over without copying it (or allocating another)
        body(&o)
        self = o.writer
        bytes.append(0x7D)
    }

    public struct ObjectWriter {
        fileprivate var writer: JSONWriter
        private var first = true

        fileprivate init(writer: JSONWriter) { self.writer = writer }

        /// A member whose key is computed (a table's name, an error code).
        public mutating func member(dynamic key: String, _ write: (inout JSONWriter) -> Void) {
            if !first { writer.bytes.append(0x2C) }
            first = false
            writer.string(key)
            writer.bytes.append(0x3A)
            write(&writer)
        }

        /// A member whose key is a literal of the contract: letters, digits and `_`, which need no escaping,
        /// so its bytes are copied as they are instead of building and scanning a `String`.
        public mutating func member(_ key: StaticString, _ write: (inout JSONWriter) -> Void) {
            if !first { writer.bytes.append(0x2C) }
            first = false
            writer.bytes.append(0x22)
            writer.raw(key)
            writer.raw("\":")
            write(&writer)
        }
    }
}
