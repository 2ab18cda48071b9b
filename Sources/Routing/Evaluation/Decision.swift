/// What the agent (or the CTI panel) must do with a call, and why: the contract's decision.
public struct Decision: Sendable, Hashable {
    public enum Action: String, Sendable {
        case transfer
        case openCase = "case"
        case firstLine = "first_line"
        case deny
    }

    public struct Transfer: Sendable, Hashable {
        public let id: String
        public let address: String
        public let via: Via
        public let mode: TransferMode
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
    }

    public let action: Action
    public let target: Transfer?
    public let `case`: Case?
    /// The procedure the first line follows (`first_line` only).
    public let procedure: String?
    /// Why the request is refused (`deny` only).
    public let reason: String?
    public let rule: String
    public let phrases: [String]
    public let comment: String
    public let checks: [String]
    /// The next instant a schedule could change this decision; nil when none can.
    public let validUntil: Instant?
    /// `validUntil`'s offset in the table's zone, so it prints as local time.
    public let validUntilOffset: Int32
    public let trace: [String]
}

/// The engine's operational state that decisions depend on, apart from the table and the call.
public struct Operations: Sendable, Hashable {
    /// A mass incident affecting CTI is declared: transfers go by number.
    public var ctiIncident: Bool

    public init(ctiIncident: Bool = false) {
        self.ctiIncident = ctiIncident
    }
}
