/// Masks what must never be stored or logged in clear: card numbers, CVV codes, SMS and one-time codes, passport
/// numbers, expiry dates.
///
/// - Card numbers: 13–19 digits that pass the Luhn check become `**** **** **** 1234` (the last four digits
///   kept), or `************1234` when the number took fewer than 19 characters. The digits may be any Unicode decimal digits (full-width `４１１１` too) and their groups may be
///   joined by up to three separators each: any space of Unicode's Zs category (no-break, thin, ideographic…),
///   a tab or line break, `-`, `.`, `/` and their full-width forms. When a longer run of groups is not a card
///   number as a whole, each span of whole groups that is one is masked.
/// - After a keyword naming a CVV/CVC, an SMS, verification or one-time code, a passport or an expiry date,
///   the digits that follow become `*`: `CVV 123` → `CVV ***`, `CVV947` → `CVV***`, `CVV码562` → `CVV码***`,
///   `код из SMS: 4821` → `код из SMS: ****`, `短信验证码为604918` → `短信验证码为******`,
///   `护照E73920461` → `护照E********`, `паспорт 45 08 123456` → `паспорт ** ** ******`. The keywords are
///   listed in ``keywords`` and in docs/OPERATIONS.md.
///
/// Digit runs that fail the Luhn check (phone numbers, order numbers) are left alone. Masking never makes a text
/// longer, in characters or in UTF-8 bytes, so a masked request stays within the bounds it was read with. Works
/// on Unicode scalars with a simple case fold, so masking a comment costs little next to deciding it.
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
    /// The keywords that start with each first scalar, longest first, so `cvv2` is tried before `cvv` and
    /// 短信验证码 before 短信码; found without hashing (``KeywordIndex``).
    private static let keywordIndex = KeywordIndex(foldedKeywords)

    /// Keywords by their first scalar: a direct table for Latin and Cyrillic, a short list for the rest.
    struct KeywordIndex {
        /// For a scalar below U+0800, 1 + its slot in `candidates`, or 0.
        private var direct = [UInt8](repeating: 0, count: 0x800)
        private var others: [(Unicode.Scalar, Int)] = []
        private var candidates: [[[Unicode.Scalar]]] = []

        package init(_ keywords: [[Unicode.Scalar]]) {
            var firsts: [Unicode.Scalar] = []
            for k in keywords where !firsts.contains(k[0]) { firsts.append(k[0]) }
            for (slot, first) in firsts.enumerated() {
                candidates.append(keywords.filter { $0[0] == first }.sorted { $0.count > $1.count })
                if first.value < 0x800 { direct[Int(first.value)] = UInt8(slot + 1) } else { others.append((first, slot)) }
            }
        }

        /// The slot of the keywords starting with `s`, or nil (for most scalars).
        @inline(__always) func slot(_ s: Unicode.Scalar) -> Int? {
            if s.value < 0x800 {
                let slot = direct[Int(s.value)]
                return slot == 0 ? nil : Int(slot) - 1
            }
            for (first, slot) in others where first == s { return slot }
            return nil
        }

        /// The keywords of a slot, longest first.
        func keywords(_ slot: Int) -> [[Unicode.Scalar]] { candidates[slot] }
    }

    /// The text with every sensitive value masked; unchanged when there is none.
    /// - Complexity: O(n) for n scalars (the keywords and fillers are a fixed list), and nothing but one scan
    ///   when the text holds no digit.
    public static func mask(_ text: String) -> String {
        guard mayHoldDigit(text), mayChange(text) else { return text }
        return maskingEveryScalar(text)
    }

    /// ``mask(_:)`` without its shortcuts: the text as scalars, card numbers and codes after keywords masked.
    static func maskingEveryScalar(_ text: String) -> String {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { scalars.append(scalar) }
        var changed = maskCards(&scalars)
        changed = maskAfterKeywords(&scalars) || changed
        guard changed else { return text }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(text.utf8.count + 16)
        for scalar in scalars { UTF8.encode(scalar) { utf8.append($0) } }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// False when masking certainly leaves `text` as it is: no run of 13 digits (no card number) and no digit
    /// after a keyword standing where ``maskAfterKeywords(_:)`` would look for one. One pass over the scalars,
    /// no array built; most texts with a digit (a phone model, a date, notes the engine masked) end here.
    static func mayChange(_ text: String) -> Bool {
        var text = text  // a native string's bytes are contiguous: `withUTF8` copies nothing
        return text.withUTF8(mayChange(utf8:))
    }

    /// ``mayChange(_:)`` over the text's UTF-8, decoding each scalar by hand: through `String.UnicodeScalarView`
    /// the scan cost about 200 instructions a scalar, a third of reading a call with notes.
    private static func mayChange(utf8 b: UnsafeBufferPointer<UInt8>) -> Bool {
        let index = keywordIndex
        // The digits of the current run of groups as ``maskCards(_:)`` joins them (up to three separators
        // between groups), and the separators since its last digit.
        var digits = 0
        var separators = 0
        // Masking after a keyword changes only digits that follow it: a keyword with none after it changes nothing.
        var keywordSeen = false
        var previous: Unicode.Scalar?
        var i = 0
        while i < b.count {
            let (scalar, length) = decodeScalar(b, at: i)
            let lower = fold(scalar)
            if isDigit(scalar) {
                if keywordSeen { return true }
                digits = separators <= maximumSeparatorRun ? digits + 1 : 1
                separators = 0
                if digits >= 13 { return true }
                previous = lower
                i += length
                continue
            }
            // (Looked up only inside a run: outside one the next digit starts a new run anyway.)
            if digits > 0, separators < maximumSeparatorRun, isGroupSeparator(scalar) {
                separators += 1
            } else {
                separators = maximumSeparatorRun + 1
            }
            if !keywordSeen, let slot = index.slot(lower), mayStartKeyword(lower, after: previous) {
                keywordSeen = index.keywords(slot).contains { matches($0, b, at: i) }
            }
            previous = lower
            i += length
        }
        return false
    }

    /// The scalar whose UTF-8 starts at `i` of valid UTF-8 (a `String`'s), and its length in bytes.
    @inline(__always) private static func decodeScalar(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> (Unicode.Scalar, Int) {
        let c = UInt32(b[i])
        if c < 0x80 { return (Unicode.Scalar(UInt8(c)), 1) }
        let value: UInt32, length: Int
        if c < 0xE0 {
            value = (c & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F)
            length = 2
        } else if c < 0xF0 {
            value = (c & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F)
            length = 3
        } else {
            value = (c & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F)
            length = 4
        }
        return (Unicode.Scalar(value).unsafelyUnwrapped, length)  // valid UTF-8 encodes only scalars
    }

    /// Where a keyword is looked for (both scalars folded): anywhere in Chinese, after a non-letter elsewhere.
    /// ``mayChange(_:)`` and ``maskAfterKeywords(_:)`` must agree on it for the shortcut to be exact.
    @inline(__always) private static func mayStartKeyword(_ lower: Unicode.Scalar, after previous: Unicode.Scalar?) -> Bool {
        guard let previous else { return true }
        return isIdeograph(lower) || !isWordLetter(previous)
    }

    /// Whether `word` (folded) stands at byte `i` of the UTF-8 `b`, folding as it compares.
    private static func matches(_ word: [Unicode.Scalar], _ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        var j = i
        for w in word {
            guard j < b.count else { return false }
            let (scalar, length) = decodeScalar(b, at: j)
            guard fold(scalar) == w else { return false }
            j += length
        }
        return true
    }

    /// Lower case for the scripts the tables use (ASCII, Latin-1 accented capitals, Cyrillic), full-width Latin
    /// letters as ASCII, every Zs space as U+0020 and every dash as `-`; one scalar for one, so positions agree.
    @inline(__always) static func fold(_ s: Unicode.Scalar) -> Unicode.Scalar {
        let v = s.value
        // ASCII and Cyrillic's small letters first: most of what is scanned (each scalar of every note).
        if v < 0x80 { return v &- 0x41 < 26 ? Unicode.Scalar(UInt8(v + 0x20)) : s }
        if v &- 0x430 < 0x30 { return s }
        return foldOthers(s)
    }

    private static func foldOthers(_ s: Unicode.Scalar) -> Unicode.Scalar {
        let v = s.value
        // (Each result is a scalar: the ranges hold no surrogates and move by less than the gap to them.)
        switch v {
        case 0xC0...0xDE where v != 0xD7: return Unicode.Scalar(v + 0x20).unsafelyUnwrapped
        case 0x410...0x42F: return Unicode.Scalar(v + 0x20).unsafelyUnwrapped
        case 0x400...0x40F: return Unicode.Scalar(v + 0x50).unsafelyUnwrapped
        case 0xFF21...0xFF3A: return Unicode.Scalar(UInt8(v - 0xFF21 + 0x61))
        case 0xFF41...0xFF5A: return Unicode.Scalar(UInt8(v - 0xFF41 + 0x61))
        case 0x2010...0x2015, 0x2212, 0xFE63, 0xFF0D: return "-"
        case 0xA0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: return " "
        default: return s
        }
    }

    /// The value of a decimal digit of any script (`7`, `７`, `٧`), or nil.
    /// False when no scalar of `text` can be a digit (``digitValue(_:)``), told from its UTF-8 alone: no ASCII
    /// digit and no lead byte from 0xD9 on (those below encode scalars below U+0640, where the only digits are
    /// ASCII). Most text has no digit at all, and this is much cheaper than looking at each scalar.
    static func mayHoldDigit(_ text: String) -> Bool {
        var text = text  // contiguous bytes: through `String.UTF8View` each byte cost a dozen instructions
        return text.withUTF8 { bytes in bytes.contains { $0 &- 0x30 < 10 || $0 >= 0xD9 } }
    }

    @inline(__always) static func digitValue(_ s: Unicode.Scalar) -> Int? {
        let v = s.value
        if v >= 0x30 && v <= 0x39 { return Int(v - 0x30) }
        // Below U+0660, among the Chinese characters and the Hangul syllables there is no decimal digit: skip the lookup.
        guard v >= 0x660, !(0x3400...0x9FFF).contains(v), !(0xAC00...0xD7A3).contains(v),
              s.properties.numericType == .decimal, let v = s.properties.numericValue else { return nil }
        return Int(v)
    }

    @inline(__always) private static func isDigit(_ s: Unicode.Scalar) -> Bool { digitValue(s) != nil }
    private static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7A }
        if (0x400...0x45F).contains(s.value) { return true }  // Cyrillic's capitals and small letters, without a property lookup
        return s.properties.isAlphabetic
    }
    private static func isIdeograph(_ s: Unicode.Scalar) -> Bool { s.value >= 0x3000 && s.properties.isIdeographic }
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
        case 0...0x7F: return isLineBreak(s)
        default: return isLineBreak(s) || s.properties.generalCategory == .spaceSeparator
        }
    }

    /// Separators allowed between two groups of a card number ("\r\n", "  ", " - ").
    static let maximumSeparatorRun = 3

    private static let star: Unicode.Scalar = "*"

    // MARK: Card numbers

    private static func maskCards(_ s: inout [Unicode.Scalar]) -> Bool {
        // The masked text is built as the scan goes, so many card numbers in a long note cost no more than one.
        var out: [Unicode.Scalar] = []
        var copied = 0
        var groups: [Range<Int>] = []
        var i = 0
        while i < s.count {
            guard isDigit(s[i]), i == 0 || !isDigit(s[i - 1]) else { i += 1; continue }
            // Groups of digits joined by short runs of separators.
            groups.removeAll(keepingCapacity: true)
            var digitCount = 0
            var j = i
            while j < s.count {
                let start = j
                while j < s.count, isDigit(s[j]) { j += 1 }
                groups.append(start..<j)
                digitCount += j - start
                var k = j
                while k < s.count, k - j < maximumSeparatorRun, isGroupSeparator(s[k]) { k += 1 }
                guard k > j, k < s.count, isDigit(s[k]) else { break }
                j = k
            }
            i = groups.last!.upperBound
            guard digitCount >= 13 else { continue }
            for span in cardSpans(groups, in: s) {
                if out.isEmpty { out.reserveCapacity(s.count + 16) }
                out.append(contentsOf: s[copied..<span.lowerBound])
                let digits = s[span].filter(isDigit)
                // Never longer than the number: `**** **** **** 1234` needs 19 characters, fewer get the stars alone.
                if span.count >= 19 {
                    out.append(contentsOf: "**** **** **** ".unicodeScalars)
                } else {
                    out.append(contentsOf: repeatElement(star, count: digits.count - 4))
                }
                out.append(contentsOf: digits.suffix(4))
                copied = span.upperBound
            }
        }
        guard copied > 0 else { return false }
        out.append(contentsOf: s[copied...])
        s = out
        return true
    }

    /// The spans of whole groups that are card numbers: the whole run if it is one, else the longest spans
    /// from left to right.
    /// - Complexity: O(g) for g groups: each start tries at most seven spans (13 to 19 digits) of at most 19 digits.
    private static func cardSpans(_ groups: [Range<Int>], in s: [Unicode.Scalar]) -> [Range<Int>] {
        // The run's digits in one array, and where each group's start in it.
        var digits: [Int] = []
        var offsets: [Int] = []
        for g in groups {
            offsets.append(digits.count)
            for k in g { digits.append(digitValue(s[k])!) }
        }
        offsets.append(digits.count)
        var spans: [Range<Int>] = []
        var first = 0
        while first < groups.count {
            // The last group of the longest span of at most 19 digits, then shorter ones down to 13 digits.
            var end = first
            while end + 1 < groups.count, offsets[end + 2] - offsets[first] <= 19 { end += 1 }
            var found: Int?
            while end >= first, offsets[end + 1] - offsets[first] >= 13 {
                if offsets[end + 1] - offsets[first] <= 19, luhn(digits[offsets[first]..<offsets[end + 1]]) {
                    found = end
                    break
                }
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
    public static func luhn(_ digits: [Int]) -> Bool { luhn(digits[...]) }

    static func luhn(_ digits: ArraySlice<Int>) -> Bool {
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
        let index = keywordIndex
        var changed = false
        var i = 0
        while i < lower.count {
            // Only where a word can start: anywhere in Chinese, after a non-letter elsewhere.
            guard let slot = index.slot(lower[i]), mayStartKeyword(lower[i], after: i == 0 ? nil : lower[i - 1]) else {
                i += 1
                continue
            }
            var found: [Unicode.Scalar]?
            for keyword in index.keywords(slot) where isKeyword(keyword, lower, at: i) {
                found = keyword
                break
            }
            guard let keyword = found else {
                i += 1
                continue
            }
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
