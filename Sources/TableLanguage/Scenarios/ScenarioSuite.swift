import Routing
/// A table's scenario file: calls at instants with the decisions they must get.
///
/// ```yaml
/// table: retention-ru
/// defaults: {at: "2026-11-23T12:00:00+03:00", call: {language: ru}}
/// scenarios:
///   - name: termination, insists, open
///     call: {call_id: s1, topic: termination, facts: {insists: true}}
///     expect: {action: transfer, target: retention, rule: termination.insists}
/// ```
/// `expect` names only what matters to the scenario; every key given must match.
public struct ScenarioSuite: Sendable {
    public let table: String
    public let scenarios: [Scenario]

    public struct Scenario: Sendable {
        public let name: String
        public let mark: SourceMark
        public let at: Instant
        public let ctiIncident: Bool
        /// The call as JSON-shaped data, defaults merged in; decoded like a real call when run.
        public let call: Value
        let expectations: [Expectation]
    }

    struct Expectation: Sendable {
        let key: String
        let value: Value
        let mark: SourceMark
    }

    static let expectKeys = ["error", "error_field", "action", "target", "address", "via", "mode", "case", "category",
                             "priority", "subject", "fields", "procedure", "reason", "rule", "phrases", "comment",
                             "checks", "valid_until", "trace_includes",
                             // menus
                             "node", "language", "prompt", "options", "invalid", "asks",
                             // playbooks
                             "session", "step", "do", "do_includes", "outcomes", "attempt", "limit", "done", "merged_into"]

    /// Parses a scenario file's text.
    /// - Throws: ``TableErrors`` with each problem's position.
    public static func load(yaml text: String, file: String) throws(TableErrors) -> ScenarioSuite {
        do {
            let root = try YAMLNode.parse(text, file: file)
            let top = try root.fields("the scenario file", allowed: ["table", "defaults", "scenarios"], required: ["table", "scenarios"])
            var defaultAt: Instant?
            var defaultCall = Value.object([])
            var defaultCTI = false
            if let d = top["defaults"] {
                let f = try d.fields("defaults", allowed: ["at", "call", "cti_incident"])
                if let at = f["at"] { defaultAt = try instant(at) }
                if let call = f["call"] { defaultCall = try call.value() }
                if let cti = f["cti_incident"] { defaultCTI = try cti.bool("cti_incident") }
            }
            var scenarios: [Scenario] = []
            var errors: [TableError] = []
            for item in try top["scenarios"]!.sequence("scenarios") {
                do {
                    let f = try item.fields("a scenario", allowed: ["name", "at", "cti_incident", "call", "expect"], required: ["name", "call", "expect"])
                    guard let at = try f["at"].map({ n throws(TableError) in try instant(n) }) ?? defaultAt else {
                        throw item.error("the scenario needs 'at' (or a default 'at').")
                    }
                    var expectations: [Expectation] = []
                    for e in try f["expect"]!.entries("expect") {
                        guard expectKeys.contains(e.key) else {
                            throw TableError(e.keyMark, "unknown expectation '\(e.key)'; expected one of: \(expectKeys.joined(separator: ", ")).")
                        }
                        expectations.append(Expectation(key: e.key, value: try e.value.value(), mark: e.keyMark))
                    }
                    scenarios.append(Scenario(name: try f["name"]!.string("name"), mark: item.mark, at: at,
                                              ctiIncident: try f["cti_incident"]?.bool("cti_incident") ?? defaultCTI,
                                              call: merge(defaultCall, try f["call"]!.value()), expectations: expectations))
                } catch let error as TableError {
                    errors.append(error)
                } catch {
                    errors.append(item.error("\(error)"))
                }
            }
            guard errors.isEmpty else { throw TableErrors(errors) }
            return ScenarioSuite(table: try top["table"]!.string("table"), scenarios: scenarios)
        } catch let error as TableError {
            throw TableErrors([error])
        } catch {
            throw error as! TableErrors
        }
    }

    private static func instant(_ node: YAMLNode) throws(TableError) -> Instant {
        let text = try node.string("at")
        guard let parsed = Timestamp.parse(text) else {
            throw node.error("'\(text)' is not an instant; expected ISO 8601 with an offset, like 2026-11-22T23:50:00+03:00.")
        }
        return parsed.instant
    }

    /// Objects merge key by key (the scenario's keys win); anything else replaces the default.
    static func merge(_ base: Value, _ over: Value) -> Value {
        guard case .object(var members) = base, case .object(let overMembers) = over else { return over }
        for m in overMembers {
            if let i = members.firstIndex(where: { $0.key == m.key }) {
                members[i].value = merge(members[i].value, m.value)
            } else {
                members.append(m)
            }
        }
        return .object(members)
    }
}

/// A scenario whose decision differs from what it expects.
public struct ScenarioFailure: Sendable, CustomStringConvertible {
    public let scenario: String
    public let mark: SourceMark
    public let differences: [String]

    /// `file:line:col: scenario 'name': target: expected retention, got english-split`, one line per difference.
    public var description: String {
        differences.map { "\(mark): scenario '\(scenario)': \($0)" }.joined(separator: "\n")
    }
}

extension ScenarioSuite {
    /// Runs every scenario against `table`, in order, sharing one set of playbook sessions, so a
    /// playbook's scenarios follow one session from step to step.
    /// - Returns: the failures; empty when all pass.
    public func run(against table: Table) -> [ScenarioFailure] {
        var sessions = SessionBook()
        return scenarios.compactMap { scenario in
            let outcome: Result<Decision, InputError> = Result { () throws(InputError) in
                try table.evaluate(try Call(value: scenario.call), at: scenario.at, operations: Operations(ctiIncident: scenario.ctiIncident),
                                   sessions: &sessions)
            }
            let differences = scenario.expectations.compactMap { $0.difference(from: outcome, table: table) }
            return differences.isEmpty ? nil : ScenarioFailure(scenario: scenario.name, mark: scenario.mark, differences: differences)
        }
    }
}

extension ScenarioSuite.Expectation {
    /// Nil when the outcome has what this expectation wants; otherwise what differs, in words.
    func difference(from outcome: Result<Decision, InputError>, table: Table) -> String? {
        func compare(_ actual: Value) -> String? {
            actual == value ? nil : "\(key): expected \(render(value)), got \(render(actual))"
        }
        switch outcome {
        case .failure(let error):
            switch key {
            case "error": return compare(.string(error.code.rawValue))
            case "error_field": return compare(error.field.map(Value.string) ?? .null)
            default: return "\(key): expected \(render(value)), but the call was refused: \(error)"
            }
        case .success(let d):
            let text = { (s: String?) in s.map(Value.string) ?? .null }
            switch key {
            case "error", "error_field": return "\(key): expected \(render(value)), but the call was decided: \(d.action.rawValue) by rule \(d.rule)"
            case "action": return compare(.string(d.action.rawValue))
            case "target": return compare(text(d.target?.id))
            case "address": return compare(text(d.target?.address))
            case "via": return compare(text(d.target?.via.rawValue))
            case "mode": return compare(text(d.target?.mode.rawValue))
            case "case": return compare(text(d.case?.id))
            case "category": return compare(text(d.case?.category))
            case "priority": return compare(text(d.case?.priority.rawValue))
            case "subject": return compare(text(d.case?.subject))
            case "fields": return compare(.array((d.case?.fields ?? []).map(Value.string)))
            case "procedure": return compare(text(d.procedure))
            case "reason": return compare(text(d.reason))
            case "rule": return compare(.string(d.rule))
            case "comment": return compare(.string(d.comment))
            case "checks": return compare(.array(d.checks.map(Value.string)))
            case "phrases":
                // Phrase ids stand for their verbatim text (in any of its languages), so scenarios stay readable.
                guard case .array(let items) = value else { return "phrases: expected a list of phrase ids or texts" }
                let matches = items.count == d.phrases.count && zip(items, d.phrases).allSatisfy { item, text in
                    if case .string(let id) = item, let texts = table.phraseVariants(id) { return texts.contains(text) }
                    return item == .string(text)
                }
                let wanted = items.map { item -> Value in
                    if case .string(let id) = item, let text = table.phrases[id] { return .string(text) }
                    return item
                }
                return matches ? nil : "phrases: expected \(render(.array(wanted))), got \(render(.array(d.phrases.map(Value.string))))"
            case "valid_until":
                if case .null = value { return d.validUntil == nil ? nil : "valid_until: expected null, got \(Timestamp.format(d.validUntil!, offsetSeconds: d.validUntilOffset))" }
                guard case .string(let s) = value, let wanted = Timestamp.parse(s) else { return "valid_until: expected an ISO 8601 instant with an offset or null" }
                guard let actual = d.validUntil else { return "valid_until: expected \(s), got null" }
                return actual == wanted.instant ? nil : "valid_until: expected \(s), got \(Timestamp.format(actual, offsetSeconds: d.validUntilOffset))"
            case "node": return compare(text(d.menu?.node))
            case "language": return compare(text(d.menu?.language))
            case "prompt": return compare(text(d.menu?.prompt))
            case "options": return compare(.array((d.menu?.options ?? []).map { .string($0.key) }))
            case "invalid": return compare(d.menu.map { .number(Double($0.invalid)) } ?? .null)
            case "asks": return compare(.array((d.menu?.asks ?? []).map(Value.string)))
            case "session": return compare(text(d.playbook?.session))
            case "step": return compare(text(d.playbook?.step))
            case "do": return compare(.array((d.playbook?.instructions ?? []).map(Value.string)))
            case "do_includes": return includes(d.playbook?.instructions ?? [], "do: expected an instruction")
            case "outcomes": return compare(.array((d.playbook?.outcomes ?? []).map(Value.string)))
            case "attempt": return compare(d.playbook.map { .number(Double($0.attempt)) } ?? .null)
            case "limit": return compare(d.playbook?.limit.map { .number(Double($0)) } ?? .null)
            case "done": return compare(d.playbook.map { .bool($0.done) } ?? .null)
            case "merged_into": return compare(text(d.playbook?.mergedInto))
            case "trace_includes": return includes(d.trace, "trace: expected a line")
            default:
                return nil
            }
        }
    }

    /// Nil when every text the expectation lists (one, or a list) is part of some line; otherwise what is missing.
    private func includes(_ lines: [String], _ expected: String) -> String? {
        let wanted: [String] = if case .array(let items) = value { items.map(\.text) } else { [value.text] }
        let missing = wanted.filter { w in !lines.contains { $0.contains(w) } }
        return missing.isEmpty ? nil : "\(expected) containing \(missing.map { "\"\($0)\"" }.joined(separator: ", ")), got \(lines)"
    }

    private func render(_ v: Value) -> String {
        switch v {
        case .string(let s): "\"\(s)\""
        case .array(let items): "[\(items.map(render).joined(separator: ", "))]"
        default: v.text.isEmpty ? "null" : v.text
        }
    }
}
