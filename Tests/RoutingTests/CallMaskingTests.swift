import Foundation
import Testing
@testable import Routing
import TableLanguage
import TestSupport

@Suite(.timeLimit(.minutes(5)))
struct CallMaskingTests {
    @Test func everyFreeTextFieldIsMaskedAndNothingElse() {
        let call = Call(
            callID: "c-4111111111111111", topic: "termination", language: "ru", identification: "паспорт 4508 123456",
            customer: ["region": .string("moscow"), "card": .string("4111 1111 1111 1111"), "balance": .number(4111111111111111)],
            facts: ["insists": .bool(true), "said": .string("CVV947"),
                    "nested": .array([.string("код из SMS 4821"), .object([.init("4111111111111111", .string("安全码为739"))])])],
            notes: "карта 4111.1111.1111.1111")
        let masked = call.masked()
        #expect(masked.notes == "карта **** **** **** 1111")
        #expect(masked.identification == "паспорт **** ******")
        #expect(masked.customer == ["region": .string("moscow"), "card": .string("**** **** **** 1111"), "balance": .number(4111111111111111)])
        #expect(masked.facts == ["insists": .bool(true), "said": .string("CVV***"),
                                 "nested": .array([.string("код из SMS ****"), .object([.init("4111111111111111", .string("安全码为***"))])])])
        // Names are not free text.
        #expect(masked.callID == call.callID && masked.topic == call.topic && masked.language == call.language)
        #expect(masked.masked() == masked)
    }

    /// The reader keeps a value as given unless masking changes it: nil exactly when ``Value/masked()`` is the value.
    @Test func aValueIsReplacedOnlyWhenMaskingChangesIt() {
        let values: [Value] = [
            .null, .bool(true), .number(4111111111111111), .string("moscow"), .string("модель Xiaomi 12"), .string("CVV 947"),
            .string("4111 1111 1111 1111"), .array([.string("a"), .string("b 1")]), .array([.string("pin 1234")]),
            .object([.init("4111111111111111", .string("x"))]), .object([.init("k", .string("код из смс 4821"))]),
        ]
        for value in values {
            let masked = value.masked()
            #expect(value.maskedIfChanged() == (masked == value ? nil : masked), "\(value)")
        }
        #expect(Value.string("CVV 947").maskedIfChanged() == .string("CVV ***"))
    }

    /// A masked fact still compares with the table's values: no bundled table holds a string masking would change,
    /// so a fact equal to one of them is never altered.
    @Test func noBundledTableHoldsAStringThatMaskingChanges() throws {
        let folder = repositoryRoot.appendingPathComponent("routing-tables")
        let tables = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") && !$0.contains(".scenarios.") && !$0.contains(".mix.") }
        #expect(tables.count >= 6)
        for name in tables {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            var changed: [String] = []
            func walk(_ v: Value) {
                switch v {
                case .string(let s): if SensitiveData.mask(s) != s { changed.append(s) }
                case .array(let items): items.forEach(walk)
                case .object(let members): members.forEach { walk(.string($0.key)); walk($0.value) }
                default: break
                }
            }
            walk(try YAMLDocument.value(yaml: text, file: name))
            #expect(changed.isEmpty, "\(name): \(changed)")
        }
    }
}
