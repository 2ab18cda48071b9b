/// Finds script text that asks the caller for data an agent must never ask for: the full card number,
/// the expiry date, the CVV/security code, or an SMS/one-time code (seed 002: "信用卡客服员工任何情况下
/// 绝对不会索要完整卡号、有效期、安全验证码，还有短信验证码").
///
/// A sentence is flagged when it holds a request (`请提供`, `发给我`, `念一下`, `是多少`, `tell me`, `dígame`,
/// `назовите`, `informe` …) and one of those data (`安全码`, `卡片背面…后三位`, `CVV`, `número de tarjeta completo`,
/// `код из СМС` …), unless the request is negated **within its own clause** (`不会`, `never`, `nunca`,
/// `никогда`, `não` before it, with no comma or `并`/`然后`/`and` between): "we will never ask for your CVV"
/// is allowed, and is what such a table should say, but in "请不要挂机，并提供安全码" the 不要 belongs to
/// hanging up. A datum negated in its own clause ("我们不会索要安全码") does not count either.
/// The lists are in ``requests``, ``data``, ``negations`` and ``clauseBreaks``.
public enum SensitiveAsk {
    static let requests: [String] = [
        "提供", "请告诉", "请告知", "请报", "请说", "输入", "请念", "念一下", "念给我", "读一下", "读给我", "说出", "念出", "告诉我", "报一下",
        "报给我", "发给我", "发送给我", "发我", "给我", "索要", "核对一下您的", "请问您的", "是多少", "是什么", "多少号",
        "tell me", "tell us", "give me", "give us", "provide", "read out", "read me", "what is your", "what's your", "what is the", "confirm your",
        "can i have", "please enter", "send me", "send us",
        "dígame", "digame", "díganos", "diganos", "indíqueme", "indiqueme", "facilíteme", "faciliteme", "proporcione", "deme", "dime",
        "cuál es su", "cual es su", "cuál es el", "cual es el", "confírmeme", "confirmeme", "léame", "leame", "envíeme", "envieme",
        "назовите", "продиктуйте", "сообщите", "скажите", "подтвердите", "введите", "какой у вас", "пришлите",
        "informe", "me passe", "me diga", "digite", "forneça", "forneca", "qual é o", "qual o", "confirme o", "me envie", "leia",
    ]
    package static let data: [String] = [
        "完整卡号", "完整的卡号", "卡号全号", "全部卡号", "有效期", "安全码", "安全验证码", "cvv", "cvc", "cvn", "验证码", "短信码", "动态码", "动态密码",
        "背面的三位", "背面三位", "后三位", "末三位",
        "full card number", "whole card number", "card number in full", "long card number", "expiry", "expiration", "security code",
        "sms code", "one-time code", "one time code", "verification code", "otp",
        "número de tarjeta completo", "numero de tarjeta completo", "número completo de la tarjeta", "numero completo de la tarjeta",
        "fecha de caducidad", "caducidad", "código de seguridad", "codigo de seguridad", "código sms", "codigo sms", "clave sms",
        "código que le ha llegado por sms", "codigo que le ha llegado por sms", "tres dígitos del reverso", "tres digitos del reverso",
        "полный номер карты", "номер карты полностью", "срок действия", "код безопасности", "код из смс", "код из sms", "смс-код", "sms-код",
        "cvv-код", "три цифры на обороте",
        "número completo do cartão", "numero completo do cartao", "validade do cartão", "validade do cartao", "código de segurança",
        "codigo de seguranca", "código sms", "código recebido por sms", "codigo recebido por sms",
    ]
    static let negations: [String] = ["不会", "绝不", "绝对不", "不要", "切勿", "从不", "不得", "请勿", "never", "do not", "don't", "will not", "won't",
                                      "nunca", "jamás", "jamas", "no le", "no nos", "no debe", "никогда", "не просим", "не сообщайте", "не называйте",
                                      "não", "nao"]
    /// What ends a clause inside a sentence: a negation before it does not reach past it.
    static let clauseBreaks: [String] = ["，", ",", "、并", "并且", "并", "然后", " and ", " then ", " y ", " e ", " и ", " а ", " затем "]

    /// The first sentence of `text` that asks for such data, or nil.
    public static func find(in text: String) -> String? {
        for sentence in sentences(text) {
            let lower = sentence.lowercased()
            guard data.contains(where: lower.contains), requests.contains(where: lower.contains) else { continue }
            if asks(lower) { return String(sentence).trimmingWhitespace }
        }
        return nil
    }

    /// Whether some request of the sentence, not negated in its clause, goes with a datum not negated in its
    /// clause that follows it or shares its clause ("您卡片背面的安全码是多少" names the datum first).
    private static func asks(_ sentence: String) -> Bool {
        let requestsAt = occurrences(of: requests, in: sentence).filter { !negated(at: $0.lowerBound, in: sentence) }
        let dataAt = occurrences(of: data, in: sentence).filter { !negated(at: $0.lowerBound, in: sentence) }
        for r in requestsAt {
            let clause = clauseStart(before: r.lowerBound, in: sentence)
            if dataAt.contains(where: { $0.lowerBound >= r.lowerBound || $0.lowerBound >= clause }) { return true }
        }
        return false
    }

    private static func occurrences(of words: [String], in text: String) -> [Range<String.Index>] {
        var out: [Range<String.Index>] = []
        for word in words {
            var from = text.startIndex
            while from < text.endIndex, let r = text.range(of: word, range: from..<text.endIndex) {
                out.append(r)
                from = r.upperBound
            }
        }
        return out
    }

    /// Where the clause holding `index` starts: after the last clause break before it.
    private static func clauseStart(before index: String.Index, in text: String) -> String.Index {
        var start = text.startIndex
        for word in clauseBreaks {
            var from = text.startIndex
            while from < index, let r = text.range(of: word, range: from..<index) {
                if r.upperBound > start { start = r.upperBound }
                from = r.upperBound
            }
        }
        return start
    }

    /// A negation between the start of the clause and `index`.
    private static func negated(at index: String.Index, in text: String) -> Bool {
        let clause = text[clauseStart(before: index, in: text)..<index]
        return negations.contains(where: clause.contains)
    }

    private static func sentences(_ text: String) -> [Substring] {
        text.split(whereSeparator: { ".!?。！？；;\n".contains($0) })
    }
}
