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
    public let rule: String
    /// The interaction comment (``InteractionComment``), joined when read.
    public var comment: String { interactionComment.text }
    /// The comment as evaluation keeps it: its parts, written into the output without being joined.
    package let interactionComment: InteractionComment
    /// The next instant a schedule could change this decision; nil when none can.
    public let validUntil: Instant?
    /// `validUntil`'s offset in the table's zone, so it prints as local time.
    public let validUntilOffset: Int32
    /// Why: the lines of the trace, in order.
    public var trace: [String] { traceLines.map(\.text) }
    package let traceLines: [TraceLine]
    /// The one text of its own a decision made from an outcome carries besides the comment: a transfer's address,
    /// a first-line or self-service procedure, a denial's reason.
    private let said: String?
    private let made: Made
    /// What was set after deciding (a menu's view, a playbook's, phrases in the caller's language): nil for most.
    private var after: After?

    /// Where the members the table fixes come from. A decision made from an outcome keeps references to what the
    /// table rendered at load, so making, copying and dropping one costs a few reference counts, not the twenty
    /// of its members as values; its target, case, phrases and checks are put together when read.
    private enum Made: Sendable {
        case rendered(DecisionFragments)
        case given(Given)
    }

    /// The members of a decision made whole (decoded, written by a test, a menu's prompt, a playbook step
    /// without an outcome).
    private final class Given: Sendable {
        let target: Transfer?
        let `case`: Case?
        let procedure: String?
        let reason: String?
        let phrases: [String]
        let checks: [String]

        init(target: Transfer?, case: Case?, procedure: String?, reason: String?, phrases: [String], checks: [String]) {
            self.target = target
            self.case = `case`
            self.procedure = procedure
            self.reason = reason
            self.phrases = phrases
            self.checks = checks
        }
    }

    /// Set after deciding; replaced whole, never changed in place, so copies of a decision stay apart.
    private final class After: Sendable {
        let menu: MenuView?
        let playbook: PlaybookView?
        let phrases: [String]?
        /// nil: the decision's own; `.some(nil)`: set to none.
        let procedure: String??

        init(menu: MenuView?, playbook: PlaybookView?, phrases: [String]?, procedure: String??) {
            self.menu = menu
            self.playbook = playbook
            self.phrases = phrases
            self.procedure = procedure
        }
    }

    public var target: Transfer? {
        switch made {
        case .rendered(let f):
            guard case .transfer(let t, let byNumber) = f.head else { return nil }
            return Transfer(id: t.target.id, address: said ?? "", via: byNumber ? .number : .cti, mode: t.target.mode)
        case .given(let g): return g.target
        }
    }

    public var `case`: Case? {
        switch made {
        case .rendered(let f):
            guard case .openCase(let c, _) = f.head else { return nil }
            let category = c.category
            return Case(id: category.id, category: category.category, priority: category.priority,
                        subject: f.outcome.subject ?? category.subject, fields: category.fields)
        case .given(let g): return g.case
        }
    }

    /// The procedure the first line follows (`first_line` only), or what a self-service caller does.
    public internal(set) var procedure: String? {
        get {
            if let replaced = after?.procedure { return replaced }
            switch made {
            case .rendered: return action == .firstLine || action == .selfService ? said : nil
            case .given(let g): return g.procedure
            }
        }
        set { after = After(menu: menu, playbook: playbook, phrases: after?.phrases, procedure: .some(newValue)) }
    }

    /// Why the request is refused (`deny` only).
    public var reason: String? {
        switch made {
        case .rendered: action == .deny ? said : nil
        case .given(let g): g.reason
        }
    }

    /// Said verbatim, in the caller's language when the phrase has a text in it.
    public internal(set) var phrases: [String] {
        get {
            if let localized = after?.phrases { return localized }
            switch made {
            case .rendered(let f): return f.phrases.texts
            case .given(let g): return g.phrases
            }
        }
        set { after = After(menu: menu, playbook: playbook, phrases: newValue, procedure: after?.procedure) }
    }

    public var checks: [String] {
        switch made {
        case .rendered(let f):
            let checks = f.checks
            return checks.first.texts + checks.second.texts
        case .given(let g): return g.checks
        }
    }

    /// Where a menu topic's caller is (menu topics only).
    public internal(set) var menu: MenuView? {
        get { after?.menu }
        set { after = After(menu: newValue, playbook: playbook, phrases: after?.phrases, procedure: after?.procedure) }
    }

    /// The playbook session this decision belongs to (playbook topics only).
    public internal(set) var playbook: PlaybookView? {
        get { after?.playbook }
        set { after = After(menu: menu, playbook: newValue, phrases: after?.phrases, procedure: after?.procedure) }
    }

    /// The topic an event of this decision is published under: `decision.<action>.<target id, case id, or rule
    /// for the other actions>` (PROTOCOL.md, the event feed).
    public var eventTopic: String { String(decoding: eventTopicBytes, as: UTF8.self) }

    /// ``eventTopic``'s UTF-8. A transfer's and a case's were made at load with their target or category, so
    /// the engine publishes them without building a string for each decision.
    package var eventTopicBytes: [UInt8] {
        let subject: String
        switch made {
        case .rendered(let f):
            switch f.head {
            case .transfer(let t, _):
                if action == .transfer { return t.eventTopic }
                subject = t.target.id
            case .openCase(let c, _):
                if action == .openCase { return c.eventTopic }
                subject = c.category.id
            case .bytes:
                if let r = f.rule, r.id == rule, let topic = r.eventTopic(action) { return topic }
                subject = rule
            }
        case .given(let g): subject = g.target?.id ?? g.case?.id ?? rule
        }
        return Decision.eventTopic(action: action, subject: subject)
    }

    /// The one place an event topic is spelled, as UTF-8.
    static func eventTopic(action: Action, subject: String) -> [UInt8] { Array("decision.\(action.rawValue).\(subject)".utf8) }

    /// The parts of its JSON the table fixes, rendered at load, for a decision made from an outcome; nil for one
    /// made otherwise (decoded, written by a test, a menu's prompt, a playbook step without an outcome).
    package var fragments: DecisionFragments? {
        if case .rendered(let f) = made { f } else { nil }
    }

    /// A transfer's address as written between the target's rendered parts: without building the ``Transfer``.
    package var address: String { said ?? target?.address ?? "" }

    /// The phrases as a JSON array rendered at load; nil when they were not (made otherwise, or said in the
    /// caller's language).
    package var renderedPhrases: [UInt8]? {
        guard after?.phrases == nil, case .rendered(let f) = made else { return nil }
        return f.phrases.array
    }

    /// A decision as a subscriber decodes it from an event (``Wire``), or as a test writes it.
    public init(action: Action, target: Transfer?, case: Case?, procedure: String?, reason: String?, rule: String,
                phrases: [String], comment: String, checks: [String], validUntil: Instant?, validUntilOffset: Int32,
                trace: [String], menu: MenuView? = nil, playbook: PlaybookView? = nil) {
        self.init(action: action, target: target, case: `case`, procedure: procedure, reason: reason, rule: rule, phrases: phrases,
                  comment: InteractionComment(text: comment), checks: checks, validUntil: validUntil, validUntilOffset: validUntilOffset,
                  traceLines: trace.map(TraceLine.text), menu: menu, playbook: playbook)
    }

    /// A decision made whole, its trace's fixed lines rendered at load (a menu's prompt, a playbook step without
    /// an outcome).
    package init(action: Action, target: Transfer?, case: Case?, procedure: String?, reason: String?, rule: String,
                 phrases: [String], comment: InteractionComment, checks: [String], validUntil: Instant?, validUntilOffset: Int32,
                 traceLines: [TraceLine], menu: MenuView? = nil, playbook: PlaybookView? = nil) {
        self.init(action: action, made: .given(Given(target: target, case: `case`, procedure: procedure, reason: reason, phrases: phrases, checks: checks)),
                  said: nil, rule: rule, comment: comment, validUntil: validUntil, validUntilOffset: validUntilOffset, traceLines: traceLines)
        if menu != nil || playbook != nil { after = After(menu: menu, playbook: playbook, phrases: nil, procedure: nil) }
    }

    /// A decision made from an outcome: what the table fixes by reference (`fragments`), and `said`, the
    /// transfer's address, the procedure or the reason, by the action.
    package init(action: Action, fragments: DecisionFragments, said: String?, rule: String, comment: InteractionComment,
                 validUntil: Instant?, validUntilOffset: Int32, traceLines: [TraceLine]) {
        self.init(action: action, made: .rendered(fragments), said: said, rule: rule, comment: comment, validUntil: validUntil,
                  validUntilOffset: validUntilOffset, traceLines: traceLines)
    }

    private init(action: Action, made: Made, said: String?, rule: String, comment: InteractionComment, validUntil: Instant?,
                 validUntilOffset: Int32, traceLines: [TraceLine]) {
        self.action = action
        self.made = made
        self.said = said
        self.rule = rule
        self.interactionComment = comment
        self.validUntil = validUntil
        self.validUntilOffset = validUntilOffset
        self.traceLines = traceLines
    }

    /// Two decisions are equal when they say the same, whether or not either was made from a table's outcome.
    public static func == (a: Decision, b: Decision) -> Bool {
        a.action == b.action && a.rule == b.rule && a.comment == b.comment && a.validUntil == b.validUntil
            && a.validUntilOffset == b.validUntilOffset && a.traceLines == b.traceLines && a.target == b.target
            && a.case == b.case && a.procedure == b.procedure && a.reason == b.reason && a.phrases == b.phrases
            && a.checks == b.checks && a.menu == b.menu && a.playbook == b.playbook
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(action)
        hasher.combine(rule)
        hasher.combine(comment)
        hasher.combine(validUntil)
        hasher.combine(validUntilOffset)
        hasher.combine(traceLines)
        hasher.combine(target)
        hasher.combine(self.case)
        hasher.combine(procedure)
        hasher.combine(reason)
        hasher.combine(phrases)
        hasher.combine(checks)
        hasher.combine(menu)
        hasher.combine(playbook)
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
