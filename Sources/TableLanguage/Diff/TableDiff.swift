import Routing
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
        /// Whether these changes are among those meant (``ExpectedChanges``); nil when no expectations were given.
        /// A kind of change expected only at some hours is two groups: those calls, and the others.
        public let expected: Bool?
        public internal(set) var count: Int
        public internal(set) var examples: [Change]
    }

    public private(set) var evaluated = 0
    public private(set) var changed = 0
    public private(set) var groups: [Group] = []
    private var groupIndex: [[String]: Int] = [:]
    let examplesPerGroup: Int
    let expectations: ExpectedChanges?
    public let old: Table
    public let new: Table

    /// - Parameter examplesPerGroup: example calls kept per group (0 keeps none).
    public init(old: Table, new: Table, examplesPerGroup: Int = 3, expecting expectations: ExpectedChanges? = nil) {
        self.old = old
        self.new = new
        self.examplesPerGroup = max(0, examplesPerGroup)
        self.expectations = expectations
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
        let expected = expectations?.expects(topic: call.topic, ruleBefore: ruleBefore, ruleAfter: ruleAfter, fields: fields, at: at, zone: new.zone)
        let key = [call.topic, ruleBefore, ruleAfter, fields.joined(separator: ","), expected.map { "\($0)" } ?? ""]
        let change = Change(call: call, at: at, before: before, after: after)
        if let i = groupIndex[key] {
            groups[i].count += 1
            if groups[i].examples.count < examplesPerGroup { groups[i].examples.append(change) }
        } else {
            groupIndex[key] = groups.count
            groups.append(Group(topic: call.topic, ruleBefore: ruleBefore, ruleAfter: ruleAfter, fields: fields, expected: expected, count: 1,
                                examples: examplesPerGroup > 0 ? [change] : []))
        }
    }
}

/// Changes that are meant to happen, from an `--expect` file:
///
/// ```yaml
/// - topic: termination                 # required: a topic, or "*" for any (said explicitly)
///   rule_before: termination.insists   # the other keys are optional; all given must match
///   rule_after: termination.insists
///   fields: [action, case, target]     # the change may touch only these
///   hours: "23:50-04:00"               # only calls at these wall-clock hours of the new table's zone
///   from: "2026-12-01T00:00:00+03:00"  # only calls from this instant …
///   until: "2027-01-01T00:00:00+03:00" # … and before this one
/// ```
/// An entry without `topic` is refused rather than read as "any change", so a forgotten key cannot
/// approve every change.
public struct ExpectedChanges: Sendable {
    struct Entry: Sendable {
        /// nil: any topic (`"*"`).
        let topic: String?
        let ruleBefore: String?
        let ruleAfter: String?
        let fields: Set<String>?
        /// Minutes of the local day, half-open; `close <= open` crosses midnight.
        let hours: (open: Int, close: Int)?
        let from: Instant?
        let until: Instant?
    }

    let entries: [Entry]
    static let keys = ["topic", "rule_before", "rule_after", "fields", "hours", "from", "until"]

    public init(yaml text: String, file: String) throws(TableErrors) {
        var entries: [Entry] = []
        var errors: [TableError] = []
        do throws(TableError) {
            let root = try YAMLNode.parse(text, file: file)
            guard case .sequence = root.node else {
                throw root.error("an expect file is a list of {topic, rule_before, rule_after, fields, hours, from, until}.")
            }
            for (i, item) in try root.sequence("the expect file").enumerated() {
                do throws(TableError) {
                    entries.append(try ExpectedChanges.entry(item, number: i + 1))
                } catch {
                    errors.append(error)
                }
            }
        } catch {
            errors.append(error)
        }
        guard errors.isEmpty else { throw TableErrors(errors) }
        self.entries = entries
    }

    private static func entry(_ item: YAMLNode, number: Int) throws(TableError) -> Entry {
        let what = "expected change \(number)"
        let f = try item.fields(what, allowed: keys)
        guard let topicNode = f["topic"] else {
            throw item.error("\(what) names no topic, so it would approve every change; give its topic, or topic: \"*\" to accept a change in any topic.")
        }
        let topic = try topicNode.string("topic")
        var hours: (Int, Int)?
        if let h = f["hours"] {
            let text = try h.string("hours")
            let parts = text.split(separator: "-").map { $0.split(separator: ":").compactMap { Int($0) } }
            guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && (0...24).contains($0[0]) && (0...59).contains($0[1]) }) else {
                throw h.error("hours of \(what) must be a window HH:MM-HH:MM in the new table's time zone, like \"23:50-04:00\".")
            }
            hours = (parts[0][0] * 60 + parts[0][1], parts[1][0] * 60 + parts[1][1])
        }
        func instant(_ key: String) throws(TableError) -> Instant? {
            guard let n = f[key] else { return nil }
            guard let parsed = Timestamp.parse(try n.string(key)) else {
                throw n.error("\(key) of \(what) must be an instant with an offset, like 2026-12-01T00:00:00+03:00.")
            }
            return parsed.instant
        }
        let from = try instant("from"), until = try instant("until")
        if let from, let until, until <= from { throw f["until"]!.error("until of \(what) must be after its from.") }
        return Entry(topic: topic == "*" ? nil : topic, ruleBefore: try f["rule_before"]?.string("rule_before"),
                     ruleAfter: try f["rule_after"]?.string("rule_after"),
                     fields: try f["fields"].map { n throws(TableError) in Set(try n.strings("fields")) },
                     hours: hours, from: from, until: until)
    }

    /// Whether a change of a call at `at` is one of those meant.
    func expects(topic: String, ruleBefore: String, ruleAfter: String, fields: [String], at: Instant, zone: ZoneRules) -> Bool {
        entries.contains { e in
            guard (e.topic == nil || e.topic == topic) && (e.ruleBefore == nil || e.ruleBefore == ruleBefore)
                && (e.ruleAfter == nil || e.ruleAfter == ruleAfter) && (e.fields == nil || Set(fields).isSubset(of: e.fields!)) else { return false }
            if let from = e.from, at < from { return false }
            if let until = e.until, at >= until { return false }
            if let (open, close) = e.hours {
                let local = Int((at.seconds + Int64(zone.offset(at: at))).floorMod(86_400) / 60)
                let inside = open < close ? (open <= local && local < close) : (local >= open || local < close)
                if !inside { return false }
            }
            return true
        }
    }
}
