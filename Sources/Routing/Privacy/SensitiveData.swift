/// Masks what must never be stored or logged in clear: card numbers, CVV codes, SMS codes, passport numbers.
///
/// - Card numbers: a run of 13–19 digits, optionally grouped by single spaces or hyphens, that passes the
///   Luhn check, becomes `**** **** **** 1234` (its last four digits kept).
/// - After a keyword naming a CVV/CVC, an SMS or one-time code, or a passport, the digits that follow
///   become `*`: `CVV 123` → `CVV ***`, `код из SMS: 4821` → `код из SMS: ****`,
///   `паспорт 45 08 123456` → `паспорт ** ** ******`. The keywords are listed in ``keywords`` and in
///   docs/OPERATIONS.md.
///
/// Digit runs that fail the Luhn check (phone numbers, order numbers) are left alone. Works on Unicode
/// scalars with a simple case fold, so masking a comment costs little next to deciding it.
public enum SensitiveData {
    /// Words after which the next digits are a secret, lower-cased; matched case-insensitively.
    public static let keywords: [String] = [
        "cvv2", "cvc2", "cvv", "cvc", "cid", "код безопасности", "код с обратной стороны",
        "sms-код", "смс-код", "sms код", "смс код", "код из sms", "код из смс", "код подтверждения", "одноразовый код",
        "otp", "código sms", "codigo sms", "clave sms", "código de verificación", "código de seguridad", "código cvv",
        "验证码", "安全码", "短信验证码", "código de segurança", "codigo de seguranca", "token",
        "有效期", "expiry", "expiration date", "fecha de caducidad", "caducidad", "validade", "срок действия",
        "паспорт", "серия и номер", "passport", "pasaporte", "dni", "nie", "护照",
    ]

    /// Short words that may stand between a keyword and its value, or between parts of the value.
    static let fillers: [String] = ["код", "номер", "серия", "из", "is", "es", "é", "是", "no", "nº", "№"]

    private static let foldedKeywords: [[Unicode.Scalar]] = keywords.map { Array($0.unicodeScalars).map(fold) }
    private static let foldedFillers: [[Unicode.Scalar]] = fillers.map { Array($0.unicodeScalars).map(fold) }

    /// The text with every sensitive value masked; unchanged when there is none.
    /// - Complexity: O(n × k) for n scalars and k keywords, only when the text holds an ASCII digit.
    public static func mask(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) else { return text }
        var scalars = Array(text.unicodeScalars)
        var changed = maskCards(&scalars)
        changed = maskAfterKeywords(&scalars) || changed
        guard changed else { return text }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// Lower case for the scripts the seeds use: ASCII, Latin-1 accented capitals, Cyrillic.
    static func fold(_ s: Unicode.Scalar) -> Unicode.Scalar {
        let v = s.value
        switch v {
        case 0x41...0x5A, 0xC0...0xDE where v != 0xD7: return Unicode.Scalar(v + 0x20)!
        case 0x410...0x42F: return Unicode.Scalar(v + 0x20)!
        case 0x400...0x40F: return Unicode.Scalar(v + 0x50)!
        default: return s
        }
    }

    private static func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }
    private static func isLetter(_ s: Unicode.Scalar) -> Bool { s.properties.isAlphabetic }
    private static let star: Unicode.Scalar = "*"

    // MARK: Card numbers

    private static func maskCards(_ s: inout [Unicode.Scalar]) -> Bool {
        var changed = false
        var i = 0
        while i < s.count {
            guard isDigit(s[i]), i == 0 || !isDigit(s[i - 1]) else { i += 1; continue }
            // A run of digits joined by single spaces or hyphens.
            var positions: [Int] = []
            var j = i
            while j < s.count {
                if isDigit(s[j]) {
                    positions.append(j)
                    j += 1
                } else if (s[j] == " " || s[j] == "-"), j + 1 < s.count, isDigit(s[j + 1]) {
                    j += 1
                } else {
                    break
                }
            }
            if (13...19).contains(positions.count), luhn(positions.map { Int(s[$0].value - 0x30) }) {
                let from = positions.first!, to = positions.last! + 1
                let masked = Array("**** **** **** ".unicodeScalars) + positions.suffix(4).map { s[$0] }
                s.replaceSubrange(from..<to, with: masked)
                i = from + masked.count
                changed = true
            } else {
                i = j
            }
        }
        return changed
    }

    /// The Luhn checksum, as card numbers carry.
    public static func luhn(_ digits: [Int]) -> Bool {
        var sum = 0
        for (n, d) in digits.reversed().enumerated() {
            if n % 2 == 1 {
                let doubled = d * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += d
            }
        }
        return sum % 10 == 0
    }

    // MARK: Codes after keywords

    private static func maskAfterKeywords(_ s: inout [Unicode.Scalar]) -> Bool {
        let lower = s.map(fold)
        var changed = false
        for keyword in foldedKeywords {
            var i = 0
            while i + keyword.count <= lower.count {
                // Chinese has no spaces between words: a keyword in ideographs may follow any character.
                guard lower[i] == keyword[0], matches(keyword, lower, at: i),
                      i == 0 || !isLetter(lower[i - 1]) || keyword[0].properties.isIdeographic else { i += 1; continue }
                let j = i + keyword.count
                // Part of a longer word ("tokenize", or "cvc" in "cvc2")? Chinese writes digits right after the word.
                let last = keyword.last!
                if j < lower.count && !last.properties.isIdeographic && (isLetter(lower[j]) || (isDigit(lower[j]) && last.isASCII && isLetter(last))) { i += 1; continue }
                // The value may come in parts: "паспорт серия 4508 номер 123456". Mask up to three.
                var k = j
                for _ in 0..<3 {
                    k = skipFiller(lower, from: k)
                    guard k < s.count, isDigit(s[k]) else { break }
                    while k < s.count {
                        if isDigit(s[k]) {
                            s[k] = star
                            changed = true
                            k += 1
                        } else if (s[k] == " " || s[k] == "-"), k + 1 < s.count, isDigit(s[k + 1]) {
                            k += 1
                        } else {
                            break
                        }
                    }
                }
                i = max(k, i + 1)
            }
        }
        return changed
    }

    private static func matches(_ word: [Unicode.Scalar], _ lower: [Unicode.Scalar], at i: Int) -> Bool {
        guard i + word.count <= lower.count else { return false }
        for k in 0..<word.count where lower[i + k] != word[k] { return false }
        return true
    }

    /// Skips what may stand between a keyword and its value: spaces, punctuation, filler words.
    private static func skipFiller(_ lower: [Unicode.Scalar], from start: Int) -> Int {
        var j = start
        var skipped = 0
        while j < lower.count, !isDigit(lower[j]), skipped < 24, lower[j] != "\n" {
            if isLetter(lower[j]) {
                guard let filler = foldedFillers.first(where: { matches($0, lower, at: j) && (j + $0.count >= lower.count || !isLetter(lower[j + $0.count])) }) else {
                    return j
                }
                j += filler.count
                skipped += filler.count
            } else {
                j += 1
                skipped += 1
            }
        }
        return j
    }
}
