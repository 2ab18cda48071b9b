import Foundation
import Testing
@testable import Routing
@testable import TableLanguage
import TestSupport

@Suite(.timeLimit(.minutes(5)))
struct ScenarioSuiteTests {
    @Test func bundledScenariosAllPass() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("routing-tables/retention-ru.scenarios.yaml"), encoding: .utf8)
        let suite = try ScenarioSuite.load(yaml: text, file: "retention-ru.scenarios.yaml")
        #expect(suite.scenarios.count >= 100)
        let failures = suite.run(against: retention)
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test func everyTopicHasScenarios() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("routing-tables/retention-ru.scenarios.yaml"), encoding: .utf8)
        let suite = try ScenarioSuite.load(yaml: text, file: "retention-ru.scenarios.yaml")
        let covered = Set(suite.scenarios.compactMap { $0.call["topic"].map(\.text) })
        #expect(Set(retention.topicCodes).subtracting(covered).isEmpty)
        // Every rule of every topic decides at least one scenario.
        let decided = Set(suite.scenarios.compactMap { s -> String? in
            guard let call = try? Call(value: s.call) else { return nil }
            return try? retention.evaluate(call, at: s.at, operations: Operations(ctiIncident: s.ctiIncident)).rule
        })
        let rules = Set(retention.topics.flatMap(\.ruleIDs)).union(["language.english"])
        #expect(rules.subtracting(decided).isEmpty, "rules without a scenario: \(rules.subtracting(decided).sorted())")
    }

    @Test func aDifferenceIsReportedPerExpectation() throws {
        let suite = try ScenarioSuite.load(yaml: """
        table: retention-ru
        defaults: {at: "2026-11-23T12:00:00+03:00"}
        scenarios:
          - name: wrong on purpose
            call: {call_id: x, topic: termination, facts: {insists: true}}
            expect: {action: case, target: vip-south, valid_until: "2026-11-23T23:51:00+03:00", phrases: [english_hold]}
          - name: expects an error but gets a decision
            call: {call_id: x, topic: sim_block}
            expect: {error: missing_fact}
          - name: right
            call: {call_id: x, topic: sim_block}
            expect: {action: first_line}
        """, file: "s.yaml")
        let failures = suite.run(against: retention)
        #expect(failures.map(\.scenario) == ["wrong on purpose", "expects an error but gets a decision"])
        #expect(failures[0].differences.count == 4)
        #expect(failures[0].description.hasPrefix("s.yaml:4:5: scenario 'wrong on purpose': action: expected \"case\", got \"transfer\""))
        #expect(failures[1].differences == ["error: expected \"missing_fact\", but the call was decided: first_line by rule sim_block.first_line"])
    }

    @Test func malformedScenarioFilesAreReportedWithPositions() {
        #expect {
            _ = try ScenarioSuite.load(yaml: "table: x\nscenarios:\n  - {name: a, call: {}, expect: {actoin: transfer}, at: \"2026-01-01T00:00:00Z\"}\n", file: "s.yaml")
        } throws: { error in
            (error as? TableErrors)?.errors.first?.description.hasPrefix("s.yaml:3:34: error: unknown expectation 'actoin'") == true
        }
    }
}
