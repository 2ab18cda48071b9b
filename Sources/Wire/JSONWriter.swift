import Routing

/// Appends JSON text to a byte buffer (``OutputBuffer``), keys in the order written, so output bytes are stable.
/// Like its buffer, it cannot be copied.
public struct JSONWriter: ~Copyable {
    public private(set) var buffer: OutputBuffer

    public init(capacity: Int = 512) { buffer = OutputBuffer(capacity: capacity) }

    /// The bytes written, copied into an array of their exact size: take them once, when the output is done.
    public var bytes: [UInt8] { buffer.bytes }

    /// How many bytes have been written.
    public var count: Int { buffer.count }

    public var string: String { buffer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// Empties the writer, keeping its memory for the next output.
    public mutating func removeAll() { buffer.removeAll() }

    public mutating func raw(_ s: StaticString) { buffer.append(s) }

    /// `s` as a JSON string literal (``JSONString``, which the compiled table's rendered texts use too).
    public mutating func string(_ s: String) { JSONString.append(s, to: &buffer) }

    /// A decision's comment, its parts written one after another: the bytes of `string` of its text.
    package mutating func comment(_ comment: InteractionComment) { comment.write(into: &buffer) }

    /// A comparison's trace line made for a call (``TraceLine/comparison(_:_:_:)``): its probe's words,
    /// rendered as JSON at load, around the value, escaped here; the bytes of `string` of its text.
    package mutating func comparisonLine(_ probe: Condition.Probe, _ value: Value?, _ result: Bool) {
        buffer.append(contentsOf: probe.prefixJSON)
        JSONString.appendEscaped(Condition.shown(value), to: &buffer)
        buffer.append(contentsOf: result ? probe.suffixWhenTrueJSON : probe.suffixWhenFalseJSON)
    }

    public mutating func number(_ n: Double) {
        if n == n.rounded(), abs(n) < 1e15 {
            number(Int64(n))
        } else if n.isFinite {
            var text = String(n)
            text.withUTF8 { buffer.append($0) }
        } else {
            raw("null")
        }
    }

    /// An instant as the contract writes it (``Timestamp/format(_:offsetSeconds:)``), in quotes: ASCII that
    /// needs no escaping, so it is written straight into the buffer.
    public mutating func timestamp(_ instant: Instant, offsetSeconds: Int32) {
        buffer.append(0x22)
        Timestamp.write(instant, offsetSeconds: offsetSeconds, into: &buffer)
        buffer.append(0x22)
    }

    /// `n` in decimal, its digits set on the stack and appended at once (no `String` made for them).
    public mutating func number(_ n: Int64) { digits(n.magnitude, negative: n < 0) }

    /// `n` in decimal (an event's seq, whatever its size).
    public mutating func number(_ n: UInt64) { digits(n, negative: false) }

    private mutating func digits(_ magnitude: UInt64, negative: Bool) {
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits and a sign fit in 24 bytes
        withUnsafeMutableBytes(of: &text) { b in
            var m = magnitude
            var start = b.count
            repeat {
                start -= 1
                b[start] = UInt8(truncatingIfNeeded: 0x30 + m % 10)
                m /= 10
            } while m > 0
            if negative {
                start -= 1
                b[start] = 0x2D
            }
            buffer.append(UnsafeRawBufferPointer(rebasing: b[start...]))
        }
    }

    public mutating func bool(_ b: Bool) { b ? raw("true") : raw("false") }

    /// Appends bytes that are already JSON text.
    public mutating func appendRaw(_ json: [UInt8]) { buffer.append(contentsOf: json) }

    /// Appends bytes that are already JSON text.
    public mutating func appendRaw(_ json: ArraySlice<UInt8>) { buffer.append(contentsOf: json) }

    public mutating func null() { raw("null") }

    public mutating func value(_ v: Value) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let n): number(n)
        case .string(let s): string(s)
        case .array(let items):
            buffer.append(0x5B)
            for (k, item) in items.enumerated() {
                if k > 0 { buffer.append(0x2C) }
                value(item)
            }
            buffer.append(0x5D)
        case .object(let members): object(inOrder: members)
        }
    }

    /// `{"key":value,…}` in the members' order.
    private mutating func object(inOrder members: [Value.Member]) {
        buffer.append(0x7B)
        for (k, m) in members.enumerated() {
            if k > 0 { buffer.append(0x2C) }
            string(m.key)
            buffer.append(0x3A)
            value(m.value)
        }
        buffer.append(0x7D)
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

    /// ``object(sortedByKey:)`` for members read into slots: the same bytes, in the names' sorted order found at load.
    package mutating func object(sortedBy slots: GivenSlots) {
        buffer.append(0x7B)
        let keys = slots.keys
        var first = true
        for k in keys.sortedOrder where slots.given & (1 << k) != 0 {
            if !first { buffer.append(0x2C) }
            first = false
            appendRaw(keys.literals[k])
            buffer.append(0x3A)
            if slots.givenNull & (1 << k) != 0 { null() } else { value(slots.values[k]) }
        }
        buffer.append(0x7D)
    }

    public mutating func strings(_ items: [String]) {
        buffer.append(0x5B)
        for (k, s) in items.enumerated() {
            if k > 0 { buffer.append(0x2C) }
            string(s)
        }
        buffer.append(0x5D)
    }

    /// Writes `[…]`, each element by `write`.
    public mutating func array<T>(_ items: [T], _ write: (inout JSONWriter, T) -> Void) {
        buffer.append(0x5B)
        for (k, item) in items.enumerated() {
            if k > 0 { buffer.append(0x2C) }
            write(&self, item)
        }
        buffer.append(0x5D)
    }

    /// Writes `{"key":…,"key":…}`; `body` writes the members with ``member(_:_:)``.
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        buffer.append(0x7B)
        var o = ObjectWriter(writer: JSONWriter(capacity: 0))  // an empty buffer allocates nothing
        swap(&self, &o.writer)  // lend the buffer to `o` without copying it…
        body(&o)
        swap(&self, &o.writer)  // …and take it back
        buffer.append(0x7D)
    }

    public struct ObjectWriter: ~Copyable {
        fileprivate var writer: JSONWriter
        private var first = true

        fileprivate init(writer: consuming JSONWriter) { self.writer = writer }

        /// A member whose key is computed (a table's name, an error code).
        public mutating func member(dynamic key: String, _ write: (inout JSONWriter) -> Void) {
            if !first { writer.buffer.append(0x2C) }
            first = false
            writer.string(key)
            writer.buffer.append(0x3A)
            write(&writer)
        }

        /// A member whose key is a literal of the contract: letters, digits and `_`, which need no escaping,
        /// so its bytes are copied as they are instead of building and scanning a `String`.
        public mutating func member(_ key: StaticString, _ write: (inout JSONWriter) -> Void) {
            if !first { writer.buffer.append(0x2C) }
            first = false
            writer.buffer.append(0x22)
            writer.raw(key)
            writer.raw("\":")
            write(&writer)
        }
    }
}
