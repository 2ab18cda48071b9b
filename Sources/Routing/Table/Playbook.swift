/// A playbook: ordered steps an agent works through over one or more calls, advanced by the outcomes the
/// agent reports. Its state lives in a ``Session``, kept by whoever evaluates (the engine keeps it on disk).
struct Playbook: Sendable {
    /// What names the session: a fact (`facts.alert_id`) or the call id.
    let session: Operand
    let sessionPath: String
    let merge: Merge?
    let start: Int
    let steps: [PlaybookStep]
    let stepIndex: [String: Int]
    /// Positions in the topic's facts of the outcome reported and the step it is reported for.
    let outcomeFact: Int
    let stepFact: Int

    /// The facts every playbook topic has without declaring them: what a call reports, not what the session keeps.
    static let providedFacts = ["outcome", "step"]

    /// New sessions with the same key as a recent one are handled as that one (`merge:`).
    struct Merge: Sendable {
        let by: [(operand: Operand, path: String)]
        /// A new session merges into one opened less than this many seconds before it.
        let withinSeconds: Int64
        /// The step a merged session is put in (a terminal step saying it is a duplicate).
        let step: Int
    }
}

struct PlaybookStep: Sendable {
    let id: String
    let name: String
    let instructions: [Instruction]
    let phrases: [String]
    let checks: [String]
    let comment: Template?
    /// A routing outcome this step also decides (a transfer, a case); nil for a plain step.
    let outcome: Outcome?
    /// How many times the step may be entered; the next entry goes to `whenExhausted` instead.
    let limit: Int?
    let whenExhausted: Int?
    /// Reported outcome → next step, in written order.
    let next: [(outcome: String, step: Int)]
    let mark: SourceMark

    var isTerminal: Bool { next.isEmpty }

    struct Instruction: Sendable {
        let condition: Condition
        let text: Template
    }
}
