/// Finds script text that asks the caller for data an agent must never ask for: the full card number,
/// the expiry date, the CVV/security code, or an SMS/one-time code (seed 002: "信用卡客服员工任何情况下
/// 绝对不会索要完整卡号、有效期、安全验证码，还有短信验证码").
///
/// A sentence is flagged when it holds both a request (`请提供`, `tell me`, `dígame`, `назовите`, `informe` …)
/// and one of those data (`安全码`, `CVV`, `número de tarjeta completo`, `код из СМС` …), unless it is
/// negated (`不会`, `never`, `nunca`, `никогда`, `não`): "we will never ask for your CVV" is allowed, and
/// is what such a table should say. The lists are in ``requests``, ``data`` and ``negations``.
public enum SensitiveAsk {
    static let requests: [String] = [
        "提供", "请告诉", "请告知", "请报", "请说", "输入", "请念", "说出", "念出", "告诉我", "报一下", "索要", "核对一下您的", "请问您的",
        "tell me", "give me", "provide", "read out", "read me", "what is your", "confirm your", "can i have", "please enter",
        "dígame", "digame", "indíqueme", "indiqueme", "facilíteme", "faciliteme", "proporcione", "deme", "dime", "cuál es su", "cual es su", "confírmeme",
        "назовите", "продиктуйте", "сообщите", "скажите", "подтвердите", "введите",
        "informe", "me passe", "me diga", "digite", "forneça", "forneca", "qual é o", "qual o", "confirme o",
    ]
    static let data: [String] = [
        "完整卡号", "完整的卡号", "卡号全号", "有效期", "安全码", "安全验证码", "cvv", "cvc", "验证码", "短信码",
        "full card number", "whole card number", "card number in full", "expiry", "expiration", "security code", "sms code", "one-time code", "otp",
        "número de tarjeta completo", "numero de tarjeta completo", "número completo de la tarjeta", "fecha de caducidad", "caducidad",
        "código de seguridad", "codigo de seguridad", "código sms", "codigo sms", "clave sms",
        "полный номер карты", "номер карты полностью", "срок действия", "код безопасности", "код из смс", "код из sms", "смс-код", "sms-код",
        "número completo do cartão", "numero completo do cartao", "validade do cartão", "código de segurança", "codigo de seguranca",
    ]
    static let negations: [String] = ["不会", "绝不", "绝对不", "不要", "切勿", "从不", "never", "do not", "don't", "nunca", "jamás", "jamas", "no le",
                                      "никогда", "не просим", "не сообщайте", "não", "nao"]

    /// The first sentence of `text` that asks for such data, or nil.
    public static func find(in text: String) -> String? {
        for sentence in sentences(text) {
            let lower = sentence.lowercased()
            guard requests.contains(where: lower.contains), data.contains(where: lower.contains) else { continue }
            if negations.contains(where: lower.contains) { continue }
            return String(sentence).trimmingWhitespace
        }
        return nil
    }

    private static func sentences(_ text: String) -> [Substring] {
        text.split(whereSeparator: { ".!?。！？；;\n".contains($0) })
    }
}
