import Testing
@testable import Routing
@testable import TableLanguage
import TestSupport

/// The load-time lint: a table may not make an agent ask for the full card number, expiry, CVV or SMS codes.
@Suite(.timeLimit(.minutes(5)))
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
                      "Назовите код из СМС.", "Informe o código de segurança do cartão.",
                      // Issue 14: a question without a request verb, an unrelated 不要 taken as negation, the CVV
                      // described rather than named, an SMS code to be sent.
                      "您卡片背面的安全码是多少？", "请不要挂机，并提供您的安全码。", "请不要挂机并提供卡片背面的安全码。", "请念一下卡片背面的后三位数字。",
                      "请把短信验证码发给我。", "Please don't hang up and tell me the security code."])
    func aPhraseAskingForCardDataIsRejected(_ phrase: String) {
        // The phrase is refused where it is written (the rule naming it then reports it unknown, too).
        let found = errors(table(phrase: phrase))
        #expect(found.contains { $0.hasPrefix("lint.yaml:4:") && $0.contains("phrase 'greet' asks the caller for card or code data") })
    }

    @Test(arguments: ["银行客服在任何情况下都不会索要您的完整卡号、有效期、安全码或短信验证码。", "We will never ask you to tell me your CVV.",
                      "Nunca le pediremos que nos diga el código SMS.", "请提供您的姓名。", "请提供卡号末四位。",
                      "请提供您的姓名，我们不会索要安全码。", "请勿把短信验证码告诉任何人，包括自称银行工作人员的人。"])
    func sayingWhatIsNeverAskedIsAllowed(_ phrase: String) {
        #expect(errors(table(phrase: phrase)).isEmpty)
    }

    @Test func aProcedureAskingForTheFullCardNumberIsRejected() {
        let found = errors(table(procedure: "请客户提供完整卡号，然后冻结。"))
        #expect(found.count == 1)
        #expect(found.first?.contains("the text at topics.fee.rules[fee.explain].first_line asks the caller") == true)
    }

    /// Every text an agent reads or says is linted, not only phrases, procedures and instructions.
    @Test(arguments: [
        (#"first_line: "解释。", checks: ["请客户提供卡片背面的CVV码"]"#, "topics.fee.rules[fee.explain].checks[0]"),
        (#"deny: "请报一下安全码，否则不能办理。""#, "topics.fee.rules[fee.explain].deny"),
        (#"first_line: "解释。", comment: "请客户提供有效期""#, "topics.fee.rules[fee.explain].comment"),
    ])
    func everyTextOfARuleIsLinted(_ rule: String, _ path: String) {
        let found = errors("""
        table: lint
        time_zone: Asia/Shanghai
        topics:
          fee:
            rules:
              - {id: fee.explain, \(rule)}
        """)
        #expect(found.count == 1, "\(found)")
        #expect(found.contains { $0.contains("the text at \(path) asks the caller") }, "\(found)")
    }

    @Test func caseFieldsAndSubjectsAreLinted() {
        let found = errors("""
        table: lint
        time_zone: Asia/Shanghai
        cases:
          fraud:
            category: "风险管理"
            subject: "请客户说出短信验证码"
            fields: ["来电号码", "请客户提供完整卡号"]
        topics:
          fee:
            rules:
              - {id: fee.case, case: fraud}
        """)
        #expect(found.count == 2, "\(found)")
        #expect(found.contains { $0.contains("cases.fraud.subject") })
        #expect(found.contains { $0.contains("cases.fraud.fields[1]") })
    }

    @Test func aBadPhraseIsReportedOnceAndNotAsUnknownWhereItIsUsed() {
        let found = errors(table(phrase: "请提供您的安全码。"))
        #expect(found.count == 1, "\(found)")
    }

    @Test func aLocalizedPhraseIsLintedInEveryLanguage() {
        let found = errors("""
        table: lint
        time_zone: Europe/Madrid
        phrases:
          hello: {es: "Buenos días.", en: "Please tell me the CVV."}
        topics:
          fee:
            rules:
              - {id: fee.explain, first_line: "Saludar.", phrases: [hello]}
        """)
        #expect(found.count == 1)
        #expect(found.first?.contains("phrase 'hello'") == true)
    }

    @Test func chineseNotesAreMasked() {
        #expect(SensitiveData.mask("客户报了安全码 123，短信验证码是654321，有效期12/28") == "客户报了安全码 ***，短信验证码是******，有效期**/**")
        #expect(SensitiveData.mask("卡号4111 1111 1111 1111已冻结") == "卡号**** **** **** 1111已冻结")
        #expect(SensitiveData.mask("尾号1234的卡已冻结") == "尾号1234的卡已冻结")
    }
}
