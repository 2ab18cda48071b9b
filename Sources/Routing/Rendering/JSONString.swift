/// Text as a JSON string literal: quoted, with `"`, `\` and control characters escaped. Wire's writer uses it
/// for every string it writes, and the compiled table for the texts it renders once at load (``RenderedText``),
/// so both write the same bytes.
package enum JSONString {
    /// Appends `s` as a JSON string literal to `bytes`.
    package static func append(_ s: String, to bytes: inout OutputBuffer) {
        bytes.append(0x22)
        appendEscaped(s, to: &bytes)
        bytes.append(0x22)
    }

    /// Appends `s` escaped, without quotes: a part of a string literal. Escaping goes byte by byte, so parts
    /// escaped one after another are their whole escaped.
    package static func appendEscaped(_ s: String, to bytes: inout OutputBuffer) {
        // The UTF-8 read in place, without copying `s` into a variable first (which `withUTF8` needs, and which
        // cost a retain and a release per string); only a string without contiguous UTF-8 takes that way.
        if s.utf8.withContiguousStorageIfAvailable({ appendEscaping($0, to: &bytes) }) == nil {
            var s = s
            s.withUTF8 { appendEscaping($0, to: &bytes) }
        }
    }

    /// `utf8` with `"`, `\` and control characters escaped.
    private static func appendEscaping(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout OutputBuffer) {
        // Copy the runs between escapes in bulk: most text (Cyrillic included) needs none. Eight bytes are
        // looked at together while none of them can need an escape; a word that may is looked at byte by byte.
        var runStart = 0
        var i = 0
        while i < utf8.count {
            if i + 8 <= utf8.count,
               !needsEscape(UnsafeRawPointer(utf8.baseAddress! + i).loadUnaligned(as: UInt64.self)) {
                i += 8
                continue
            }
            let c = utf8[i]
            i += 1
            guard c == 0x22 || c == 0x5C || c < 0x20 else { continue }
            bytes.append(UnsafeBufferPointer(rebasing: utf8[runStart..<(i - 1)]))
            escape(c, to: &bytes)
            runStart = i
        }
        bytes.append(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
    }

    /// `s` escaped, without quotes: a part of a string literal rendered at load.
    package static func escaped(_ s: String) -> [UInt8] {
        var bytes = OutputBuffer(capacity: s.utf8.count)
        appendEscaped(s, to: &bytes)
        return bytes.bytes
    }

    /// `s` as a JSON string literal.
    package static func literal(_ s: String) -> [UInt8] {
        var bytes = OutputBuffer(capacity: s.utf8.count + 2)
        append(s, to: &bytes)
        return bytes.bytes
    }

    /// Whether any of the eight bytes of `word` is `"`, `\\` or below 0x20: the classic tests for a zero byte
    /// (on the word XORed with the byte repeated) and for a byte below a bound, exact for whether there is one
    /// though not for which (a borrow can flag its neighbour), so a word that has one is looked at byte by byte.
    package static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let below32 = (word &- 0x20 &* ones) & ~word & highs
        return (below32 | hasZero(word ^ (0x22 &* ones)) | hasZero(word ^ (0x5C &* ones))) != 0
    }

    private static func escape(_ c: UInt8, to bytes: inout OutputBuffer) {
        switch c {
        case 0x22: bytes.append(0x5C); bytes.append(0x22)
        case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
        case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
        default:
            let hex: StaticString = "0123456789abcdef"
            bytes.append(#"\u00"#)
            bytes.append(hex.utf8Start[Int(c >> 4)])
            bytes.append(hex.utf8Start[Int(c & 0xF)])
        }
    }
}

/// A text the table fixes, rendered once at load as a JSON string literal, so a decision that carries it
/// copies its bytes instead of building and escaping a `String` each time.
package final class RenderedText: Sendable {
    package let text: String
    /// `text` as a JSON string literal (``JSONString``).
    package let json: [UInt8]
    /// `text.hashValue`, taken once: two texts with different hashes are never equal, so the trace tells two
    /// different lines apart without comparing their strings (``TraceLine/says(_:)``).
    let textHash: Int
    /// As a trace line, whether it might say what a comparison's line says (``TraceLine/mayRepeatAComparison``):
    /// a comparison's line has `=` after its path, so a text without `=` or `≠` (`=` and a combining stroke)
    /// cannot.
    let mayRepeatAComparison: Bool
    /// `text.endsSentence`: whether a comment's next part follows it after a space (``InteractionComment``).
    let endsSentence: Bool

    /// - Parameter mayRepeatAComparison: nil to tell from the text; false where the maker knows better (a
    ///   topic's `topic=…` line: no comparison reads a path `topic`).
    package init(_ text: String, mayRepeatAComparison: Bool? = nil) {
        self.text = text
        self.json = JSONString.literal(text)
        self.textHash = text.hashValue
        self.mayRepeatAComparison = mayRepeatAComparison ?? text.unicodeScalars.contains { $0 == "=" || $0 == "≠" }
        self.endsSentence = text.endsSentence
    }
}
