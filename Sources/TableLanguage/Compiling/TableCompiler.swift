import Routing
/// The state of one compilation: what is declared so far and the errors found.
struct TableCompiler {
    let file: String
    let text: String
    var errors: [TableError] = []
    var lenient = false
    var coverage = CoverageReport()

    var zone: ZoneRules?
    var parameters: [String: Value] = [:]
    var phrases: [String: String] = [:]
    /// Localized texts: the first language's text → its text per language (a box, so the non-mutating
    /// compile steps of outcomes can add to it).
    let translations = Translations()
    /// A number for each path and comparison the table's conditions make (``Condition/Probe/id``), so that
    /// probes that say the same share one.
    let probeNumbers = ProbeNumbers()
    var scheduleIndex: [String: Int] = [:]
    var schedules: [Schedule] = []
    var scheduleMarks: [SourceMark] = []
    var targetIndex: [String: Int] = [:]
    var targets: [Target] = []
    var caseIndex: [String: Int] = [:]
    var cases: [CaseCategory] = []
    var customerFields: [FieldSpec] = []
    /// Declarations that failed to compile, as `kind:id` (`target:retention`): references to them are consequences.
    var failed: Set<String> = []

    init(file: String, text: String) {
        self.file = file
        self.text = text
    }

    /// The error for a reference to `id`, a `kind` (schedule, target, case, phrase) not declared: a consequence
    /// when it was declared but failed to compile.
    func unknown(_ kind: String, _ id: String, at node: YAMLNode, _ message: String) -> TableError {
        TableError(node.mark, message, isConsequence: failed.contains("\(kind):\(id)"))
    }

    /// Runs `body`, keeping its error and going on, so one bad entry does not hide the next.
    mutating func collect<T>(_ body: (inout TableCompiler) throws(TableError) -> T) -> T? {
        do {
            return try body(&self)
        } catch {
            errors.append(error)
            return nil
        }
    }

    static let topKeys = ["table", "description", "time_zone", "parameters", "comment_format", "customer", "phrases",
                          "schedules", "targets", "cases", "global_rules", "redirects", "topics"]

    mutating func compile(_ root: YAMLNode) -> Table? {
        lintTexts(root)
        guard let top = collect({ _ throws(TableError) in
            try root.fields("the table", allowed: TableCompiler.topKeys, required: ["table", "time_zone", "topics"])
        }) else { return nil }
        let name = collect { _ throws(TableError) in try top["table"]!.string("table") }
        let description = top["description"].flatMap { node in collect { _ throws(TableError) in try node.string("description") } }
        collect { c throws(TableError) in
            let zoneNode = top["time_zone"]!
            let id = try zoneNode.string("time_zone")
            guard let rules = ZoneRules(identifier: id) else {
                throw zoneNode.error("time_zone '\(id)' is not an IANA time zone known to this system; expected a name like Europe/Moscow.")
            }
            c.zone = rules
        }
        if let node = top["parameters"] { compileParameters(node) }
        if let node = top["phrases"] { compilePhrases(node) }
        if let node = top["customer"] { compileCustomer(node) }
        let commentFormat = compileCommentFormat(top["comment_format"])
        if let node = top["schedules"] { compileSchedules(node) }
        if let node = top["targets"] { compileTargets(node) }
        if let node = top["cases"] { compileCases(node) }
        let globalRules = top["global_rules"].map { compileRules($0, topic: nil, what: "global_rules") } ?? []
        checkDestinations(globalRules)
        let redirects = top["redirects"].map { compileRedirects($0) } ?? []
        var topics: [Topic] = []
        var topicIndex: [String: Int] = [:]
        if let entries = collect({ _ throws(TableError) in try top["topics"]!.entries("topics") }) {
            for entry in entries {
                if let topic = compileTopic(entry, globalRules: globalRules) {
                    // YAML tells `1:` from `"1":`; a table may not (a call names its topic by text).
                    guard topicIndex[topic.code] == nil else {
                        errors.append(TableError(entry.keyMark, "topic '\(topic.code)' is declared twice."))
                        continue
                    }
                    topicIndex[topic.code] = topics.count
                    topics.append(topic)
                }
            }
        }
        guard errors.isEmpty, let name, let zone, let commentFormat else { return nil }
        coverage.findings.append(contentsOf: scheduleFindings)
        return Table(name: name, description: description, version: SHA256.hex(of: Array(text.utf8)).prefix(16).description,
                     zone: zone, parameters: parameters, targets: targets, cases: cases, schedules: schedules,
                     customerFields: customerFields,
                     customerIndex: Dictionary(customerFields.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a }),
                     topicIndex: topicIndex, topics: topics, globalRules: globalRules,
                     redirects: redirects, commentFormat: commentFormat, phrases: phrases, translations: translations.texts,
                     coverage: coverage)
    }

    mutating func compileParameters(_ node: YAMLNode) {
        guard let entries = collect({ _ throws(TableError) in try node.entries("parameters") }) else { return }
        for e in entries {
            collect { c throws(TableError) in
                let v = try e.value.value()
                switch v {
                case .bool, .number, .string: c.parameters[e.key] = v
                default: throw e.value.error("parameter '\(e.key)' must be a number, text or true/false.")
                }
            }
        }
    }

    mutating func compilePhrases(_ node: YAMLNode) {
        guard let entries = collect({ _ throws(TableError) in try node.entries("phrases") }) else { return }
        for e in entries {
            failed.insert("phrase:\(e.key)")
            collect { c throws(TableError) in
                // Text, or language → text; the first language listed is said when the call's has no text.
                c.phrases[e.key] = try c.localizedText(e.value, "phrase '\(e.key)'")
                c.failed.remove("phrase:\(e.key)")
            }
        }
    }

    /// Resolves phrase ids to their verbatim text.
    func phraseTexts(_ node: YAMLNode, _ what: String) throws(TableError) -> [String] {
        var out: [String] = []
        let items: [YAMLNode] = if case .scalar = node.node { [node] } else { try node.sequence(what) }
        for item in items {
            let id = try item.string("a phrase of \(what)")
            guard let text = phrases[id] else {
                throw unknown("phrase", id, at: item, "unknown phrase '\(id)' in \(what); expected one of the ids under 'phrases': \(phrases.keys.sorted().joined(separator: ", ")).")
            }
            out.append(text)
        }
        return out
    }

    mutating func compileCustomer(_ node: YAMLNode) {
        guard let entries = collect({ _ throws(TableError) in try node.entries("customer") }) else { return }
        for e in entries {
            if let spec = collect({ c throws(TableError) in try c.fieldSpec(e, what: "customer field", allowsDefault: true) }) {
                customerFields.append(spec)
            }
        }
    }

    /// A field declared as `bool`, `integer`, `number`, `string`, a list of allowed values, or
    /// `{type: …, default: …, description: …}`.
    func fieldSpec(_ e: YAMLNode.Entry, what: String, allowsDefault: Bool) throws(TableError) -> FieldSpec {
        var typeNode = e.value
        var defaultValue: Value?
        var description: String?
        var labels: [String: String] = [:]
        if case .mapping = e.value.node {
            let f = try e.value.fields("\(what) '\(e.key)'", allowed: allowsDefault ? ["type", "default", "description", "labels"] : ["type", "description", "labels"],
                                       required: ["type"])
            typeNode = f["type"]!
            description = try f["description"]?.string("description")
            if let d = f["default"] { defaultValue = try d.value() }
            if let l = f["labels"] {
                for entry in try l.entries("labels") { labels[entry.key] = try entry.value.string("label of '\(entry.key)'") }
            }
        }
        let type: FieldType
        if case .sequence = typeNode.node {
            let values = try typeNode.strings("the values of \(what) '\(e.key)'")
            guard !values.isEmpty else { throw typeNode.error("\(what) '\(e.key)' lists no values.") }
            type = .enumeration(values)
        } else {
            switch try typeNode.string("the type of \(what) '\(e.key)'") {
            case "bool": type = .bool
            case "integer": type = .integer
            case "number": type = .number
            case "string": type = .string
            case let other:
                throw typeNode.error("unknown type '\(other)' for \(what) '\(e.key)'; expected bool, integer, number, string or a list of values.")
            }
        }
        if let d = defaultValue, !type.accepts(d) {
            throw e.value.error("the default of \(what) '\(e.key)' must be \(type.expectation).")
        }
        if case .enumeration(let values) = type, let stray = labels.keys.sorted().first(where: { !values.contains($0) }) {
            throw e.value.error("label '\(stray)' of \(what) '\(e.key)' is not one of its values: \(values.joined(separator: ", ")).")
        }
        return FieldSpec(name: e.key, type: type, defaultValue: defaultValue, description: description, labels: labels)
    }

    mutating func compileCommentFormat(_ node: YAMLNode?) -> CommentFormat? {
        guard let node else {
            return CommentFormat(identification: Template(segments: [.literal("идент. "), .operand(.identification, "identification")]),
                                 separator: ". ")
        }
        return collect { c throws(TableError) in
            let f = try node.fields("comment_format", allowed: ["identification", "separator"])
            let ident = try f["identification"].map { n throws(TableError) in try c.template(n, topic: nil, what: "comment_format.identification") }
                ?? Template(segments: [.literal("идент. "), .operand(.identification, "identification")])
            return CommentFormat(identification: ident, separator: try f["separator"]?.string("separator") ?? ". ")
        }
    }

    mutating func compileTargets(_ node: YAMLNode) {
        guard let entries = collect({ _ throws(TableError) in try node.entries("targets") }) else { return }
        for e in entries {
            guard let target = collect({ c throws(TableError) in try c.target(e) }) else {
                failed.insert("target:\(e.key)")
                continue
            }
            guard targetIndex[target.id] == nil else {
                errors.append(TableError(e.keyMark, "target '\(target.id)' is declared twice."))
                continue
            }
            targetIndex[target.id] = targets.count
            targets.append(target)
        }
    }

    func target(_ e: YAMLNode.Entry) throws(TableError) -> Target {
        let what = "target '\(e.key)'"
        let f = try e.value.fields(what, allowed: ["name", "address", "number", "region_addresses", "schedule", "mode", "phrases", "checks"],
                                   required: ["name", "mode"])
        var schedule: Int?
        if let s = f["schedule"] {
            let id = try s.string("schedule")
            guard let i = scheduleIndex[id] else {
                throw unknown("schedule", id, at: s, "unknown schedule '\(id)' in \(what); expected one of the ids under 'schedules': \(scheduleIndex.keys.sorted().joined(separator: ", ")).")
            }
            schedule = i
        }
        let modeNode = f["mode"]!
        guard let mode = TransferMode(rawValue: try modeNode.string("mode")) else {
            throw modeNode.error("mode of \(what) must be blind or warm.")
        }
        var regionAddresses: [String: String] = [:]
        if let r = f["region_addresses"] {
            for entry in try r.entries("region_addresses") { regionAddresses[entry.key] = try entry.value.string("address") }
        }
        return Target(id: e.key, name: try f["name"]!.string("name"), address: try f["address"]?.string("address"),
                      number: try f["number"]?.string("number"), regionAddresses: regionAddresses, schedule: schedule, mode: mode,
                      phrases: try f["phrases"].map { n throws(TableError) in try phraseTexts(n, "\(what) phrases") } ?? [],
                      checks: try f["checks"]?.strings("checks") ?? [])
    }

    mutating func compileCases(_ node: YAMLNode) {
        guard let entries = collect({ _ throws(TableError) in try node.entries("cases") }) else { return }
        for e in entries {
            guard let category = collect({ c throws(TableError) in try c.caseCategory(e) }) else {
                failed.insert("case:\(e.key)")
                continue
            }
            caseIndex[category.id] = cases.count
            cases.append(category)
        }
    }

    func caseCategory(_ e: YAMLNode.Entry) throws(TableError) -> CaseCategory {
        let what = "case '\(e.key)'"
        let f = try e.value.fields(what, allowed: ["category", "priority", "subject", "fields", "phrases"], required: ["category"])
        var priority = CaseCategory.Priority.normal
        if let p = f["priority"] {
            guard let value = CaseCategory.Priority(rawValue: try p.string("priority")) else {
                throw p.error("priority of \(what) must be normal or urgent.")
            }
            priority = value
        }
        return CaseCategory(id: e.key, category: try f["category"]!.string("category"), priority: priority,
                            subject: try f["subject"].flatMap { n throws(TableError) in n.isNull ? nil : try n.string("subject") },
                            fields: try f["fields"]?.strings("fields") ?? [],
                            phrases: try f["phrases"].map { n throws(TableError) in try phraseTexts(n, "\(what) phrases") } ?? [])
    }

    mutating func compileTopic(_ e: YAMLNode.Entry, globalRules: [Rule]) -> Topic? {
        let what = "topic '\(e.key)'"
        let errorsBefore = errors.count
        let findingsBefore = coverage.findings.count
        guard let f = collect({ _ throws(TableError) in
            try e.value.fields(what, allowed: ["name", "description", "comment", "facts", "rules", "menu", "playbook"])
        }) else { return nil }
        let flows = ["rules", "menu", "playbook"].filter { f[$0] != nil }
        guard flows.count == 1 else {
            errors.append(TableError(e.keyMark, "\(what) must have exactly one of rules, menu or playbook\(flows.isEmpty ? "" : " (it has \(flows.joined(separator: " and ")))")."))
            return nil
        }
        var facts: [FieldSpec] = []
        if let node = f["facts"], let entries = collect({ _ throws(TableError) in try node.entries("facts of \(what)") }) {
            for fe in entries {
                if let spec = collect({ c throws(TableError) in try c.fieldSpec(fe, what: "fact", allowsDefault: false) }) { facts.append(spec) }
            }
        }
        // The facts a flow reads from every call: the keys pressed, the outcome reported and its step.
        let implicit = f["menu"] != nil ? Menu.providedFacts : f["playbook"] != nil ? Playbook.providedFacts : []
        for name in implicit {
            if facts.contains(where: { $0.name == name }) {
                errors.append(TableError(e.keyMark, "\(what) declares fact '\(name)', which its \(flows[0]) provides; remove it."))
            } else {
                facts.append(FieldSpec(name: name, type: .string, defaultValue: nil, description: nil, labels: [:]))
            }
        }
        var factIndex: [String: Int] = [:]
        for (i, spec) in facts.enumerated() { factIndex[spec.name] = i }
        let scope = TopicScope(code: e.key, facts: facts, factIndex: factIndex)
        let name = f["name"].flatMap { n in collect { _ throws(TableError) in try n.string("name") } } ?? e.key
        let comment = f["comment"].flatMap { n in collect { c throws(TableError) in try c.template(n, topic: scope, what: "comment") } }
        // Rules read the facts; with a fact that failed to compile they would only repeat its error.
        guard errors.count == errorsBefore else { return nil }
        var rules: [Rule] = []
        var menu: Menu?
        var playbook: Playbook?
        if let node = f["rules"] {
            rules = compileRules(node, topic: scope, what: "rules of \(what)")
            checkDestinations(rules)
        } else if let node = f["menu"] {
            menu = compileMenu(node, topic: scope)
        } else if let node = f["playbook"] {
            playbook = compilePlaybook(node, topic: scope)
        }
        let topic = Topic(code: e.key, name: name, facts: facts, factIndex: factIndex, comment: comment, rules: rules,
                          menu: menu, playbook: playbook, traceLine: "topic=\(e.key)")
        if errors.count == errorsBefore, f["rules"] != nil {
            let (summary, findings) = Coverage.analyze(topic, globalRules: globalRules, table: self, mark: e.keyMark)
            coverage.topics.append(summary)
            report(findings)
        } else if errors.count == errorsBefore {
            let unreachable = coverage.findings[findingsBefore...].filter { $0.kind == .unreachable }.count
            coverage.topics.append(TopicCoverage(code: e.key, combinations: 0, rules: menu?.nodes.count ?? playbook?.steps.count ?? 0,
                                                 gaps: 0, unreachable: unreachable, overlaps: 0, kind: topic.kind))
        }
        return errors.count == errorsBefore ? topic : nil
    }
}

extension TableCompiler {
    /// Blocking findings are errors unless loading leniently; the others are only reported.
    mutating func report(_ findings: [CoverageFinding]) {
        for finding in findings {
            if finding.kind.isBlocking || finding.kind == .unreachable, !lenient {
                errors.append(TableError(finding.mark, finding.message))
            } else {
                coverage.findings.append(finding)
            }
        }
    }

    /// Every transfer to a target that can close needs a `when_closed` that ends where calls are always taken.
    mutating func checkDestinations(_ rules: [Rule]) {
        for rule in rules {
            guard case .transfer(let t) = rule.outcome.kind, let s = targets[t].schedule, !schedules[s].isAlwaysOpen else { continue }
            let last = rule.outcome.whenClosed.last
            let lastCanClose: Bool = if let last, case .transfer(let ft) = last.kind {
                targets[ft].schedule.map { !schedules[$0].isAlwaysOpen } ?? false
            } else { last == nil }
            if lastCanClose {
                report([CoverageFinding(kind: .nowhereToGo, mark: rule.mark,
                    message: "target '\(targets[t].id)' closes (\(schedules[s].summary)), so rule '\(rule.id)' needs 'when_closed' ending in a case, first_line, deny or a target that never closes.")])
            }
        }
    }

    /// Warnings about schedules: weekly windows that overlap, overrides that change nothing.
    var scheduleFindings: [CoverageFinding] {
        var out: [CoverageFinding] = []
        for (s, schedule) in schedules.enumerated() {
            let mark = scheduleMarks[s]
            for day in 0..<7 {
                let windows = schedule.weekly[day]
                for (a, b) in zip(windows, windows.dropFirst()) where b.open < a.close {
                    out.append(CoverageFinding(kind: .windowOverlap, mark: mark, message: "schedule '\(schedule.id)': on \(Schedule.dayNames[day]) \(a.description) and \(b.description) overlap."))
                }
                // A window running past midnight into the next day's first window.
                if let last = windows.last, last.close > 1440, let next = schedule.weekly[(day + 1) % 7].first, next.open < last.close - 1440 {
                    out.append(CoverageFinding(kind: .windowOverlap, mark: mark, message: "schedule '\(schedule.id)': \(Schedule.dayNames[day])'s \(last.description) runs into \(Schedule.dayNames[(day + 1) % 7])'s \(next.description)."))
                }
            }
            for (date, override) in schedule.overrides.sorted(by: { $0.key < $1.key }) where override.windows == schedule.weekly[date.weekday]
                // A shared holiday calendar closes days that are closed anyway; that is not a mistake.
                && !override.windows.isEmpty {
                out.append(CoverageFinding(kind: .redundantOverride, mark: mark, message: "schedule '\(schedule.id)': the override of \(date) has the same hours as an ordinary \(Schedule.dayNames[date.weekday])."))
            }
        }
        return out
    }
}

/// The numbers of the table's probes (a box, like ``Translations``): one per path and comparison, so a number's
/// probe says the same words each time in a decision; none for a comparison whose words another one already
/// says (`in: ["Moscow, RU"]` and `in: [Moscow, RU]` both read `in [Moscow, RU]`), so that different numbers
/// never say the same words and lines that could are compared as texts.
final class ProbeNumbers {
    private struct Key: Hashable {
        let path: String
        let comparison: Condition.Comparison
    }
    private var numbers: [Key: Int] = [:]
    /// Each comparison's words (``Condition/traceLine(_:_:_:_:)``, which spells its path and comparison), and
    /// the first path and comparison that said them.
    private var sayers: [String: Key] = [:]

    func number(path: String, comparison: Condition.Comparison) -> Int? {
        let key = Key(path: path, comparison: comparison)
        let words = Condition.traceLine(path, nil, comparison, false)
        if let first = sayers[words], first != key { return nil }
        sayers[words] = key
        if let n = numbers[key] { return n }
        numbers[key] = numbers.count
        return numbers.count - 1
    }
}

/// Texts given per language: the first language's text (what the table compiles to) → every language's.
final class Translations {
    var texts: [String: [String: String]] = [:]
}

extension TableCompiler {
    /// Text, or a mapping of language → text (`{es: "…", en: "…"}`) whose first language is the default;
    /// the others are recorded in ``translations`` and chosen by the caller's language when deciding.
    func localizedText(_ node: YAMLNode, _ what: String) throws(TableError) -> String {
        guard case .mapping = node.node else { return try node.string(what) }
        let entries = try node.entries(what)
        guard let first = entries.first else { throw node.error("\(what) gives no text.") }
        let fallback = try first.value.string("\(what) in \(first.key)")
        var texts: [String: String] = [:]
        for t in entries { texts[t.key] = try t.value.string("\(what) in \(t.key)") }
        if let earlier = translations.texts[fallback], earlier != texts {
            throw node.error("\(what) has the \(first.key) text of another localized text but other translations; make them agree.")
        }
        translations.texts[fallback] = texts
        return fallback
    }
}

/// What a rule inside a topic may refer to.
struct TopicScope {
    let code: String
    let facts: [FieldSpec]
    let factIndex: [String: Int]
}
