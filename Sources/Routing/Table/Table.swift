/// A routing table compiled for evaluation: immutable, `Sendable`, indexed by topic code.
///
/// Build one with ``TableLoader``; evaluate calls with ``Table/evaluate(_:at:operations:)``.
public struct Table: Sendable {
    /// The table's name, as calls and the engine refer to it (`retention-ru`).
    public let name: String
    public let description: String?
    /// A hash of the table's source text: two tables with the same version decide alike.
    public let version: String
    public let zone: ZoneRules
    public let parameters: [String: Value]
    public let targets: [Target]
    public let cases: [CaseCategory]
    public let schedules: [Schedule]
    public let customerFields: [FieldSpec]
    /// Positions in `customerFields` by name.
    let customerIndex: [String: Int]
    let topicIndex: [String: Int]
    public let topics: [Topic]
    /// Rules every topic tries before its own (`global_rules`).
    let globalRules: [Rule]
    let redirects: [Redirect]
    let commentFormat: CommentFormat
    /// Named phrases, verbatim, by id (a localized phrase: its first language's text).
    public let phrases: [String: String]
    /// A localized text's first language's text → its text per language: phrases (`phrases: {id: {es: …, en: …}}`),
    /// self-service texts and what they ask for.
    let translations: [String: [String: String]]
    /// What static analysis found at load (only warnings and notes, unless loaded leniently).
    public let coverage: CoverageReport

    /// - Complexity: O(1).
    public func topic(named code: String) -> Topic? {
        topicIndex[code].map { topics[$0] }
    }

    public var topicCodes: [String] { topics.map(\.code) }

    /// A phrase's text as said to a caller speaking `language`: its translation when it has one.
    /// - Complexity: O(1).
    public func phrase(_ id: String, language: String?) -> String? {
        phrases[id].map { localized($0, language: language) }
    }

    /// Every text phrase `id` may be said in; nil for an unknown id.
    func phraseVariants(_ id: String) -> Set<String>? {
        phrases[id].map { Set([$0] + (translations[$0]?.values.map { $0 } ?? [])) }
    }

    /// `text` (as compiled: a localized text's first language) in `language`, when it has a text in it.
    func localized(_ text: String, language: String?) -> String {
        guard let language, let translations = translations[text] else { return text }
        return translations[language] ?? text
    }
}

/// A place a call can be transferred to.
public struct Target: Sendable {
    public let id: String
    public let name: String
    /// The CTI route (or number) used while CTI works; nil when each rule supplies it (an operator's number).
    public let address: String?
    /// The number dialled while a CTI mass incident is declared; defaults to `address`.
    public let number: String?
    /// Per `customer.region` addresses that replace `address`.
    public let regionAddresses: [String: String]
    public let schedule: Int?
    public let mode: TransferMode
    public let phrases: [String]
    public let checks: [String]
}

public enum TransferMode: String, Sendable {
    /// Transfer without waiting for the specialist.
    case blind
    /// Wait for the specialist to answer and explain the issue.
    case warm
}

/// A back-office case category.
public struct CaseCategory: Sendable {
    public let id: String
    /// The category string, verbatim as the operator's CRM has it.
    public let category: String
    public let priority: Priority
    public let subject: String?
    public let fields: [String]
    public let phrases: [String]

    public enum Priority: String, Sendable {
        case normal, urgent
    }
}

/// The declared type of a fact or customer field.
public enum FieldType: Sendable, Hashable, CustomStringConvertible {
    case bool
    case integer
    case number
    case string
    case enumeration([String])

    public var description: String {
        switch self {
        case .bool: "bool"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .enumeration(let values): "one of \(values.joined(separator: ", "))"
        }
    }

    /// What a value of this type looks like, for error messages.
    var expectation: String {
        switch self {
        case .bool: "true or false"
        case .integer: "a whole number"
        case .number: "a number"
        case .string: "a string"
        case .enumeration(let values): "one of \(values.map { "\"\($0)\"" }.joined(separator: ", "))"
        }
    }

    func accepts(_ value: Value) -> Bool {
        switch (self, value) {
        case (.bool, .bool), (.number, .number), (.string, .string): true
        case (.integer, .number(let n)): n == n.rounded() && abs(n) < 1e15
        case (.enumeration(let values), .string(let s)): values.contains(s)
        default: false
        }
    }
}

/// A typed field: a topic's fact or a customer attribute.
public struct FieldSpec: Sendable {
    public let name: String
    public let type: FieldType
    /// Used when the call does not give the field (customer fields only; facts have no defaults).
    public let defaultValue: Value?
    public let description: String?
    /// How an enumerated value reads in a comment or phrase (`callback` → `клиент просит перезвонить`).
    public let labels: [String: String]
}

/// A call reason with its facts and ordered rules.
public struct Topic: Sendable {
    public let code: String
    public let name: String
    public let facts: [FieldSpec]
    let factIndex: [String: Int]
    /// The comment used when a rule gives none.
    let comment: Template?
    let rules: [Rule]
    /// An IVR menu instead of rules.
    let menu: Menu?
    /// A playbook instead of rules.
    let playbook: Playbook?
    /// `topic=<code>`, the trace's first line.
    let traceLine: String
    public var ruleIDs: [String] { rules.map(\.id) }

    /// What decides the topic: `rules`, `menu` or `playbook`.
    public var kind: String { menu != nil ? "menu" : playbook != nil ? "playbook" : "rules" }
}

/// A rule: when its condition holds, its outcome decides.
struct Rule: Sendable {
    let id: String
    let condition: Condition
    let outcome: Outcome
    let mark: SourceMark
    /// `rule <id>`, the trace's line for it.
    let traceLine: String

    init(id: String, condition: Condition, outcome: Outcome, mark: SourceMark) {
        self.id = id
        self.condition = condition
        self.outcome = outcome
        self.mark = mark
        self.traceLine = "rule \(id)"
    }
}

/// What a rule decides, and where to go instead when its target is closed.
struct Outcome: Sendable {
    enum Kind: Sendable {
        case transfer(Int)
        case openCase(Int)
        case firstLine(Template)
        case deny(Template)
        /// The caller completes it alone (an IVR leaf), asked for `asks`.
        case selfService(Template, asks: [String])
    }

    let kind: Kind
    /// Replace the target's or case's phrases; nil keeps them.
    let phrases: [String]?
    let checks: [String]
    let comment: Template?
    /// Case subject replacing the category's.
    let subject: String?
    /// Transfer address replacing the target's (an operator's number from the call).
    let address: Template?
    /// Tried in order when the transfer target is closed.
    let whenClosed: [Outcome]
}

/// Send transfers meant for one target to another when a condition holds (a VIP's regional line).
struct Redirect: Sendable {
    let id: String
    let from: Int
    let to: Int
    let condition: Condition
}

/// How the interaction comment is put together from the rule's comment, identification and notes.
struct CommentFormat: Sendable {
    /// Rendered when the call gives `identification`: `идент. {identification}`.
    let identification: Template
    /// Between the parts; dropped to a single space after a part that already ends a sentence.
    let separator: String
}

/// Where in a source file something was written; 1-based.
public struct SourceMark: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

extension Table: CustomDebugStringConvertible {
    public var debugDescription: String { "Table(\(name), version \(version), \(topics.count) topics, \(zone.identifier))" }
}
