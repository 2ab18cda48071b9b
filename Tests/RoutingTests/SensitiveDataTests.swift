import Testing
@testable import Routing

struct SensitiveDataTests {
    @Test(arguments: [
        ("карта 4111 1111 1111 1111, списание", "карта **** **** **** 1111, списание"),
        ("4111111111111111", "**** **** **** 1111"),
        ("card 5500-0000-0000-0004 declined", "card **** **** **** 0004 declined"),
        ("Amex 378282246310005.", "Amex **** **** **** 0005."),
        ("19 digits 6011000990139424123 x", "19 digits 6011000990139424123 x"),  // not Luhn-valid: left alone
        ("visa 4012888888881881 and 4222222222222", "visa **** **** **** 1881 and **** **** **** 2222"),
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

    @Test func wordsThatMerelyContainAKeywordAreNotKeywords() {
        #expect(SensitiveData.mask("tokenize 1234") == "tokenize 1234")
        #expect(SensitiveData.mask("модель телефона Xiaomi 12, браузер Chrome") == "модель телефона Xiaomi 12, браузер Chrome")
    }

    @Test func luhn() {
        #expect(SensitiveData.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]))
        #expect(!SensitiveData.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]))
    }
}
