import Testing
@testable import Routing
import TestSupport

@Suite(.timeLimit(.minutes(5)))
struct SensitiveDataTests {
    @Test(arguments: [
        ("карта 4111 1111 1111 1111, списание", "карта **** **** **** 1111, списание"),
        ("4111111111111111", "************1111"),  // unspaced: never longer than the number
        ("card 5500-0000-0000-0004 declined", "card **** **** **** 0004 declined"),
        ("Amex 378282246310005.", "Amex ***********0005."),
        ("19 digits 6011000990139424123 x", "19 digits 6011000990139424123 x"),  // not Luhn-valid: left alone
        ("visa 4012888888881881 and 4222222222222", "visa ************1881 and *********2222"),
    ])
    func luhnValidCardNumbersAreMasked(text: String, masked: String) {
        #expect(SensitiveData.mask(text) == masked)
    }

    @Test(arguments: [
        "4111 1111 1111 1112",        // Luhn fails
        "номер телефона 89161234567",  // 11 digits: too short for a card
        "заказ 123456789012",          // 12 digits
        "41111111111111111111",        // 20 digits: too long
        "ИНН 7707083893",
    ])
    func otherDigitRunsAreLeftAlone(text: String) {
        #expect(SensitiveData.mask(text) == text)
    }

    @Test(arguments: [
        ("клиент назвал CVV 123", "клиент назвал CVV ***"),
        ("cvc2: 4567", "cvc2: ****"),
        ("код из SMS: 4821", "код из SMS: ****"),
        ("SMS-код 482190 продиктовал", "SMS-код ****** продиктовал"),
        ("смс код 1234", "смс код ****"),
        ("паспорт 45 08 123456, выдан", "паспорт ** ** ******, выдан"),
        ("паспорт серия 4508 номер 123456", "паспорт серия **** номер ******"),
        ("серия и номер 4508 123456", "серия и номер **** ******"),
        ("código SMS es 998877", "código SMS es ******"),
        ("DNI 12345678Z", "DNI ********Z"),
        ("验证码 654321", "验证码 ******"),
        ("OTP is 1234", "OTP is ****"),
    ])
    func codesAfterKeywordsAreMasked(text: String, masked: String) {
        #expect(SensitiveData.mask(text) == masked)
    }

    /// The secret formats of issue 13 (finding 6) that used to pass through, and those that never did.
    @Test(arguments: [
        // Card numbers, every way they were seen separated
        ("карта 4111.1111.1111.1111.", "карта **** **** **** 1111."),
        ("card 4111/1111/1111/1111", "card **** **** **** 1111"),
        ("tarjeta 4111  1111  1111  1111 ok", "tarjeta **** **** **** 1111 ok"),
        ("cartão 4111\u{A0}1111\u{A0}1111\u{A0}1111", "cartão **** **** **** 1111"),
        ("4111\u{202F}1111\u{2009}1111\u{3000}1111", "**** **** **** 1111"),
        ("карта 4111 1111\n1111 1111, всё", "карта **** **** **** 1111, всё"),
        ("4111\r\n1111\r\n1111\r\n1111", "**** **** **** 1111"),
        ("卡号４１１１ １１１１ １１１１ １１１１。", "卡号**** **** **** １１１１。"),
        ("卡号３７８２８２２４６３１０００５", "卡号***********０００５"),
        ("amex 3782 822463 10005", "amex ***********0005"),
        ("4111 1111 1111 1111 exp 12/28", "**** **** **** 1111 exp 12/28"),
        // CVV
        ("CVV947", "CVV***"),
        ("CVV码562", "CVV码***"),
        ("客户说CVV 739，已核实", "客户说CVV ***，已核实"),
        ("ＣＶＶ 321", "ＣＶＶ ***"),
        // SMS, verification and one-time codes in five languages
        ("sms code 5521", "sms code ****"),
        ("SMS code: 5521", "SMS code: ****"),
        ("one-time code: 884422", "one-time code: ******"),
        ("one\u{2011}time code 884422", "one\u{2011}time code ******"),
        ("verification code is 123456", "verification code is ******"),
        ("código de verificação 654321", "código de verificação ******"),
        ("Código de verificación: 654321", "Código de verificación: ******"),
        ("动态码 731904", "动态码 ******"),
        ("短信验证码为604918", "短信验证码为******"),
        ("安全码为739", "安全码为***"),
        ("验证码：６０４９１８", "验证码：******"),
        ("一次性验证码是 2468", "一次性验证码是 ****"),
        // Passports
        ("护照E73920461", "护照E********"),
        ("passport AB1234567", "passport AB*******"),
        ("паспорт РФ 4508 123456", "паспорт РФ **** ******"),
    ])
    func secretFormatsOfIssue13AreMasked(text: String, masked: String) {
        #expect(SensitiveData.mask(text) == masked)
    }

    @Test(arguments: [
        "尾号1234的卡",                      // the last four digits only
        "тел. 8 916 123-45-67, заказ 123456789",
        "4111 1111 1111 1112",              // Luhn fails however separated
        "4111.1111.1111.1112",
        "дата 22.11.2026, время 14:30",
        "version 1.2.3.4",
        "cvv2 не спрашивали",
        "pinky 12345",
        "CVV2",
        "order 2026/11/22 #777",
    ])
    func otherNumbersStayWhateverTheSeparator(text: String) {
        #expect(SensitiveData.mask(text) == text)
    }

    @Test func wordsThatMerelyContainAKeywordAreNotKeywords() {
        #expect(SensitiveData.mask("tokenize 1234") == "tokenize 1234")
        #expect(SensitiveData.mask("модель телефона Xiaomi 12, браузер Chrome") == "модель телефона Xiaomi 12, браузер Chrome")
    }

    @Test func luhn() {
        #expect(SensitiveData.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]))
        #expect(!SensitiveData.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]))
    }
}

extension SensitiveDataTests {
    /// Masking skips text whose UTF-8 shows no digit can be in it; every scalar that is a digit must show.
    @Test func everyDigitScalarIsSeenInTheBytes() {
        var digits = 0
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value), SensitiveData.digitValue(scalar) != nil else { continue }
            digits += 1
            #expect(SensitiveData.mayHoldDigit("ab" + String(Character(scalar)) + "cd"), "U+\(String(value, radix: 16))")
        }
        #expect(digits > 600)  // ASCII and the decimal digits of the other scripts
        #expect(!SensitiveData.mayHoldDigit("модель телефона Xiaomi, ФИОПД"))
    }
}
