/// What changes between two versions of a table, call by call: `switchboard diff`.
public struct TableDiff: Sendable {
    /// The parts of a decision that matter to a caller and an agent.
    public struct Outcome: Sendable, Hashable {
        public let action: String?
        public let target: String?
        public let caseID: String?
        public let via: String?
        public let mode: String?
        public let phrases: [String]
        /// The error code when the call was refused.
        public let error: String?
        public let rule: String?

        init(_ result: Result<Decision, InputError>) {
            switch result {
            case .success(let d):
                action = d.action.rawValue
                target = d.target?.id
                caseID = d.case?.id
                via = d.target?.via.rawValue
                mode = d.target?.mode.rawValue
                phrases = d.phrases
                error = nil
                rule = d.rule
            case .failure(let e):
                action = nil
                target = nil
                caseID = nil
                via = nil
                mode = nil
                phrases = []
                error = e.code.rawValue
                rule = nil
            }
        }

        /// `transfer retention (cti, blind)`, `case bo-retention-transfer`, `error missing_fact`.
        public var summary: String {
            if let error { return "error \(error)" }
            switch action {
            case "transfer": return "transfer \(target ?? "?") (\(via ?? "?"), \(mode ?? "?"))"
            case "case": return "case \(caseID ?? "?")"
            default: return action ?? "?"
            }
        }

        /// The names of the fields that differ: action, target, case, via, mode, phrases, error.
        func changes(to other: Outcome) -> [String] {
            var fields: [String] = []
            if action != other.action { fields.append("action") }
            if target != other.target { fields.append("target") }
            if caseID != other.caseID { fields.append("case") }
            if via != other.via { fields.append("via") }
            if mode != other.mode { fields.append("mode") }
            if phrases != other.phrases { fields.append("phrases") }
            if error != other.error { fields.append("error") }
            return fields
        }
    }

    /// One call whose decision changed.
    public struct Change: Sendable {
        public let call: Call
        public let at: Instant
        public let before: Outcome
        public let after: Outcome
    }

    /// Changes that share a topic, the rules that decided before and after, and the fields that changed.
    public struct Group: Sendable {
        public let topic: String
        public let ruleBefore: String
        public let ruleAfter: String
        public let fields: [String]
        public internal(set) var count: Int
        public internal(set) var examples: [Change]
    }

    public private(set) var evaluated = 0
    public private(set) var changed = 0
    public private(set) var groups: [Group] = []
    private var groupIndex: [String: Int] = [:]
    let examplesPerGroup: Int
    public let old: Table
    public let new: Table

    public init(old: Table, new: Table, examplesPerGroup: Int = 3) {
        self.old = old
        self.new = new
        self.examplesPerGroup = examplesPerGroup
    }

    /// Decides `call` at `at` with both versions and records the change, if any.
    public mutating func compare(_ call: Call, at: Instant, operations: Operations = Operations()) {
        evaluated += 1
        let before = Outcome(Result { () throws(InputError) in try old.evaluate(call, at: at, operations: operations) })
        let after = Outcome(Result { () throws(InputError) in try new.evaluate(call, at: at, operations: operations) })
        let fields = before.changes(to: after)
        guard !fields.isEmpty else { return }
        changed += 1
        let ruleBefore = before.rule ?? "error \(before.error ?? "")"
        let ruleAfter = after.rule ?? "error \(after.error ?? "")"
        let key = "\(call.topic)\u{1}\(ruleBefore)\u{1}\(ruleAfter)\u{1}\(fields.joined(separator: ","))"
        if let i = groupIndex[key] {
            groups[i].count += 1
            if groups[i].examples.count < examplesPerGroup { groups[i].examples.append(Change(call: call, at: at, before: before, after: after)) }
        } else {
            groupIndex[key] = groups.count
            groups.append(Group(topic: call.topic, ruleBefore: ruleBefore, ruleAfter: ruleAfter, fields: fields, count: 1,
                                examples: [Change(call: call, at: at, before: before, after: after)]))
        }
    }
}

/// Changes that are meant to happen, from an `--expect` file:
///
/// ```yaml
/// - topic: termination                 # each key is optional; all given must match
///   rule_before: termination.insists
///   rule_after: termination.insists
///   fields: [action, case, target]     # the change may touch only these
/// ```
public struct ExpectedChanges: Sendable {
    struct Entry: Sendable {
        let topic: String?
        let ruleBefore: String?
        let ruleAfter: String?
        let fields: Set<String>?
    }

    let entries: [Entry]

    public init(yaml text: String, file: String) throws(TableErrors) {
        let value = try YAMLDocument.value(yaml: text, file: file)
        guard case .array(let items) = value else {
            throw TableErrors([TableError(SourceMark(file: file, line: 1, column: 1), "an expect file is a list of {topic, rule_before, rule_after, fields}.")])
        }
        var entries: [Entry] = []
        for item in items {
            guard case .object(let members) = item,
                  members.allSatisfy({ ["topic", "rule_before", "rule_after", "fields"].contains($0.key) }) else {
                throw TableErrors([TableError(SourceMark(file: file, line: 1, column: 1), "each expected change has only topic, rule_before, rule_after and fields.")])
            }
            var fields: Set<String>?
            if case .array(let list)? = item["fields"] { fields = Set(list.map(\.text)) }
            entries.append(Entry(topic: item["topic"]?.text, ruleBefore: item["rule_before"]?.text, ruleAfter: item["rule_after"]?.text, fields: fields))
        }
        self.entries = entries
    }

    /// Whether a group of changes is one of those meant.
    public func expects(_ group: TableDiff.Group) -> Bool {
        entries.contains { e in
            (e.topic == nil || e.topic == group.topic) && (e.ruleBefore == nil || e.ruleBefore == group.ruleBefore)
                && (e.ruleAfter == nil || e.ruleAfter == group.ruleAfter) && (e.fields == nil || Set(group.fields).isSubset(of: e.fields!))
        }
    }
}
