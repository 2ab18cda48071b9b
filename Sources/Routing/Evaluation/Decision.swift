/// What the agent (or the CTI panel) must do with a call, and why: the contract's decision.
public struct Decision: Sendable, Hashable {
    public enum Action: String, Sendable {
        case transfer
        case openCase = "case"
        case firstLine = "first_line"
        case deny
        /// A menu node waits for a key (`menu` says the prompt and the options).
        case prompt
        /// A menu leaf the caller completes alone, with what they will be asked for (`menu.asks`).
        case selfService = "self_service"
        /// A playbook step for the agent (`playbook` says what to do and which outcomes to report).
        case step
    }

    public struct Transfer: Sendable, Hashable {
        public let id: String
        public let address: String
        public let via: Via
        public let mode: TransferMode

        public init(id: String, address: String, via: Via, mode: TransferMode) {
            self.id = id
            self.address = address
            self.via = via
            self.mode = mode
        }
    }

    public enum Via: String, Sendable {
        case cti
        /// While a mass incident affecting CTI is declared.
        case number
    }

    public struct Case: Sendable, Hashable {
        public let id: String
        public let category: String
        public let priority: CaseCategory.Priority
        public let subject: String?
        public let fields: [String]

        public init(id: String, category: String, priority: CaseCategory.Priority, subject: String?, fields: [String]) {
            self.id = id
            self.category = category
            self.priority = priority
            self.subject = subject
            self.fields = fields
        }
    }

    public let action: Action
    public let target: Transfer?
    public let `case`: Case?
    /// The procedure the first line follows (`first_line` only), or what a self-service caller does.
    public internal(set) var procedure: String?
    /// Why the request is refused (`deny` only).
    public let reason: String?
    public let rule: String
    /// Said verbatim, in the caller's language when the phrase has a text in it.
    public internal(set) var phrases: [String] {
        didSet { fragments?.phrasesLocalized = true }  // the rendered ones are the table's texts
    }
    public let comment: String
    public let checks: [String]
    /// The next instant a schedule could change this decision; nil when none can.
    public let validUntil: Instant?
    /// `validUntil`'s offset in the table's zone, so it prints as local time.
    public let validUntilOffset: Int32
    /// Why: the lines of the trace, in order.
    public var trace: [String] { traceLines.map(\.text) }
    package let traceLines: [TraceLine]
    /// Where a menu topic's caller is (menu topics only).
    public internal(set) var menu: MenuView? = nil
    /// The playbook session this decision belongs to (playbook topics only).
    public internal(set) var playbook: PlaybookView? = nil
    /// The parts of its JSON the table fixes, rendered at load, for a decision made from an outcome; nil for one
    /// made otherwise (decoded, written by a test, a menu's prompt, a playbook step without an outcome).
    package internal(set) var fragments: DecisionFragments? {
        get { rendered.fragments }
        set { rendered.fragments = newValue }
    }
    private var rendered = Rendered()

    /// Derived from the members above, so two decisions that say the same are equal whether or not either
    /// was rendered.
    private struct Rendered: Sendable, Hashable {
        var fragments: DecisionFragments?
        static func == (_: Rendered, _: Rendered) -> Bool { true }
        func hash(into hasher: inout Hasher) {}
    }

    /// A decision as a subscriber decodes it from an event (``Wire``), or as a test writes it.
    public init(action: Action, target: Transfer?, case: Case?, procedure: String?, reason: String?, rule: String,
                phrases: [String], comment: String, checks: [String], validUntil: Instant?, validUntilOffset: Int32,
                trace: [String], menu: MenuView? = nil, playbook: PlaybookView? = nil) {
        self.init(action: action, target: target, case: `case`, procedure: procedure, reason: reason, rule: rule, phrases: phrases,
                  comment: comment, checks: checks, validUntil: validUntil, validUntilOffset: validUntilOffset,
                  traceLines: trace.map(TraceLine.text), menu: menu, playbook: playbook)
    }

    /// A decision as evaluation makes it, its trace's fixed lines rendered at load.
    package init(action: Action, target: Transfer?, case: Case?, procedure: String?, reason: String?, rule: String,
                 phrases: [String], comment: String, checks: [String], validUntil: Instant?, validUntilOffset: Int32,
                 traceLines: [TraceLine], menu: MenuView? = nil, playbook: PlaybookView? = nil) {
        self.action = action
        self.target = target
        self.case = `case`
        self.procedure = procedure
        self.reason = reason
        self.rule = rule
        self.phrases = phrases
        self.comment = comment
        self.checks = checks
        self.validUntil = validUntil
        self.validUntilOffset = validUntilOffset
        self.traceLines = traceLines
        self.menu = menu
        self.playbook = playbook
    }

    /// A menu node as the IVR plays it.
    public struct MenuView: Sendable, Hashable {
        public let node: String
        public let language: String
        /// What to play: the node's prompt, after the invalid-key prompt when the last key was not an option.
        public let prompt: String?
        public let options: [Option]
        /// Keys pressed at this node that were not options; the node's fallback decides once they exceed its retries.
        public let invalid: Int
        public let retries: Int
        /// What a self-service leaf asks the caller for.
        public internal(set) var asks: [String]

        public struct Option: Sendable, Hashable {
            public let key: String
            public let label: String

            public init(key: String, label: String) {
                self.key = key
                self.label = label
            }
        }

        public init(node: String, language: String, prompt: String?, options: [Option], invalid: Int, retries: Int, asks: [String]) {
            self.node = node
            self.language = language
            self.prompt = prompt
            self.options = options
            self.invalid = invalid
            self.retries = retries
            self.asks = asks
        }
    }

    /// A playbook session after this decision.
    public struct PlaybookView: Sendable, Hashable {
        public let session: String
        public let step: String
        public let name: String
        /// The step's instructions, in order, those whose conditions hold.
        public let instructions: [String]
        /// The outcomes the agent may report next; empty when the session is done.
        public let outcomes: [String]
        /// How many times this step has been entered (the contact attempt, for a contact step).
        public let attempt: Int
        public let limit: Int?
        public let done: Bool
        /// The session this one was merged into (a duplicate alert), if any.
        public let mergedInto: String?

        public init(session: String, step: String, name: String, instructions: [String], outcomes: [String], attempt: Int,
                    limit: Int?, done: Bool, mergedInto: String?) {
            self.session = session
            self.step = step
            self.name = name
            self.instructions = instructions
            self.outcomes = outcomes
            self.attempt = attempt
            self.limit = limit
            self.done = done
            self.mergedInto = mergedInto
        }
    }
}

/// The engine's operational state that decisions depend on, apart from the table and the call.
public struct Operations: Sendable, Hashable {
    /// A mass incident affecting CTI is declared: transfers go by number.
    public var ctiIncident: Bool

    public init(ctiIncident: Bool = false) {
        self.ctiIncident = ctiIncident
    }
}
