/// A routing table compiled for evaluation: immutable, `Sendable`, indexed by topic code.
///
/// Build one with ``TableLoader``; evaluate calls with ``Table/evaluate(_:at:operations:)``.
public final class Table: Sendable {
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
    package let customerIndex: [String: Int]
    /// `customerFields`' names, in order: what evaluation and Wire's reader compare a call's field names with.
    package let customerKeys: KeyNames
    package var customerFieldNames: [String] { customerKeys.names }
    /// `customerFields`' defaults, in order, `.null` where a field has none: where evaluation starts.
    package let customerDefaults: [Value]
    /// Where `region` is among the customer fields (the field that picks a target's regional address), found once.
    package let regionField: Int?
    package let topicIndex: [String: Int]
    public let topics: [Topic]
    /// Rules every topic tries before its own (`global_rules`).
    package let globalRules: [Rule]
    package let redirects: [Redirect]
    package let commentFormat: CommentFormat
    /// Named phrases, verbatim, by id (a localized phrase: its first language's text).
    public let phrases: [String: String]
    /// A localized text's first language's text → its text per language: phrases (`phrases: {id: {es: …, en: …}}`),
    /// self-service texts and what they ask for.
    package let translations: [String: [String: String]]
    /// What static analysis found at load (only warnings and notes, unless loaded leniently).
    public let coverage: CoverageReport
    /// Each target's trace line for its schedule's usual words, open and closed (`open (no schedule)` for a
    /// target without one), rendered at load; by target.
    package let scheduleLines: [(open: RenderedText, closed: RenderedText)]
    /// `redirect <id>: <from> → <to>`, by redirect.
    package let redirectLines: [RenderedText]
    static let ctiIncidentLine = RenderedText("CTI mass incident declared: transfer by number")
    /// Each target's and case category's parts of a decision, rendered at load (``DecisionFragments``).
    package let renderedTargets: [RenderedTarget]
    package let renderedCases: [RenderedCase]

    /// - Complexity: O(1).
    public func topic(named code: String) -> Topic? {
        topicNumber(code).map { topics[$0] }
    }

    /// The topics' codes, in the order of `topics`.
    public let topicCodes: [String]

    /// Tables with up to this many topics find a call's topic by comparing codes, more through `topicIndex`.
    static let topicsCompared = 32

    /// Where topic `code` is in `topics`. Among a few topics, codes of the call's code's length are compared
    /// (``Swift/Array/index(ofName:)``): hashing the code for the dictionary cost about 1,300 instructions, a
    /// twelfth of evaluating a call.
    package func topicNumber(_ code: String) -> Int? {
        topics.count <= Table.topicsCompared ? topicCodes.index(ofName: code) : topicIndex[code]
    }

    /// A phrase's text as said to a caller speaking `language`: its translation when it has one.
    /// - Complexity: O(1).
    public func phrase(_ id: String, language: String?) -> String? {
        phrases[id].map { localized($0, language: language) }
    }

    /// Every text phrase `id` may be said in; nil for an unknown id.
    package func phraseVariants(_ id: String) -> Set<String>? {
        phrases[id].map { Set([$0] + (translations[$0]?.values.map { $0 } ?? [])) }
    }

    /// `text` (as compiled: a localized text's first language) in `language`, when it has a text in it.
    package func localized(_ text: String, language: String?) -> String {
        guard let language, let translations = translations[text] else { return text }
        return translations[language] ?? text
    }

    package init(name: String, description: String?, version: String, zone: ZoneRules, parameters: [String: Value], targets: [Target], cases: [CaseCategory], schedules: [Schedule], customerFields: [FieldSpec], customerIndex: [String: Int], topicIndex: [String: Int], topics: [Topic], globalRules: [Rule], redirects: [Redirect], commentFormat: CommentFormat, phrases: [String: String], translations: [String: [String: String]], coverage: CoverageReport) {
        self.name = name
        self.description = description
        self.version = version
        self.zone = zone
        self.parameters = parameters
        self.targets = targets
        self.cases = cases
        self.schedules = schedules
        self.customerFields = customerFields
        self.customerIndex = customerIndex
        self.customerKeys = KeyNames(customerFields.map(\.name))
        self.customerDefaults = customerFields.map { $0.defaultValue ?? .null }
        self.regionField = customerIndex["region"]
        self.topicIndex = topicIndex
        self.topics = topics
        self.topicCodes = topics.map(\.code)
        self.globalRules = globalRules
        self.redirects = redirects
        self.commentFormat = commentFormat
        self.phrases = phrases
        self.translations = translations
        self.coverage = coverage
        self.scheduleLines = targets.map { target in
            guard let s = target.schedule else {
                let line = RenderedText("\(target.id) open (no schedule)")
                return (line, line)
            }
            return (RenderedText("\(target.id) \(schedules[s].openWords)"), RenderedText("\(target.id) \(schedules[s].closedWords)"))
        }
        self.renderedTargets = targets.map(RenderedTarget.init)
        self.renderedCases = cases.map(RenderedCase.init)
        self.redirectLines = redirects.map { RenderedText("redirect \($0.id): \(targets[$0.from].id) → \(targets[$0.to].id)") }
    }

    /// The trace's line for a target's schedule state: rendered at load for its usual words.
    func scheduleLine(target: Int, _ state: Schedule.State) -> TraceLine {
        guard state.isUsual else { return .text("\(targets[target].id) \(state.explanation)") }
        return .rendered(state.isOpen ? scheduleLines[target].open : scheduleLines[target].closed)
    }
}

/// A place a call can be transferred to.
public final class Target: Sendable {
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

    package init(id: String, name: String, address: String?, number: String?, regionAddresses: [String: String], schedule: Int?, mode: TransferMode, phrases: [String], checks: [String]) {
        self.id = id
        self.name = name
        self.address = address
        self.number = number
        self.regionAddresses = regionAddresses
        self.schedule = schedule
        self.mode = mode
        self.phrases = phrases
        self.checks = checks
    }
}

public enum TransferMode: String, Sendable {
    /// Transfer without waiting for the specialist.
    case blind
    /// Wait for the specialist to answer and explain the issue.
    case warm
}

/// A back-office case category.
public final class CaseCategory: Sendable {
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

    package init(id: String, category: String, priority: Priority, subject: String?, fields: [String], phrases: [String]) {
        self.id = id
        self.category = category
        self.priority = priority
        self.subject = subject
        self.fields = fields
        self.phrases = phrases
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
    package var expectation: String {
        switch self {
        case .bool: "true or false"
        case .integer: "a whole number"
        case .number: "a number"
        case .string: "a string"
        case .enumeration(let values): "one of \(values.map { "\"\($0)\"" }.joined(separator: ", "))"
        }
    }

    package func accepts(_ value: Value) -> Bool {
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

    package init(name: String, type: FieldType, defaultValue: Value?, description: String?, labels: [String: String]) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.description = description
        self.labels = labels
    }
}

/// A call reason with its facts and ordered rules.
public final class Topic: Sendable {
    public let code: String
    public let name: String
    public let facts: [FieldSpec]
    package let factIndex: [String: Int]
    /// `facts`' names, in order: what evaluation and Wire's reader compare a call's fact names with.
    package let factKeys: KeyNames
    package var factNames: [String] { factKeys.names }
    /// A slot per fact, each `.null`: where evaluation starts from (shared, copied only when a fact is given).
    package let noFacts: [Value]
    /// The comment used when a rule gives none.
    package let comment: Template?
    package let rules: [Rule]
    /// An IVR menu instead of rules.
    package let menu: Menu?
    /// A playbook instead of rules.
    package let playbook: Playbook?
    /// `topic=<code>`, the trace's first line.
    package let traceLine: RenderedText
    public var ruleIDs: [String] { rules.map(\.id) }

    /// What decides the topic: `rules`, `menu` or `playbook`.
    public var kind: String { menu != nil ? "menu" : playbook != nil ? "playbook" : "rules" }

    package init(code: String, name: String, facts: [FieldSpec], factIndex: [String: Int], comment: Template?, rules: [Rule], menu: Menu?, playbook: Playbook?, traceLine: String) {
        self.code = code
        self.name = name
        self.facts = facts
        self.factIndex = factIndex
        self.factKeys = KeyNames(facts.map(\.name))
        self.noFacts = Array(repeating: .null, count: facts.count)
        self.comment = comment
        self.rules = rules
        self.menu = menu
        self.playbook = playbook
        // `topic=…`: no comparison reads a path `topic`, so its line never says this.
        self.traceLine = RenderedText(traceLine, mayRepeatAComparison: !traceLine.hasPrefix("topic="))
    }
}

/// A rule: when its condition holds, its outcome decides.
package final class Rule: Sendable {
    package let id: String
    package let condition: Condition
    package let outcome: Outcome
    package let mark: SourceMark
    /// `rule <id>`, the trace's line for it.
    package let traceLine: RenderedText
    /// The id as a JSON string and in event topics, for the decisions it makes.
    package let rendered: RenderedRule

    package init(id: String, condition: Condition, outcome: Outcome, mark: SourceMark) {
        self.id = id
        self.condition = condition
        self.outcome = outcome
        self.mark = mark
        self.traceLine = RenderedText("rule \(id)")
        self.rendered = RenderedRule(id: id)
    }
}

/// What a rule decides, and where to go instead when its target is closed.
package final class Outcome: Sendable {
    package enum Kind: Sendable {
        case transfer(Int)
        case openCase(Int)
        case firstLine(Template)
        case deny(Template)
        /// The caller completes it alone (an IVR leaf), asked for `asks`.
        case selfService(Template, asks: [String])
    }

    package let kind: Kind
    /// Replace the target's or case's phrases; nil keeps them.
    package let phrases: [String]?
    package let checks: [String]
    package let comment: Template?
    /// Case subject replacing the category's.
    package let subject: String?
    /// Transfer address replacing the target's (an operator's number from the call).
    package let address: Template?
    /// Tried in order when the transfer target is closed.
    package let whenClosed: [Outcome]
    /// `phrases` and `checks` rendered at load (``DecisionFragments``).
    package let rendered: RenderedOutcome

    package convenience init(kind: Kind, phrases: [String]?, checks: [String], comment: Template?, subject: String?, address: Template?, whenClosed: [Outcome]) {
        self.init(kind: kind, phrases: phrases, checks: checks, comment: comment, subject: subject, address: address,
                  whenClosed: whenClosed, rendered: RenderedOutcome(phrases: phrases, checks: checks))
    }

    private init(kind: Kind, phrases: [String]?, checks: [String], comment: Template?, subject: String?, address: Template?,
                 whenClosed: [Outcome], rendered: RenderedOutcome) {
        self.kind = kind
        self.phrases = phrases
        self.checks = checks
        self.comment = comment
        self.subject = subject
        self.address = address
        self.whenClosed = whenClosed
        self.rendered = rendered
    }

    /// The same outcome sent to another target (a redirect), its rendered parts kept.
    func retargeted(to target: Int) -> Outcome {
        Outcome(kind: .transfer(target), phrases: phrases, checks: checks, comment: comment, subject: subject, address: address,
                whenClosed: whenClosed, rendered: rendered)
    }
}

/// Send transfers meant for one target to another when a condition holds (a VIP's regional line).
package struct Redirect: Sendable {
    package let id: String
    package let from: Int
    package let to: Int
    package let condition: Condition

    package init(id: String, from: Int, to: Int, condition: Condition) {
        self.id = id
        self.from = from
        self.to = to
        self.condition = condition
    }
}

/// How the interaction comment is put together from the rule's comment, identification and notes
/// (``InteractionComment``).
package final class CommentFormat: Sendable {
    /// Rendered when the call gives `identification`: `идент. {identification}`.
    package let identification: Template
    /// Between the parts; dropped to a single space after a part that already ends a sentence.
    package let separator: String
    /// The identification template's texts before and after the call's identification, when that is all it
    /// reads (`идент. {identification}`): a decision then keeps the call's identification, not a text made from
    /// it. nil when the template reads anything else, or reads it twice.
    let aroundIdentification: (before: String, after: String)?
    /// `separator` and the texts around the identification escaped for a JSON string, once, at load.
    let separatorJSON: [UInt8]
    let beforeIdentificationJSON: [UInt8]
    let afterIdentificationJSON: [UInt8]

    package init(identification: Template, separator: String) {
        self.identification = identification
        self.separator = separator
        aroundIdentification = CommentFormat.around(identification)
        separatorJSON = JSONString.escaped(separator)
        beforeIdentificationJSON = JSONString.escaped(aroundIdentification?.before ?? "")
        afterIdentificationJSON = JSONString.escaped(aroundIdentification?.after ?? "")
    }

    private static func around(_ template: Template) -> (before: String, after: String)? {
        var before = "", after = "", seen = false
        for segment in template.segments {
            switch segment {
            case .literal(let s): if seen { after += s } else { before += s }
            case .operand(.identification, _) where !seen: seen = true
            case .operand: return nil
            }
        }
        return seen ? (before, after) : nil
    }
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
