/// A playbook: ordered steps an agent works through over one or more calls, advanced by the outcomes the
/// agent reports. Its state lives in a ``Session``, kept by whoever evaluates (the engine keeps it on disk).
package struct Playbook: Sendable {
    /// What names the session: a fact (`facts.alert_id`) or the call id.
    package let session: Operand
    package let sessionPath: String
    package let merge: Merge?
    package let start: Int
    package let steps: [PlaybookStep]
    package let stepIndex: [String: Int]
    /// Positions in the topic's facts of the outcome reported and the step it is reported for.
    package let outcomeFact: Int
    package let stepFact: Int

    /// The facts every playbook topic has without declaring them: what a call reports, not what the session keeps.
    package static let providedFacts = ["outcome", "step"]

    /// New sessions with the same key as a recent one are handled as that one (`merge:`).
    package struct Merge: Sendable {
        package let by: [(operand: Operand, path: String)]
        /// A new session merges into one opened less than this many seconds before it.
        package let withinSeconds: Int64
        /// The step a merged session is put in (a terminal step saying it is a duplicate).
        package let step: Int

        package init(by: [(operand: Operand, path: String)], withinSeconds: Int64, step: Int) {
            self.by = by
            self.withinSeconds = withinSeconds
            self.step = step
        }
    }

    package init(session: Operand, sessionPath: String, merge: Merge?, start: Int, steps: [PlaybookStep], stepIndex: [String: Int], outcomeFact: Int, stepFact: Int) {
        self.session = session
        self.sessionPath = sessionPath
        self.merge = merge
        self.start = start
        self.steps = steps
        self.stepIndex = stepIndex
        self.outcomeFact = outcomeFact
        self.stepFact = stepFact
    }
}

package struct PlaybookStep: Sendable {
    package let id: String
    package let name: String
    package let instructions: [Instruction]
    package let phrases: [String]
    package let checks: [String]
    package let comment: Template?
    /// A routing outcome this step also decides (a transfer, a case); nil for a plain step.
    package let outcome: Outcome?
    /// How many times the step may be entered; the next entry goes to `whenExhausted` instead.
    package let limit: Int?
    package let whenExhausted: Int?
    /// Reported outcome → next step, in written order.
    package let next: [(outcome: String, step: Int)]
    package let mark: SourceMark

    var isTerminal: Bool { next.isEmpty }

    package struct Instruction: Sendable {
        package let condition: Condition
        package let text: Template

        package init(condition: Condition, text: Template) {
            self.condition = condition
            self.text = text
        }
    }

    package init(id: String, name: String, instructions: [Instruction], phrases: [String], checks: [String], comment: Template?, outcome: Outcome?, limit: Int?, whenExhausted: Int?, next: [(outcome: String, step: Int)], mark: SourceMark) {
        self.id = id
        self.name = name
        self.instructions = instructions
        self.phrases = phrases
        self.checks = checks
        self.comment = comment
        self.outcome = outcome
        self.limit = limit
        self.whenExhausted = whenExhausted
        self.next = next
        self.mark = mark
    }
}
