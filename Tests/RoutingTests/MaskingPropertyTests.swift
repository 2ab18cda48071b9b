import Foundation
import Testing
@testable import Routing
import TestSupport

/// Generated notes in the five table languages, each carrying card numbers and codes joined by every separator
/// Unicode has, next to numbers that are not secret: the secrets never survive masking, the rest always does.
@Suite(.timeLimit(.minutes(5)))
struct MaskingPropertyTests {

    /// Every scalar of Unicode's Zs (space separator) category: the space, no-break, en/em/thin/hair spaces,
    /// the ideographic space…
    static let spaceSeparators: [String] = (0...0x10FFFF).compactMap { Unicode.Scalar($0) }
        .filter { $0.properties.generalCategory == .spaceSeparator }.map { String($0) }
    static let lineBreaks = ["\n", "\r\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}"]
    static let otherSeparators = ["-", ".", "/", "\t", "\u{2010}", "\u{2013}", "\u{FF0D}", "\u{FF0E}", "\u{FF0F}", "  ", " - ", " / "]

    @Test func unicodeHasSeventeenSpaceSeparators() {
        #expect(Self.spaceSeparators.count == 17)
    }

    /// A secret put in a note: its digits as written, the digits that must not survive, and how to check.
    struct Secret {
        let text: String
        /// ASCII digits none of which may remain in a row of this length or more.
        let digits: String
    }

    /// A Luhn-valid card number of 16 digits (or 15, Amex-like), as ASCII digits.
    static func cardDigits(_ rng: inout SplitMix64) -> String {
        let length = Bool.random(using: &rng) ? 16 : 15
        var digits = [Int.random(in: 3...6, using: &rng)] + (1..<(length - 1)).map { _ in Int.random(in: 0...9, using: &rng) }
        for check in 0...9 where SensitiveData.luhn(digits + [check]) {
            digits.append(check)
            break
        }
        return digits.map(String.init).joined()
    }

    /// The digits written in ASCII or in full-width form.
    static func write(_ ascii: String, fullWidth: Bool) -> String {
        guard fullWidth else { return ascii }
        return String(String.UnicodeScalarView(ascii.unicodeScalars.map { Unicode.Scalar($0.value - 0x30 + 0xFF10)! }))
    }

    /// A card number in groups of four joined by `separator`.
    static func card(_ rng: inout SplitMix64, separator: String) -> Secret {
        let digits = cardDigits(&rng)
        var groups: [String] = []
        var rest = Substring(digits)
        while !rest.isEmpty {
            groups.append(String(rest.prefix(4)))
            rest = rest.dropFirst(4)
        }
        let fullWidth = Int.random(in: 0..<5, using: &rng) == 0
        return Secret(text: groups.map { write($0, fullWidth: fullWidth) }.joined(separator: separator), digits: String(digits.prefix(12)))
    }

    /// A code after a keyword of `language`, with `space` after the keyword.
    static func code(_ rng: inout SplitMix64, language: String, space: String) -> Secret {
        let digits = (0..<Int.random(in: 4...6, using: &rng)).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
        let keywords: [String: [String]] = [
            "ru": ["CVV", "код из SMS:", "SMS-код", "одноразовый код", "код подтверждения", "паспорт"],
            "es": ["código de verificación", "código SMS", "CVV", "código de seguridad", "pasaporte"],
            "pt": ["código de verificação", "código de segurança", "CVV", "senha", "passaporte"],
            "en": ["CVV", "sms code", "one-time code", "verification code", "OTP", "passport"],
            "zh": ["验证码", "短信验证码为", "安全码为", "动态码", "CVV码", "护照E"],
        ]
        let keyword = keywords[language]!.randomElement(using: &rng)!
        // Chinese writes the code right after the word; the others leave a space of some kind.
        let between = language == "zh" && (keyword.hasSuffix("E") || Bool.random(using: &rng)) ? "" : space
        let fullWidth = language == "zh" && Bool.random(using: &rng)
        return Secret(text: keyword + between + write(digits, fullWidth: fullWidth), digits: digits)
    }

    /// Text around the secrets, with numbers that are not secret.
    static let sentences: [String: [String]] = [
        "ru": ["Клиент звонит по поводу списания", "телефон 8 916 123-45-67", "договор № 123456789012", "модель Xiaomi 12", "просит перезвонить после 18:00"],
        "es": ["El cliente llama por un cargo", "teléfono +34 612 345 678", "pedido 2026/11/22", "importe 49,90 €", "pide hablar con un supervisor"],
        "pt": ["Cliente liga sobre cobrança", "telefone (11) 91234-5678", "protocolo 20261122001", "valor R$ 89,90", "pede retorno amanhã"],
        "en": ["Caller disputes a charge", "phone 020 7946 0958", "order 4111 1111 1111 1112", "amount 12.50", "wants a callback at 5 pm"],
        "zh": ["客户来电咨询扣款", "电话 138 0013 8000", "尾号1234的卡", "金额 99.00 元", "要求主管回电"],
    ]

    /// The text with digits of any script written in ASCII and the separators a card number may have dropped, so a
    /// secret's digits show however they were written.
    static func normalized(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars where !SensitiveData.isGroupSeparator(s) {
            out.append(SensitiveData.digitValue(s).map { Unicode.Scalar(UInt8(0x30 + $0)) } ?? s)
        }
        return String(out)
    }

    @Test(arguments: ["ru", "es", "pt", "en", "zh"])
    func generatedNotesKeepNoSecret(language: String) {
        var rng = SplitMix64(seed: 0x5EC2E7 &+ UInt64(language.unicodeScalars.first!.value))
        let cardSeparators = Self.spaceSeparators + Self.lineBreaks + Self.otherSeparators
        let plain = Self.sentences[language]!
        for n in 0..<600 {
            // Every separator in turn, then at random.
            let separator = n < cardSeparators.count ? cardSeparators[n] : cardSeparators.randomElement(using: &rng)!
            let space = Self.spaceSeparators[n % Self.spaceSeparators.count]
            let secrets = [Self.card(&rng, separator: separator), Self.code(&rng, language: language, space: space)]
            var parts = plain.shuffled(using: &rng).prefix(3).map { $0 }
            for secret in secrets { parts.insert(secret.text, at: Int.random(in: 0...parts.count, using: &rng)) }
            let note = parts.joined(separator: language == "zh" ? "，" : ", ")
            let masked = SensitiveData.mask(note)
            for secret in secrets {
                // (Unless the same digits are in the note elsewhere, by chance, where they are no secret.)
                #expect(!Self.normalized(masked).contains(secret.digits)
                        || Self.normalized(note.replacingOccurrences(of: secret.text, with: "")).contains(secret.digits),
                        "note \(n): \(note.debugDescription) → \(masked.debugDescription)")
            }
            // What was not secret is all still there.
            for sentence in plain where note.contains(sentence) {
                #expect(masked.contains(sentence), "note \(n): \(sentence.debugDescription) lost in \(masked.debugDescription)")
            }
            #expect(SensitiveData.mask(masked) == masked, "masking twice changed \(masked.debugDescription)")
            // The comment trims the notes masked at decode and does not mask them again: that must change nothing.
            let padded = SensitiveData.mask(space + note + Self.lineBreaks[n % Self.lineBreaks.count])
            #expect(SensitiveData.mask(padded.trimmingWhitespace) == padded.trimmingWhitespace, "note \(n): \(padded.debugDescription)")
            #expect(masked.utf8.count <= note.utf8.count && masked.unicodeScalars.count <= note.unicodeScalars.count)
        }
    }

    /// `mask` skips the scalar-by-scalar work when `mayChange` says nothing can change: that must never skip a
    /// text the full masking changes. Random texts made of keywords, fillers, digits, separators and letters of
    /// every table language, and the generated notes with their secrets.
    @Test func theShortcutNeverSkipsATextMaskingChanges() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        let pieces = SensitiveData.keywords + SensitiveData.keywords.map { $0.uppercased() } + SensitiveData.fillers
            + ["0", "1", "7", "42", "123", "4821", "５", "٧", "5500", "0000", "0004", "4111", "1111", "4222222222222", "4222", "2222", "2"]
            + [" ", "  ", "-", ".", "/", ":", "\n", "\u{A0}", "\u{3000}", "，", "x", "ab", "Е", "модель", "tokenize", "客户", "E", "码"]
            // Scalars of every UTF-8 length, as `mayChange` decodes them by hand: four-byte digits and letters too.
            + ["😀", "𝟗", "𝟘𝟙𝟚", "ÀÉ", "Ѐ", "ЁПИН", "ＣＶＶ", "ℂ", "ß"]
        var changedByMasking = 0
        var skipped = 0
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 1...8, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }
                .joined(separator: Bool.random(using: &rng) ? "" : " ")
            let full = SensitiveData.maskingEveryScalar(text)
            if full != text {
                changedByMasking += 1
                #expect(SensitiveData.mayChange(text), "\(text.debugDescription) → \(full.debugDescription) was skipped")
            } else if !SensitiveData.mayChange(text) {
                skipped += 1
            }
            #expect(SensitiveData.mask(text) == full, "\(text.debugDescription)")
        }
        // Both sides were exercised: texts that masking changes, and texts the shortcut skipped.
        #expect(changedByMasking > 1_000 && skipped > 1_000, "changed \(changedByMasking), skipped \(skipped)")
        #expect(!SensitiveData.mayChange("модель телефона Xiaomi 12, договор № 123456789012"))
        #expect(SensitiveData.mayChange("CVV 123") && SensitiveData.mayChange("4111 1111 1111 1111") && SensitiveData.mayChange("4111-1111 - 1111\n1111"))
        #expect(!SensitiveData.mayChange("4111 1111, 1111 1111"))  // a comma ends a card number's run
        #expect(!SensitiveData.mayChange("12 мая, CVV") && SensitiveData.mayChange("CVV: 12"))  // only digits after a keyword
    }

    /// `fold` looks at ASCII and Cyrillic's small letters before its other cases: every scalar of the Basic
    /// Multilingual Plane folds as the rule says.
    @Test func foldIsLowerCaseSpacesAndDashes() {
        for v in UInt32(0)..<0x1_0000 {
            guard let s = Unicode.Scalar(v) else { continue }
            let expected: UInt32 = switch v {
            case 0x41...0x5A, 0x410...0x42F: v + 0x20
            case 0xC0...0xDE where v != 0xD7: v + 0x20
            case 0x400...0x40F: v + 0x50
            case 0xFF21...0xFF3A: v - 0xFF21 + 0x61
            case 0xFF41...0xFF5A: v - 0xFF41 + 0x61
            case 0x2010...0x2015, 0x2212, 0xFE63, 0xFF0D: 0x2D
            case 0xA0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: 0x20
            default: v
            }
            #expect(SensitiveData.fold(s).value == expected, "U+\(String(v, radix: 16))")
        }
    }

    @Test func textWithoutSecretsIsReturnedAsIs() {
        var rng = SplitMix64(seed: 42)
        for language in Self.sentences.keys.sorted() {
            for _ in 0..<200 {
                let note = Self.sentences[language]!.shuffled(using: &rng).joined(separator: Self.spaceSeparators.randomElement(using: &rng)!)
                #expect(SensitiveData.mask(note) == note)
            }
        }
    }
}
