/// Masks what must never be stored or logged in clear: card numbers, CVV codes, SMS codes, passport numbers.
///
/// - Card numbers: a run of 13–19 digits, optionally grouped by single spaces or hyphens, that passes the
///   Luhn check, becomes `**** **** **** 1234` (its last four digits kept).
/// - After a keyword naming a CVV/CVC, an SMS or one-time code, or a passport, the digits that follow
///   become `*`: `CVV 123` → `CVV ***`, `код из SMS: 4821` → `код из SMS: ****`,
///   `паспорт 45 08 123456` → `паспорт ** ** ******`. The keywords are listed in ``keywords`` and in
///   docs/OPERATIONS.md.
///
/// Digit runs that fail the Luhn check (phone numbers, order numbers) are left alone.
public enum SensitiveData {
    /// Words after which the next digits are a secret, lower-cased; matched case-insensitively.
    public static let keywords: [String] = [
        "cvv2", "cvc2", "cvv", "cvc", "cid", "код безопасности", "код с обратной стороны",
        "sms-код", "смс-код", "sms код", "смс код", "код из sms", "код из смс", "код подтверждения", "одноразовый код",
        "otp", "código sms", "codigo sms", "clave sms", "código de verificación", "código de seguridad", "código cvv",
        "验证码", "安全码", "短信验证码", "código de segurança", "codigo de seguranca", "token",
        "паспорт", "серия и номер", "passport", "pasaporte", "dni", "nie", "护照",
    ]

    /// The text with every sensitive value masked; unchanged when there is none.
    /// - Complexity: linear in the text's length for each keyword present.
    public static func mask(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.numericType != nil }) else { return text }
        var chars = Array(text)
        maskCards(&chars)
        maskAfterKeywords(&chars)
        return String(chars)
    }

    // MARK: Card numbers

    private static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }

    private static func maskCards(_ chars: inout [Character]) {
        var i = 0
        while i < chars.count {
            guard isDigit(chars[i]), i == 0 || !isDigit(chars[i - 1]) else { i += 1; continue }
            // Collect a run of digits joined by single spaces or hyphens.
            var digits: [Int] = []
            var end = i
            var j = i
            while j < chars.count {
                if isDigit(chars[j]) {
                    digits.append(chars[j].wholeNumberValue!)
                    end = j + 1
                    j += 1
                } else if (chars[j] == " " || chars[j] == "-"), j + 1 < chars.count, isDigit(chars[j + 1]) {
                    j += 1
                } else {
                    break
                }
            }
            if let (start, stop) = cardWindow(digits) {
                // Map digit positions back to character positions.
                var positions: [Int] = []
                for k in i..<end where isDigit(chars[k]) { positions.append(k) }
                let from = positions[start], to = positions[stop - 1] + 1
                let last4 = positions[(stop - 4)..<stop].map { chars[$0] }
                let masked = Array("**** **** **** ") + last4
                chars.replaceSubrange(from..<to, with: masked)
                i = from + masked.count
            } else {
                i = end
            }
        }
    }

    /// The whole run if it is a Luhn-valid 13–19-digit number; otherwise nil (a longer run is not a card).
    private static func cardWindow(_ digits: [Int]) -> (Int, Int)? {
        guard (13...19).contains(digits.count), luhn(digits) else { return nil }
        return (0, digits.count)
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

    private static let lowered: [[Character]] = keywords.map { Array($0) }

    private static func maskAfterKeywords(_ chars: inout [Character]) {
        let lower = chars.map { Character($0.lowercased()) }
        for keyword in lowered {
            var i = 0
            while i + keyword.count <= lower.count {
                guard lower[i] == keyword[0], Array(lower[i..<(i + keyword.count)]) == keyword,
                      i == 0 || !lower[i - 1].isLetter else { i += 1; continue }
                let j = i + keyword.count
                // Part of a longer word ("tokenize", or "cvc" in "cvc2")? Chinese writes digits right after the word.
                let wordGoesOn = j < lower.count && (lower[j].isLetter || (isDigit(chars[j]) && keyword.last!.isASCII && keyword.last!.isLetter))
                if wordGoesOn { i += 1; continue }
                // The value may come in parts: "паспорт серия 4508 номер 123456". Mask up to three.
                var k = j
                for _ in 0..<3 {
                    k = skipFiller(chars, lower, from: k)
                    guard k < chars.count, isDigit(chars[k]) else { break }
                    // Mask the digits that follow (with single spaces between groups, as passports are written).
                    while k < chars.count {
                        if isDigit(chars[k]) {
                            chars[k] = "*"
                            k += 1
                        } else if chars[k] == " " || chars[k] == "-", k + 1 < chars.count, isDigit(chars[k + 1]) {
                            k += 1
                        } else {
                            break
                        }
                    }
                }
                i = max(k, i + 1)
            }
        }
    }

    /// Skips what may stand between a keyword and its value: spaces, punctuation, "№", "код", "is".
    private static func skipFiller(_ chars: [Character], _ lower: [Character], from start: Int) -> Int {
        var j = start
        var skipped = 0
        while j < chars.count, !isDigit(chars[j]), skipped < 24, chars[j] != "\n" {
            if chars[j].isLetter {
                guard let length = allowedWord(lower, at: j) else { return j }
                j += length
                skipped += length
            } else {
                j += 1
                skipped += 1
            }
        }
        return j
    }

    /// Short words that may sit between a keyword and its value: "код", "номер", "is", "es".
    /// - Returns: the word's length when one starts at `at` and ends there as a word.
    private static func allowedWord(_ lower: [Character], at: Int) -> Int? {
        for word in ["код", "номер", "серия", "из", "is", "es", "é", "是", "no", "nº", "№"] {
            let w = Array(word)
            guard at + w.count <= lower.count, Array(lower[at..<(at + w.count)]) == w else { continue }
            if at + w.count < lower.count, lower[at + w.count].isLetter { continue }
            return w.count
        }
        return nil
    }
}
