import Testing
@testable import Routing
import TableLanguage
import TestSupport

/// What every decision of the bundled tables gives the agent, over every scenario of their files (issue 14:
/// a case opened with an empty comment and no subject, an agent left with nothing to say or do).
@Suite(.timeLimit(.minutes(5)))
struct BundledTablesTests {
    static let names = ["br-broadband", "cn-card-service", "es-bank-directory", "es-fraud-alerts", "es-ivr-unblock"]

    /// Every decision the scenarios reach, in order, with one set of sessions as `switchboard check` runs them.
    func decisions(_ name: String) throws -> [(String, Decision)] {
        let table = try TableLoader.load(yaml: try bundledTableText(name), file: "\(name).yaml")
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("routing-tables/\(name).scenarios.yaml"), encoding: .utf8)
        let suite = try ScenarioSuite.load(yaml: text, file: "\(name).scenarios.yaml")
        var sessions = SessionBook()
        var out: [(String, Decision)] = []
        for s in suite.scenarios {
            guard let call = try? Call(value: s.call),
                  let d = try? table.evaluate(call, at: s.at, operations: Operations(ctiIncident: s.ctiIncident), sessions: &sessions) else { continue }
            out.append((s.name, d))
        }
        return out
    }

    /// A menu's prompts and a playbook's intermediate steps record nothing; every outcome does.
    @Test(arguments: names)
    func everyOutcomeLeavesAComment(_ name: String) throws {
        for (scenario, d) in try decisions(name) where d.action != .prompt && (d.action != .step || d.playbook?.done == true) {
            #expect(!d.comment.isEmpty, "\(name): '\(scenario)' (\(d.rule)) leaves an empty comment")
        }
    }

    /// The contract fixes retention-ru's subjects (some are null); the other tables give every case one.
    @Test(arguments: names)
    func everyCaseHasASubject(_ name: String) throws {
        for (scenario, d) in try decisions(name) where d.action == .openCase {
            #expect(d.case?.subject?.isEmpty == false, "\(name): '\(scenario)' (\(d.rule)) opens a case without a subject")
        }
    }

    /// An event's topic names the action and the target, the case's category or the rule, whether the table
    /// rendered it at load (a transfer's, a case's) or it is made for the decision.
    @Test(arguments: names + ["retention-ru"])
    func everyEventTopicNamesWhatWasDecided(_ name: String) throws {
        let decisions = try decisions(name)
        #expect(!decisions.isEmpty)
        for (scenario, d) in decisions {
            let expected = "decision.\(d.action.rawValue).\(d.target?.id ?? d.case?.id ?? d.rule)"
            #expect(d.eventTopic == expected, "\(name): '\(scenario)'")
            #expect(d.eventTopicBytes == Array(expected.utf8), "\(name): '\(scenario)'")
        }
    }

    /// An agent on the line is told something to say or do: a phrase, a procedure, checks or instructions.
    @Test(arguments: names)
    func theAgentOnTheLineHasSomethingToSayOrDo(_ name: String) throws {
        for (scenario, d) in try decisions(name) where d.action == .openCase || d.action == .firstLine || d.action == .deny {
            let guided = !d.phrases.isEmpty || d.procedure != nil || d.reason != nil || !d.checks.isEmpty
                || !(d.playbook?.instructions.isEmpty ?? true)
            #expect(guided, "\(name): '\(scenario)' (\(d.rule)) gives the agent nothing to say or do")
        }
    }
}
