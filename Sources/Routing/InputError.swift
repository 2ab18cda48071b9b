/// The contract's error object: what was wrong with a call or request, and where.
///
/// `code` is one of the contract's codes; `field` names the offending field as a dotted path
/// (`facts.insists`, `customer.region`) when there is one; `message` says what was expected.
public struct InputError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: Code
    public let message: String
    public let field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String {
        field.map { "\(code.rawValue) (\($0)): \(message)" } ?? "\(code.rawValue): \(message)"
    }

    /// An error code of the contract; extensible without breaking callers that switch on strings.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let badJSON = Code(rawValue: "bad_json")
        public static let unknownField = Code(rawValue: "unknown_field")
        public static let unknownTopic = Code(rawValue: "unknown_topic")
        public static let missingFact = Code(rawValue: "missing_fact")
        public static let badType = Code(rawValue: "bad_type")
        public static let unknownTable = Code(rawValue: "unknown_table")
        public static let badTime = Code(rawValue: "bad_time")
        /// A required field of the call or envelope (not a topic fact) is absent.
        public static let missingField = Code(rawValue: "missing_field")
        /// The request was larger than the server accepts.
        public static let tooLarge = Code(rawValue: "too_large")
    }
}

extension InputError {
    static func badType(_ field: String, expected: String, got value: Value) -> InputError {
        InputError(.badType, "\(field) must be \(expected), got \(value.kindDescription).", field: field)
    }

    static func unknownField(_ field: String, allowed: [String]) -> InputError {
        InputError(.unknownField, "\(field) is not a known field; expected one of: \(allowed.joined(separator: ", ")).",
                   field: field)
    }

    static func missingFact(_ field: String, because reason: String) -> InputError {
        InputError(.missingFact, "\(field) is required \(reason) but the call does not give it.", field: field)
    }
}

extension InputError.Code {
    /// An outcome was reported for a playbook session that was never started.
    public static let unknownSession = InputError.Code(rawValue: "unknown_session")
    /// An outcome was reported for a playbook session that has finished.
    public static let sessionClosed = InputError.Code(rawValue: "session_closed")
    /// The outcome was reported for a step the session is no longer at (a repeated or late report).
    public static let staleStep = InputError.Code(rawValue: "stale_step")
    /// The outcome is not one the session's current step takes.
    public static let badOutcome = InputError.Code(rawValue: "bad_outcome")
}
