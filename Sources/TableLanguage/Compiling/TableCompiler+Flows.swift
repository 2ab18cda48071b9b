import Routing
extension TableCompiler {
    // MARK: Menus

    static let menuKeys = ["start", "default_language", "retries", "invalid_prompt", "fallback", "nodes"]
    static let nodeKeys = ["prompt", "options", "retries", "fallback", "description"]
    static let optionKeys = ["label", "language", "goto", "when_closed", "description"]

    /// `menu:` of a topic: named nodes, each with a prompt and options leading to a node (`goto`) or an outcome.
    mutating func compileMenu(_ node: YAMLNode, topic: TopicScope) -> Menu? {
        let what = "the menu of topic '\(topic.code)'"
        guard let f = collect({ _ throws(TableError) in
            try node.fields(what, allowed: TableCompiler.menuKeys, required: ["start", "default_language", "fallback", "nodes"])
        }), let entries = collect({ _ throws(TableError) in try f["nodes"]!.entries("nodes of \(what)") }) else { return nil }
        let nodeIndex = index(entries, "menu node")
        let language = collect { _ throws(TableError) in try f["default_language"]!.string("default_language") } ?? "und"
        let defaultRetries = f["retries"].flatMap { n in collect { c throws(TableError) in try c.count(n, "retries") } } ?? 1
        let defaultFallback = collect { c throws(TableError) in try c.flowOutcome(f["fallback"]!, topic: topic, what: "the fallback of \(what)") }
        let invalidPrompt = f["invalid_prompt"].flatMap { n in collect { _ throws(TableError) in try TableCompiler.localized(n, "invalid_prompt", default: language) } }
        var nodes: [MenuNode] = []
        var destinations: [Rule] = []
        for entry in entries {
            let n = collect { c throws(TableError) -> MenuNode in
                let nf = try entry.value.fields("menu node '\(entry.key)'", allowed: TableCompiler.nodeKeys, required: ["prompt", "options"])
                var options: [MenuOption] = []
                for o in try nf["options"]!.entries("options of menu node '\(entry.key)'") {
                    guard o.key.count == 1, let key = o.key.first, Keypad.keys.contains(key) else {
                        throw TableError(o.keyMark, "option '\(o.key)' of menu node '\(entry.key)' must be one keypad key: 0-9, * or # (quote * and #).")
                    }
                    let optionWhat = "option \(key) of menu node '\(entry.key)'"
                    let of = try o.value.fields(optionWhat, allowed: TableCompiler.optionKeys + TableCompiler.outcomeKeys + TableCompiler.outcomeDetailKeys,
                                                required: ["label"])
                    let exit: MenuOption.Exit
                    if let g = of["goto"] {
                        let id = try g.string("goto")
                        guard let target = nodeIndex[id] else {
                            throw g.error("unknown menu node '\(id)' in \(optionWhat); expected one of: \(entries.map(\.key).joined(separator: ", ")).")
                        }
                        if let stray = TableCompiler.outcomeKeys.first(where: { of[$0] != nil }) {
                            throw of[stray]!.error("\(optionWhat) gives both goto and \(stray); an option either leads to a node or decides.")
                        }
                        exit = .node(target)
                    } else {
                        let outcome = try c.outcome(of, o.value, topic: topic, allowFallbacks: true, what: optionWhat)
                        destinations.append(Rule(id: "\(topic.code).\(entry.key).\(key)", condition: .always, outcome: outcome, mark: o.keyMark))
                        exit = .outcome(outcome)
                    }
                    options.append(MenuOption(key: key, label: try TableCompiler.localized(of["label"]!, "label", default: language),
                                              language: try of["language"]?.string("language"), exit: exit, mark: o.keyMark))
                }
                guard !options.isEmpty else { throw entry.value.error("menu node '\(entry.key)' has no options.") }
                let fallback = try nf["fallback"].map { n throws(TableError) in try c.flowOutcome(n, topic: topic, what: "the fallback of menu node '\(entry.key)'") }
                guard let fallback = fallback ?? defaultFallback else { throw entry.value.error("menu node '\(entry.key)' needs a fallback.") }
                if let own = nf["fallback"] {
                    destinations.append(Rule(id: "\(topic.code).\(entry.key).fallback", condition: .always, outcome: fallback, mark: own.mark))
                }
                return MenuNode(id: entry.key, prompt: try TableCompiler.localized(nf["prompt"]!, "prompt", default: language), options: options,
                                retries: try nf["retries"].map { n throws(TableError) in try c.count(n, "retries") } ?? defaultRetries,
                                fallback: fallback, mark: entry.keyMark)
            }
            if let n { nodes.append(n) }
        }
        if let defaultFallback { destinations.append(Rule(id: "\(topic.code).fallback", condition: .always, outcome: defaultFallback, mark: f["fallback"]!.mark)) }
        checkDestinations(destinations)
        guard let startNode = f["start"], let startID = collect({ _ throws(TableError) in try startNode.string("start") }) else { return nil }
        guard let start = nodeIndex[startID] else {
            errors.append(startNode.error("unknown menu node '\(startID)' as start; expected one of: \(entries.map(\.key).joined(separator: ", "))."))
            return nil
        }
        guard nodes.count == entries.count, let digits = topic.factIndex["digits"] else { return nil }
        // A node no key sequence reaches is a mistake in the tree, like an unreachable rule.
        let reached = TableCompiler.reachable(from: [start]) { n in
            nodes[n].options.compactMap { if case .node(let next) = $0.exit { next } else { nil } }
        }
        for (i, n) in nodes.enumerated() where !reached.contains(i) {
            report([CoverageFinding(kind: .unreachable, mark: n.mark, message: "menu node '\(n.id)' of topic '\(topic.code)' is not reached from '\(startID)' by any key.")])
        }
        return Menu(start: start, nodes: nodes, defaultLanguage: language, invalidPrompt: invalidPrompt, digitsFact: digits)
    }

    /// A fallback, leaf or step outcome: a mapping with one of transfer, case, first_line, deny, self_service.
    func flowOutcome(_ node: YAMLNode, topic: TopicScope, what: String) throws(TableError) -> Outcome {
        let f = try node.fields(what, allowed: TableCompiler.outcomeKeys + TableCompiler.outcomeDetailKeys + ["when_closed"])
        return try outcome(f, node, topic: topic, allowFallbacks: true, what: what)
    }

    /// A whole number from 0, or `$parameter` naming one.
    func count(_ node: YAMLNode, _ what: String) throws(TableError) -> Int {
        guard case .number(let n) = try valueOrParameter(node), n >= 0, n == n.rounded(), n < 1e9 else {
            throw node.error("\(what) must be a whole number from 0 (or a $parameter holding one).")
        }
        return Int(n)
    }

    /// Positions of named entries (menu nodes, steps) by name; a name given twice is an error.
    mutating func index(_ entries: [YAMLNode.Entry], _ kind: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for (i, entry) in entries.enumerated() {
            if out[entry.key] != nil { errors.append(TableError(entry.keyMark, "\(kind) '\(entry.key)' is declared twice.")) }
            out[entry.key] = i
        }
        return out
    }

    /// Every position reached from `starts` by following `successors`.
    static func reachable(from starts: [Int], successors: (Int) -> [Int]) -> Set<Int> {
        var reached = Set(starts)
        var queue = starts
        while let n = queue.popLast() {
            for next in successors(n) where reached.insert(next).inserted { queue.append(next) }
        }
        return reached
    }

    /// Text, or a mapping of language → text (`{es: "…", en: "…"}`).
    static func localized(_ node: YAMLNode, _ what: String, default language: String) throws(TableError) -> LocalizedText {
        if case .mapping = node.node {
            var texts: [String: String] = [:]
            for e in try node.entries(what) { texts[e.key] = try e.value.string("\(what) in \(e.key)") }
            guard let fallback = texts[language] ?? texts.values.first else { throw node.error("\(what) gives no text.") }
            return LocalizedText(texts: texts, fallback: fallback)
        }
        return LocalizedText(texts: [:], fallback: try node.string(what))
    }

    // MARK: Playbooks

    static let playbookKeys = ["session", "merge", "start", "steps"]
    static let stepKeys = ["name", "do", "limit", "when_exhausted", "next", "description"]

    /// `playbook:` of a topic: a session key, optional merging of repeats, and named steps with the outcomes they take.
    mutating func compilePlaybook(_ node: YAMLNode, topic: TopicScope) -> Playbook? {
        let what = "the playbook of topic '\(topic.code)'"
        guard let f = collect({ _ throws(TableError) in
            try node.fields(what, allowed: TableCompiler.playbookKeys, required: ["session", "start", "steps"])
        }), let entries = collect({ _ throws(TableError) in try f["steps"]!.entries("steps of \(what)") }) else { return nil }
        let stepIndex = index(entries, "step")
        func step(_ n: YAMLNode, _ what: String) throws(TableError) -> Int {
            let id = try n.string(what)
            guard let i = stepIndex[id] else {
                throw n.error("unknown step '\(id)' in \(what); expected one of: \(entries.map(\.key).joined(separator: ", ")).")
            }
            return i
        }
        var steps: [PlaybookStep] = []
        var destinations: [Rule] = []
        for entry in entries {
            let s = collect { c throws(TableError) -> PlaybookStep in
                let stepWhat = "step '\(entry.key)'"
                let sf = try entry.value.fields(stepWhat, allowed: TableCompiler.stepKeys + TableCompiler.outcomeKeys + TableCompiler.outcomeDetailKeys + ["when_closed"],
                                                required: ["name"])
                var instructions: [PlaybookStep.Instruction] = []
                if let d = sf["do"] {
                    for item in try d.sequence("do of \(stepWhat)") {
                        var condition = Condition.always
                        var textNode = item
                        if case .mapping = item.node {
                            let inf = try item.fields("an instruction of \(stepWhat)", allowed: ["when", "text"], required: ["when", "text"])
                            condition = try c.condition(inf["when"]!, topic: topic)
                            textNode = inf["text"]!
                        }
                        instructions.append(.init(condition: condition, text: try c.template(textNode, topic: topic, what: "an instruction")))
                    }
                }
                var outcome: Outcome?
                if TableCompiler.outcomeKeys.contains(where: { sf[$0] != nil }) {
                    outcome = try c.outcome(sf, entry.value, topic: topic, allowFallbacks: true, what: stepWhat)
                    destinations.append(Rule(id: "\(topic.code).\(entry.key)", condition: .always, outcome: outcome!, mark: entry.keyMark))
                } else if let stray = ["subject", "address", "asks", "when_closed"].first(where: { sf[$0] != nil }) {
                    throw sf[stray]!.error("'\(stray)' belongs to a step that decides transfer, case, first_line, deny or self_service.")
                }
                var next: [(String, Int)] = []
                if let n = sf["next"] {
                    for o in try n.entries("next of \(stepWhat)") { next.append((o.key, try step(o.value, "next of \(stepWhat) for \(o.key)"))) }
                }
                let limit = try sf["limit"].map { n throws(TableError) in try c.count(n, "limit") }
                let exhausted = try sf["when_exhausted"].map { n throws(TableError) in try step(n, "when_exhausted") }
                if (limit == nil) != (exhausted == nil) {
                    throw entry.value.error("\(stepWhat) needs both 'limit' and 'when_exhausted', or neither.")
                }
                if let limit, limit < 1 { throw sf["limit"]!.error("limit of \(stepWhat) must be at least 1.") }
                return PlaybookStep(id: entry.key, name: try sf["name"]!.string("name"), instructions: instructions,
                                    phrases: outcome == nil ? try sf["phrases"].map { n throws(TableError) in try c.phraseTexts(n, "\(stepWhat) phrases") } ?? [] : [],
                                    checks: outcome == nil ? try sf["checks"]?.strings("checks") ?? [] : [],
                                    comment: outcome == nil ? try sf["comment"].map { n throws(TableError) in try c.template(n, topic: topic, what: "comment") } : nil,
                                    outcome: outcome, limit: limit, whenExhausted: exhausted, next: next, mark: entry.keyMark)
            }
            if let s { steps.append(s) }
        }
        checkDestinations(destinations)
        guard steps.count == entries.count, let start = collect({ _ throws(TableError) in try step(f["start"]!, "start") }) else { return nil }
        let session = collect { c throws(TableError) -> (Operand, String) in
            let path = try f["session"]!.string("session")
            let (operand, _) = try c.operand(path, at: f["session"]!.mark, topic: topic)
            return (operand, path)
        }
        var merge: Playbook.Merge?
        if let m = f["merge"] {
            merge = collect { c throws(TableError) -> Playbook.Merge in
                let mf = try m.fields("merge", allowed: ["by", "within_minutes", "step"], required: ["by", "within_minutes", "step"])
                var by: [(Operand, String)] = []
                for path in try mf["by"]!.strings("by") { by.append((try c.operand(path, at: mf["by"]!.mark, topic: topic).0, path)) }
                let minutes = try c.count(mf["within_minutes"]!, "within_minutes")
                guard minutes >= 1 else { throw mf["within_minutes"]!.error("within_minutes must be at least 1.") }
                let s = try step(mf["step"]!, "merge step")
                return Playbook.Merge(by: by.map { (operand: $0.0, path: $0.1) }, withinSeconds: Int64(minutes) * 60, step: s)
            }
            if merge == nil { return nil }
        }
        guard let session else { return nil }
        // Steps no outcome leads to are as suspicious as unreachable rules.
        let reached = TableCompiler.reachable(from: [start] + (merge.map { [$0.step] } ?? [])) { s in
            steps[s].next.map(\.1) + (steps[s].whenExhausted.map { [$0] } ?? [])
        }
        for (i, s) in steps.enumerated() where !reached.contains(i) {
            report([CoverageFinding(kind: .unreachable, mark: s.mark, message: "step '\(s.id)' of topic '\(topic.code)' is not reached from '\(steps[start].id)' by any outcome.")])
        }
        return Playbook(session: session.0, sessionPath: session.1, merge: merge, start: start, steps: steps,
                        stepIndex: stepIndex, outcomeFact: topic.factIndex["outcome"]!, stepFact: topic.factIndex["step"]!)
    }
}
