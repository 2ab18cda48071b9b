import Testing
@testable import Routing

/// The load-time lint: a table may not make an agent ask for the full card number, expiry, CVV or SMS codes.
struct SensitiveAskTests {
    func table(phrase: String = "您好。", procedure: String = "解释年费标准。") -> String {
        """
        table: lint
        time_zone: Asia/Shanghai
        phrases:
          greet: "\(phrase)"
        topics:
          fee:
            rules:
              - {id: fee.explain, first_line: "\(procedure)", phrases: [greet]}
        """
    }

    func errors(_ text: String) -> [String] {
        do {
            _ = try TableLoader.load(yaml: text, file: "lint.yaml")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test(arguments: ["请提供您的安全码。", "请告诉我卡片的有效期。", "Please tell me the CVV on the back.", "Dígame el código SMS, por favor.",
                      "Назовите код из СМС.", "Informe o código de segurança do cartão."])
    func aPhraseAskingForCardDataIsRejected(_ phrase: String) {
        // The phrase is refused where it is written (the rule naming it then reports it unknown, too).
        let found = errors(table(phrase: phrase))
        #expect(found.contains { $0.hasPrefix("lint.yaml:4:") && $0.contains("phrase 'greet' asks the caller for card or code data") })
    }

    @Test(arguments: ["银行客服在任何情况下都不会索要您的完整卡号、有效期、安全码或短信验证码。", "We will never ask you to tell me your CVV.",
                      "Nunca le pediremos que nos diga el código SMS.", "请提供您的姓名。"])
    func sayingWhatIsNeverAskedIsAllowed(_ phrase: String) {
        #expect(errors(table(phrase: phrase)).isEmpty)
    }

    @Test func aProcedureAskingForTheFullCardNumberIsRejected() {
        let found = errors(table(procedure: "请客户提供完整卡号，然后冻结。"))
        #expect(found.count == 1)
        #expect(found.first?.contains("the procedure of rule 'fee.explain' asks the caller") == true)
    }

    @Test func chineseNotesAreMasked() {
        #expect(SensitiveData.mask("客户报了安全码 123，短信验证码是654321，有效期12/28") == "客户报了安全码 ***，短信验证码是******，有效期**/**")
        #expect(SensitiveData.mask("卡号4111 1111 1111 1111已冻结") == "卡号**** **** **** 1111已冻结")
        #expect(SensitiveData.mask("尾号1234的卡已冻结") == "尾号1234的卡已冻结")
    }
}
