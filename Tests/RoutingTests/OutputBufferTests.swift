import Testing
@testable import Routing

/// `OutputBuffer` must hold exactly the bytes appended, in order, however they were appended and however
/// often it grew; an array given the same appends is the reference.
@Suite
struct OutputBufferTests {
    /// A deterministic mix of every kind of append, sizes from 0 to past several doublings.
    private func appendMix(seed: UInt64, into buffer: inout OutputBuffer, _ reference: inout [UInt8]) {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let literals: [StaticString] = ["", "{", "\":", "null", #","valid_until":"#]
        for _ in 0..<400 {
            switch next() % 5 {
            case 0:
                let byte = UInt8(truncatingIfNeeded: next())
                buffer.append(byte)
                reference.append(byte)
            case 1:
                let run = (0..<Int(next() % 300)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
                buffer.append(contentsOf: run)
                reference += run
            case 2:
                let run = (0..<Int(next() % 40)).map { UInt8(truncatingIfNeeded: $0 &+ 0x41) }
                let from = run.isEmpty ? 0 : Int(next() % UInt64(run.count))
                buffer.append(contentsOf: run[from...])
                reference += run[from...]
            case 3:
                let literal = literals[Int(next() % UInt64(literals.count))]
                buffer.append(literal)
                reference += UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
            default:
                let run = (0..<Int(next() % 17)).map { UInt8($0) }
                run.withUnsafeBytes { buffer.append($0) }
                reference += run
            }
        }
    }

    @Test(arguments: [0, 1, 2, 64, 4096])
    func holdsWhatWasAppendedWhateverItsFirstCapacity(capacity: Int) {
        for seed: UInt64 in 1...20 {
            var buffer = OutputBuffer(capacity: capacity)
            var reference: [UInt8] = []
            appendMix(seed: seed, into: &buffer, &reference)
            #expect(buffer.count == reference.count)
            #expect(buffer.bytes == reference, "seed \(seed)")
            #expect(buffer.withUnsafeBytes { Array($0) } == reference)
            let start = reference.count / 3
            #expect(buffer.bytes(from: start) == Array(reference[start...]))
            #expect(buffer.bytes(from: reference.count) == [])
        }
    }

    /// Each kind of append at each place relative to the end of the memory: one short of it, at it, past it.
    /// (Contents only show a write past the end where the memory checker runs, `tools/fuzz`; the capacity is
    /// asserted here too, so a buffer that grew when it need not, or did not when it must, is caught.)
    @Test(arguments: [1, 2, 3, 64])
    func appendsAtTheEndOfItsMemory(capacity: Int) {
        let pieces: [(name: String, bytes: [UInt8], append: (inout OutputBuffer) -> Void)] = [
            ("one byte", [0x2C], { $0.append(0x2C) }),
            ("a one-byte literal", [0x5D], { $0.append("]") }),
            ("a two-byte literal", [0x22, 0x3A], { $0.append("\":") }),
            ("a literal", Array("null".utf8), { $0.append("null") }),
            ("a run", Array(repeating: 0x41, count: 5), { $0.append(contentsOf: Array(repeating: 0x41, count: 5)) }),
        ]
        for fill in max(0, capacity - 2)...capacity {
            for piece in pieces {
                var buffer = OutputBuffer(capacity: capacity)
                var reference: [UInt8] = []
                for k in 0..<fill {
                    buffer.append(UInt8(k))
                    reference.append(UInt8(k))
                }
                #expect(buffer.capacity == capacity)
                piece.append(&buffer)
                reference += piece.bytes
                #expect(buffer.bytes == reference, "\(piece.name) after \(fill) of \(capacity)")
                #expect((buffer.capacity == capacity) == (fill + piece.bytes.count <= capacity), "\(piece.name) after \(fill) of \(capacity)")
                #expect(buffer.capacity >= buffer.count)
            }
        }
    }

    @Test func emptiedItWritesAfreshInTheSameMemory() {
        var buffer = OutputBuffer(capacity: 8)
        var first: [UInt8] = []
        appendMix(seed: 7, into: &buffer, &first)
        let grown = buffer.capacity
        buffer.removeAll()
        #expect(buffer.isEmpty && buffer.bytes == [])
        #expect(buffer.capacity == grown)
        var second: [UInt8] = []
        appendMix(seed: 8, into: &buffer, &second)
        #expect(buffer.bytes == second)
    }

    @Test func anEmptyBufferHasNoBytes() {
        let buffer = OutputBuffer()
        #expect(buffer.count == 0 && buffer.bytes == [] && buffer.bytes(from: 0) == [])
        #expect(buffer.withUnsafeBytes { $0.count } == 0)
    }
}
