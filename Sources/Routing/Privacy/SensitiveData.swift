/// Masks what must never be stored or logged in clear: card numbers, CVV codes, SMS and one-time codes, passport
/// numbers, expiry dates.
///
/// - Card numbers: 13–19 digits that pass the Luhn check become `**** **** **** 1234` (the last four digits
///   kept). The digits may be any Unicode decimal digits (full-width `４１１１` too) and their groups may be
///   joined by up to three separators each: any space of Unicode's Zs category (no-break, thin, ideographic…),
///   a tab or line break, `-`, `.`, `/` and their full-width forms. When a longer run of groups is not a card
///   number as a whole, each span of whole groups that is one is masked.
/// - After a keyword naming a CVV/CVC, an SMS, verification or one-time code, a passport or an expiry date,
///   the digits that follow become `*`: `CVV 123` → `CVV ***`, `CVV947` → `CVV***`, `CVV码562` → `CVV码***`,
///   `код из SMS: 4821` → `код из SMS: ****`, `短信验证码为604918` → `短信验证码为******`,
///   `护照E73920461` → `护照E********`, `паспорт 45 08 123456` → `паспорт ** ** ******`. The keywords are
///   listed in ``keywords`` and in docs/OPERATIONS.md.
///
/// Digit runs that fail the Luhn check (phone numbers, order numbers) are left alone. Works on Unicode scalars
/// with a simple case fold, so masking a comment costs little next to deciding it.
public enum SensitiveData {
    /// Words after which the next digits are a secret, lower-cased; matched case-insensitively.
    public static let keywords: [String] = [
        // CVV and card security codes
        "cvv2", "cvc2", "cvv", "cvc", "cid", "security code", "card verification code",
        "код безопасности", "код с обратной стороны", "código de seguridad", "código cvv", "código de segurança",
        "codigo de seguranca", "安全码", "校验码",
        // SMS, verification and one-time codes
        "sms-код", "смс-код", "sms код", "смс код", "код из sms", "код из смс", "код подтверждения", "проверочный код",
        "одноразовый код", "одноразовый пароль", "пароль из смс", "пароль из sms",
        "sms code", "sms-code", "code from sms", "one-time code", "one time code", "one-time password", "one-time pin",
        "verification code", "confirmation code", "otp", "pin", "пин-код", "пин код", "pin-код", "token",
        "código sms", "codigo sms", "clave sms", "código de verificación", "codigo de verificacion", "código de confirmación",
        "código de verificação", "codigo de verificacao", "código de confirmação", "codigo de confirmacao", "senha",
        "验证码", "短信验证码", "动态码", "动态密码", "短信码",
        // Expiry dates
        "有效期", "expiry", "expiration date", "fecha de caducidad", "caducidad", "validade", "срок действия",
        // Passports and identity documents
        "паспорт", "серия и номер", "passport", "pasaporte", "passaporte", "dni", "nie", "护照",
    ]

    /// Short words that may stand between a keyword and its value, or between parts of the value.
    static let fillers: [String] = [
        "код", "номер", "серия", "из", "рф", "is", "es", "é", "no", "nº", "№", "de", "do", "number", "número",
        "是", "为", "為", "码", "碼", "号", "號", "号码",
    ]

    private static let foldedKeywords: [[Unicode.Scalar]] = keywords.map { Array($0.unicodeScalars).map(fold) }
    private static let foldedFillers: [[Unicode.Scalar]] = fillers.map { Array($0.unicodeScalars).map(fold) }
    /// Keyword indices by first scalar, longest first, so `cvv2` is tried before `cvv` and 短信验证码 before 短信码.
    private static let keywordsByFirst: [Unicode.Scalar: [Int]] = {
        var index: [Unicode.Scalar: [Int]] = [:]
        for (n, k) in foldedKeywords.enumerated() { index[k[0], default: []].append(n) }
        return index.mapValues { $0.sorted { foldedKeywords[$0].count > foldedKeywords[$1].count } }
    }()

    /// The text with every sensitive value masked; unchanged when there is none.
    /// - Complexity: O(n) for n scalars (the keywords and fillers are a fixed list), and nothing but one scan
    ///   when the text holds no digit.
    public static func mask(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { digitValue($0) != nil }) else { return text }
        var scalars = Array(text.unicodeScalars)
        var changed = maskCards(&scalars)
        changed = maskAfterKeywords(&scalars) || changed
        guard changed else { return text }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// Lower case for the scripts the tables use (ASCII, Latin-1 accented capitals, Cyrillic), full-width Latin
    /// letters as ASCII, every Zs space as U+0020 and every dash as `-`; one scalar for one, so positions agree.
    static func fold(_ s: Unicode.Scalar) -> Unicode.Scalar {
        let v = s.value
        switch v {
        case 0x41...0x5A, 0xC0...0xDE where v != 0xD7: return Unicode.Scalar(v + 0x20)!
        case 0x410...0x42F: return Unicode.Scalar(v + 0x20)!
        case 0x400...0x40F: return Unicode.Scalar(v + 0x50)!
        case 0xFF21...0xFF3A: return Unicode.Scalar(v - 0xFF21 + 0x61)!
        case 0xFF41...0xFF5A: return Unicode.Scalar(v - 0xFF41 + 0x61)!
        case 0x2010...0x2015, 0x2212, 0xFE63, 0xFF0D: return "-"
        case 0xA0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: return " "
        default: return s
        }
    }

    /// The value of a decimal digit of any script (`7`, `７`, `٧`), or nil.
    static func digitValue(_ s: Unicode.Scalar) -> Int? {
        if s.value >= 0x30 && s.value <= 0x39 { return Int(s.value - 0x30) }
        guard s.value >= 0x660, s.properties.numericType == .decimal, let v = s.properties.numericValue else { return nil }
        return Int(v)
    }

    private static func isDigit(_ s: Unicode.Scalar) -> Bool { digitValue(s) != nil }
    private static func isLetter(_ s: Unicode.Scalar) -> Bool { s.properties.isAlphabetic }
    private static func isIdeograph(_ s: Unicode.Scalar) -> Bool { s.properties.isIdeographic }
    /// A letter of a script written with spaces between words (not a Chinese character).
    private static func isWordLetter(_ s: Unicode.Scalar) -> Bool { isLetter(s) && !isIdeograph(s) }

    /// A line break, in any of Unicode's forms.
    static func isLineBreak(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }

    /// What may stand between the digit groups of a card number.
    static func isGroupSeparator(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09, 0x2D, 0x2E, 0x2F, 0xFF0E, 0xFF0F, 0x2010...0x2015, 0x2212, 0xFE63, 0xFF0D: return true
        default: return isLineBreak(s) || s.properties.generalCategory == .spaceSeparator
        }
    }

    /// Separators allowed between two groups of a card number ("\r\n", "  ", " - ").
    static let maximumSeparatorRun = 3

    private static let star: Unicode.Scalar = "*"

    // MARK: Card numbers

    private static func maskCards(_ s: inout [Unicode.Scalar]) -> Bool {
        var changed = false
        var i = 0
        while i < s.count {
            guard isDigit(s[i]), i == 0 || !isDigit(s[i - 1]) else { i += 1; continue }
            // Groups of digits joined by short runs of separators.
            var groups: [Range<Int>] = []
            var j = i
            while j < s.count {
                let start = j
                while j < s.count, isDigit(s[j]) { j += 1 }
                groups.append(start..<j)
                var k = j
                while k < s.count, k - j < maximumSeparatorRun, isGroupSeparator(s[k]) { k += 1 }
                guard k > j, k < s.count, isDigit(s[k]) else { break }
                j = k
            }
            // Go on after the run, wherever the replacements (longer or shorter than what they replace) put its end.
            var resume = groups.last!.upperBound
            for span in cardSpans(groups, in: s).reversed() {
                let masked = Array("**** **** **** ".unicodeScalars) + s[span].filter(isDigit).suffix(4)
                s.replaceSubrange(span, with: masked)
                resume += masked.count - span.count
                changed = true
            }
            i = resume
        }
        return changed
    }

    /// The spans of whole groups that are card numbers: the whole run if it is one, else the longest spans
    /// from left to right.
    private static func cardSpans(_ groups: [Range<Int>], in s: [Unicode.Scalar]) -> [Range<Int>] {
        func digits(_ from: Int, _ to: Int) -> [Int] {
            groups[from...to].flatMap { g in s[g].map { digitValue($0)! } }
        }
        var spans: [Range<Int>] = []
        var first = 0
        while first < groups.count {
            var found: Int?
            var count = 0
            var last = first
            // Spans of at most 19 digits, so this is bounded by the run's length.
            while last < groups.count, count + groups[last].count <= 19 {
                count += groups[last].count
                last += 1
            }
            var end = last - 1
            while end >= first {
                let n = groups[first...end].reduce(0) { $0 + $1.count }
                if n >= 13, luhn(digits(first, end)) { found = end; break }
                end -= 1
            }
            if let found {
                spans.append(groups[first].lowerBound..<groups[found].upperBound)
                first = found + 1
            } else {
                first += 1
            }
        }
        return spans
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
        var i = 0
        while i < lower.count {
            guard let candidates = keywordsByFirst[lower[i]],
                  let keyword = candidates.lazy.map({ foldedKeywords[$0] }).first(where: { isKeyword($0, lower, at: i) })
            else { i += 1; continue }
            // The value may come in parts: "паспорт серия 4508 номер 123456". Mask up to three.
            var k = i + keyword.count
            for _ in 0..<3 {
                k = skipFiller(lower, from: k)
                // A passport number may start with a letter or two: 护照E73920461, "passport AB1234567".
                var p = k
                while p < lower.count, p - k < 2, lower[p].isASCII, isWordLetter(lower[p]) { p += 1 }
                guard p < s.count, isDigit(s[p]) else { break }
                k = p
                while k < s.count {
                    if isDigit(s[k]) {
                        s[k] = star
                        changed = true
                        k += 1
                    } else if lower[k] == " " || lower[k] == "-", k + 1 < s.count, isDigit(s[k + 1]) {
                        k += 1
                    } else {
                        break
                    }
                }
            }
            i = max(k, i + 1)
        }
        return changed
    }

    /// Whether `keyword` stands at `i` as a word: not inside a longer word of a spaced script ("tokenize", "cvc" of
    /// "cvc2"), while Chinese, written without spaces, may touch it on either side (客户CVV 739, CVV码562).
    private static func isKeyword(_ keyword: [Unicode.Scalar], _ lower: [Unicode.Scalar], at i: Int) -> Bool {
        guard matches(keyword, lower, at: i) else { return false }
        if i > 0, isWordLetter(lower[i - 1]), !isIdeograph(keyword[0]) { return false }
        let j = i + keyword.count
        guard j < lower.count else { return true }
        let last = keyword.last!
        if isIdeograph(last) { return true }
        if isWordLetter(lower[j]) { return false }
        // Digits right after a Latin keyword are its value only when there are three or more: CVV947, not cvv2.
        if isDigit(lower[j]), last.isASCII, isLetter(last) {
            var n = j
            while n < lower.count, isDigit(lower[n]) { n += 1 }
            return n - j >= 3
        }
        return true
    }

    private static func matches(_ word: [Unicode.Scalar], _ lower: [Unicode.Scalar], at i: Int) -> Bool {
        guard i + word.count <= lower.count else { return false }
        for k in 0..<word.count where lower[i + k] != word[k] { return false }
        return true
    }

    /// Skips what may stand between a keyword and its value: spaces, punctuation, filler words; not a line break.
    private static func skipFiller(_ lower: [Unicode.Scalar], from start: Int) -> Int {
        var j = start
        var skipped = 0
        while j < lower.count, !isDigit(lower[j]), skipped < 24, !isLineBreak(lower[j]) {
            if isLetter(lower[j]) {
                guard let filler = foldedFillers.first(where: { isFiller($0, lower, at: j) }) else { return j }
                j += filler.count
                skipped += filler.count
            } else {
                j += 1
                skipped += 1
            }
        }
        return j
    }

    private static func isFiller(_ filler: [Unicode.Scalar], _ lower: [Unicode.Scalar], at j: Int) -> Bool {
        guard matches(filler, lower, at: j) else { return false }
        let end = j + filler.count
        return end >= lower.count || isIdeograph(filler.last!) || !isWordLetter(lower[end])
    }
}
