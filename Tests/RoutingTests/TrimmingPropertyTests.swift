import Testing
@testable import Routing
import TestSupport

/// `trimmingWhitespace` decides "nothing to trim" from the first and last scalars without forming Characters;
/// on any text it must trim exactly what trimming by Character does.
@Suite(.timeLimit(.minutes(5)))
struct TrimmingPropertyTests {
    /// Trimming by Character, as the comment has always trimmed the agent's notes.
    static func trimmedByCharacter(_ text: String) -> String {
        var s = Substring(text)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }

    /// Pieces that make the edges hard: whitespace of several kinds, CR LF, combining marks after a space or a
    /// letter, a prepended mark (U+0600) before ASCII, zero-width joiners, Cyrillic, CJK, emoji, digits.
    static let pieces = [" ", "\t", "\n", "\r\n", "\u{A0}", "\u{3000}", "\u{2029}", " \u{301}", "e\u{301}", "\u{600}1", "\u{600} ",
                         "\u{200D}", "a", "Z", "1", ".", "я", "Ж", "中", "👍🏽", "\u{1F1F7}\u{1F1FA}", "#\u{FE0F}\u{20E3}", "~", "!"]

    @Test func theShortcutTrimsExactlyWhatCharactersDo() {
        var rng = SplitMix64(seed: 2026_11_23)
        for n in 0..<20_000 {
            let text = (0..<Int.random(in: 0...6, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
            let expected = Self.trimmedByCharacter(text)
            #expect(text.trimmingWhitespace == expected, "text \(n): \(Array(text.unicodeScalars).map { String($0.value, radix: 16) })")
        }
    }

    @Test func aTextWithVisibleEdgesIsReturnedAsItIs() {
        #expect("модель 12".trimmingWhitespace == "модель 12")
        #expect("  модель 12 \n".trimmingWhitespace == "модель 12")
        #expect(" \u{301}x".trimmingWhitespace == "x")  // a space carrying a mark is one whitespace character
        #expect("\u{600} x".trimmingWhitespace == "\u{600} x")
    }
}
