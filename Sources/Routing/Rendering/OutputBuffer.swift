/// Bytes of output being made (a decision's JSON, an event, a reply), appended one piece after another.
///
/// An append is a uniqueness and a capacity check, then a copy. `[UInt8].append(contentsOf:)` spent about
/// 90 instructions on its checks at every call whatever the length, and an event makes about 45 of them
/// (PERFORMANCE.md, "Where the engine's per-query work went"). The bytes are handed over once, when the
/// output is done: ``bytes`` copies them into an array of their exact size, and a buffer can be emptied and
/// written again without giving back its memory (``removeAll()``).
///
/// It cannot be copied: its memory has one owner, so an append checks the capacity and nothing else (no
/// uniqueness check, no reference count), and the memory is freed when the buffer goes.
public struct OutputBuffer: ~Copyable {
    /// Nil until the first byte is written, so an empty buffer costs nothing to make.
    @usableFromInline var base: UnsafeMutablePointer<UInt8>?
    @usableFromInline var capacity: Int
    @usableFromInline var written: Int

    public init(capacity: Int = 0) {
        base = capacity > 0 ? .allocate(capacity: capacity) : nil
        self.capacity = max(capacity, 0)
        written = 0
    }

    deinit { base?.deallocate() }

    /// How many bytes have been written.
    public var count: Int { written }

    public var isEmpty: Bool { written == 0 }

    /// Makes room for `extra` more bytes: the rare path, kept out of line.
    @inline(never) @usableFromInline mutating func reserve(_ extra: Int) {
        let newCapacity = max(written + extra, capacity * 2, 64)
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        if let base {
            new.initialize(from: base, count: written)
            base.deallocate()
        }
        base = new
        capacity = newCapacity
    }

    @inlinable @inline(__always) public mutating func append(_ byte: UInt8) {
        if _slowPath(written == capacity) { reserve(1) }
        base.unsafelyUnwrapped[written] = byte
        written &+= 1
    }

    @inlinable @inline(__always) public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        if _slowPath(written &+ n > capacity) { reserve(n) }
        UnsafeMutableRawPointer(base.unsafelyUnwrapped + written).copyMemory(from: bytes.baseAddress.unsafelyUnwrapped, byteCount: n)
        written &+= n
    }

    @inlinable @inline(__always) public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) { append(UnsafeRawBufferPointer(bytes)) }

    @inlinable @inline(__always) public mutating func append(contentsOf bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    @inlinable @inline(__always) public mutating func append(contentsOf bytes: ArraySlice<UInt8>) { bytes.withUnsafeBytes { append($0) } }

    /// A literal's bytes, one or two set byte by byte (a bracket, a comma, `":`), longer ones copied.
    @inlinable @inline(__always) public mutating func append(_ literal: StaticString) {
        let n = literal.utf8CodeUnitCount
        if n == 1 {
            append(literal.utf8Start.pointee)
        } else if n == 2, _fastPath(written &+ 2 <= capacity) {
            base.unsafelyUnwrapped[written] = literal.utf8Start[0]
            base.unsafelyUnwrapped[written &+ 1] = literal.utf8Start[1]
            written &+= 2
        } else {
            append(UnsafeRawBufferPointer(start: literal.utf8Start, count: n))
        }
    }

    /// Empties the buffer, keeping its memory for the next output.
    public mutating func removeAll() { written = 0 }

    /// The bytes written from `start` on, as an array of their exact size.
    public func bytes(from start: Int) -> [UInt8] {
        precondition(start >= 0 && start <= written, "OutputBuffer.bytes(from:): \(start) is outside 0...\(written)")
        let n = written - start
        guard n > 0, let base else { return [] }
        return Array(UnsafeBufferPointer(start: base + start, count: n))
    }

    /// The bytes written, as an array of their exact size.
    public var bytes: [UInt8] { bytes(from: 0) }

    /// Calls `body` with the bytes written, without copying them.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: written))
    }
}
