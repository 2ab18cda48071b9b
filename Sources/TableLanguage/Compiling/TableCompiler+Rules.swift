import Routing
extension TableCompiler {
    static let outcomeKeys = ["transfer", "case", "first_line", "deny", "self_service"]
    static let outcomeDetailKeys = ["phrases", "checks", "comment", "subject", "address", "asks"]

    mutating func compileRules(_ node: YAMLNode, topic: TopicScope?, what: String) -> [Rule] {
        guard let items = collect({ _ throws(TableError) in try node.sequence(what) }) else { return [] }
        var rules: [Rule] = []
        var seen: Set<String> = []
        for item in items {
            guard let rule = collect({ c throws(TableError) in try c.rule(item, topic: topic, what: what) }) else { continue }
            guard seen.insert(rule.id).inserted else {
                errors.append(item.error("rule id '\(rule.id)' is used twice in \(what); each rule needs its own id."))
                continue
            }
            rules.append(rule)
        }
        return rules
    }

    func rule(_ node: YAMLNode, topic: TopicScope?, what: String) throws(TableError) -> Rule {
        let f = try node.fields("a rule of \(what)", allowed: ["id", "when", "when_closed", "description"] + TableCompiler.outcomeKeys + TableCompiler.outcomeDetailKeys,
                                required: ["id"])
        let id = try f["id"]!.string("id")
        let condition = try f["when"].map { n throws(TableError) in try self.condition(n, topic: topic) } ?? .always
        return Rule(id: id, condition: condition, outcome: try outcome(f, node, topic: topic, allowFallbacks: true, what: "rule '\(id)'"),
                    mark: node.mark)
    }

    func outcome(_ f: [String: YAMLNode], _ node: YAMLNode, topic: TopicScope?, allowFallbacks: Bool, what: String) throws(TableError) -> Outcome {
        let given = TableCompiler.outcomeKeys.filter { f[$0] != nil }
        guard given.count == 1 else {
            throw node.error("\(what) must decide exactly one of: transfer, case, first_line, deny, self_service\(given.isEmpty ? "" : " (it gives \(given.joined(separator: " and ")))").")
        }
        let kind: Outcome.Kind
        var targetIndexForChecks: Int?
        switch given[0] {
        case "transfer":
            let n = f["transfer"]!
            let id = try n.string("transfer")
            guard let t = targetIndex[id] else {
                throw unknown("target", id, at: n, "unknown target '\(id)' in \(what); expected one of the ids under 'targets': \(targets.map(\.id).joined(separator: ", ")).")
            }
            kind = .transfer(t)
            targetIndexForChecks = t
        case "case":
            let n = f["case"]!
            let id = try n.string("case")
            guard let c = caseIndex[id] else {
                throw unknown("case", id, at: n, "unknown case '\(id)' in \(what); expected one of the ids under 'cases': \(cases.map(\.id).joined(separator: ", ")).")
            }
            kind = .openCase(c)
        case "first_line":
            kind = .firstLine(try template(f["first_line"]!, topic: topic, what: "first_line (the procedure the agent follows)"))
        case "self_service":
            let text = f["self_service"]!
            let what = "self_service (what the caller does alone)"
            // A text per language is plain text (no placeholders): it is translated as a whole.
            let service: Template = if case .mapping = text.node {
                Template(segments: [.literal(try localizedText(text, what))])
            } else {
                try template(text, topic: topic, what: what)
            }
            var asks: [String] = []
            for item in try f["asks"]?.sequence("asks") ?? [] { asks.append(try localizedText(item, "an item of asks")) }
            kind = .selfService(service, asks: asks)
        default:
            kind = .deny(try template(f["deny"]!, topic: topic, what: "deny (the reason given to the caller)"))
        }
        if let a = f["asks"] {
            guard case .selfService = kind else { throw a.error("'asks' belongs to self_service; \(what) is not one.") }
        }
        if let s = f["subject"] {
            guard case .openCase = kind else { throw s.error("'subject' belongs to a case; \(what) does not open one.") }
        }
        var address: Template?
        if let a = f["address"] {
            guard targetIndexForChecks != nil else { throw a.error("'address' belongs to a transfer; \(what) is not one.") }
            address = try template(a, topic: topic, what: "address")
        }
        if let t = targetIndexForChecks, address == nil, targets[t].address == nil {
            throw node.error("target '\(targets[t].id)' has no address, so \(what) must give one ('address: \"{facts.…}\"').")
        }
        var fallbacks: [Outcome] = []
        if let wc = f["when_closed"] {
            guard allowFallbacks, let t = targetIndexForChecks else {
                throw wc.error("'when_closed' belongs to a transfer rule; \(what) is not one (and fallbacks cannot nest).")
            }
            guard targets[t].schedule != nil else {
                throw wc.error("target '\(targets[t].id)' has no schedule, so it never closes; remove 'when_closed'.")
            }
            let items: [YAMLNode] = if case .mapping = wc.node { [wc] } else { try wc.sequence("when_closed") }
            for item in items {
                let ff = try item.fields("a when_closed outcome of \(what)", allowed: TableCompiler.outcomeKeys + TableCompiler.outcomeDetailKeys)
                fallbacks.append(try outcome(ff, item, topic: topic, allowFallbacks: false, what: "when_closed of \(what)"))
            }
        }
        return Outcome(kind: kind,
                       phrases: try f["phrases"].map { n throws(TableError) in try phraseTexts(n, "\(what) phrases") },
                       checks: try f["checks"]?.strings("checks") ?? [],
                       comment: try f["comment"].map { n throws(TableError) in try template(n, topic: topic, what: "comment") },
                       subject: try f["subject"]?.string("subject"),
                       address: address, whenClosed: fallbacks)
    }

    mutating func compileRedirects(_ node: YAMLNode) -> [Redirect] {
        guard let items = collect({ _ throws(TableError) in try node.sequence("redirects") }) else { return [] }
        var out: [Redirect] = []
        for item in items {
            let r = collect { c throws(TableError) -> Redirect in
                let f = try item.fields("a redirect", allowed: ["id", "from", "to", "when", "description"], required: ["id", "from", "to", "when"])
                func target(_ key: String) throws(TableError) -> Int {
                    let id = try f[key]!.string(key)
                    guard let t = c.targetIndex[id] else {
                        throw c.unknown("target", id, at: f[key]!, "unknown target '\(id)' in redirect '\(key)'; expected one of: \(c.targets.map(\.id).joined(separator: ", ")).")
                    }
                    return t
                }
                return Redirect(id: try f["id"]!.string("id"), from: try target("from"), to: try target("to"),
                                condition: try c.condition(f["when"]!, topic: nil))
            }
            if let r { out.append(r) }
        }
        return out
    }

    // MARK: Conditions

    /// A `when:` mapping: every entry must hold, in written order.
    func condition(_ node: YAMLNode, topic: TopicScope?) throws(TableError) -> Condition {
        var parts: [Condition] = []
        for e in try node.entries("when") {
            switch e.key {
            case "all", "any":
                var subs: [Condition] = []
                for item in try e.value.sequence(e.key) { subs.append(try condition(item, topic: topic)) }
                parts.append(e.key == "all" ? .all(subs) : .any(subs))
            case "not":
                parts.append(.not(try condition(e.value, topic: topic)))
            case "open", "closed":
                let id = try e.value.string(e.key)
                guard let t = targetIndex[id] else {
                    throw unknown("target", id, at: e.value, "unknown target '\(id)' in '\(e.key)'; expected one of: \(targets.map(\.id).joined(separator: ", ")).")
                }
                parts.append(.targetOpen(t, e.key == "open"))
            default:
                let (operand, type) = try self.operand(e.key, at: e.keyMark, topic: topic)
                let domain: [Value] = switch type {
                case .bool: [.bool(true), .bool(false)]
                case .enumeration(let values): values.map(Value.string)
                default: []
                }
                for comparison in try comparisons(e.value, path: e.key, type: type) {
                    let probe = Condition.Probe(path: e.key, comparison: comparison, domain: domain,
                                                id: probeNumbers.number(path: e.key, comparison: comparison))
                    parts.append(.compare(operand, probe, comparison))
                }
            }
        }
        return parts.count == 1 ? parts[0] : .all(parts)
    }

    /// Resolves a path (`facts.insists`, `customer.region`, `language`) to what it reads, and its type.
    func operand(_ path: String, at mark: SourceMark, topic: TopicScope?) throws(TableError) -> (Operand, FieldType) {
        switch path {
        case "language": return (.language, .string)
        case "identification": return (.identification, .string)
        case "notes": return (.notes, .string)
        case "call_id": return (.callID, .string)
        default: break
        }
        if path.hasPrefix("facts.") {
            let name = String(path.dropFirst(6))
            guard let topic else {
                throw TableError(mark, "'\(path)': global rules, redirects and comment formats apply to every topic and cannot read a topic's facts.")
            }
            guard let i = topic.factIndex[name] else {
                throw TableError(mark, "unknown fact '\(name)' of topic '\(topic.code)'; expected one of: \(topic.facts.map(\.name).joined(separator: ", ")).")
            }
            return (.fact(i), topic.facts[i].type)
        }
        if path.hasPrefix("customer.") {
            let name = String(path.dropFirst(9))
            guard let i = customerFields.firstIndex(where: { $0.name == name }) else {  // once, at load
                throw TableError(mark, "unknown customer field '\(name)'; expected one of the fields under 'customer': \(customerFields.map(\.name).joined(separator: ", ")).")
            }
            return (.customer(i), customerFields[i].type)
        }
        throw TableError(mark, "unknown field '\(path)'; expected facts.NAME, customer.NAME, language, identification, notes or call_id.")
    }

    static let comparisonKeys = ["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge"]

    /// A matcher: a constant (equality), a list (one of), or a mapping of comparisons (`{gt: 600}`).
    func comparisons(_ node: YAMLNode, path: String, type: FieldType) throws(TableError) -> [Condition.Comparison] {
        switch node.node {
        case .scalar:
            return [.equals(try constant(node, path: path, type: type))]
        case .sequence:
            return [.oneOf(try constants(node, path: path, type: type))]
        default:
            var out: [Condition.Comparison] = []
            for e in try node.entries("the comparison of '\(path)'") {
                switch e.key {
                case "eq": out.append(.equals(try constant(e.value, path: path, type: type)))
                case "ne": out.append(.notEquals(try constant(e.value, path: path, type: type)))
                case "in": out.append(.oneOf(try constants(e.value, path: path, type: type)))
                case "not_in": out.append(.noneOf(try constants(e.value, path: path, type: type)))
                case "lt", "le", "gt", "ge":
                    guard type == .number || type == .integer else {
                        throw TableError(e.keyMark, "'\(e.key)' compares numbers, but '\(path)' is \(type).")
                    }
                    guard case .number(let n) = try constant(e.value, path: path, type: type) else { fatalError("checked above") }
                    switch e.key {
                    case "lt": out.append(.less(n))
                    case "le": out.append(.lessOrEqual(n))
                    case "gt": out.append(.greater(n))
                    default: out.append(.greaterOrEqual(n))
                    }
                default:
                    throw TableError(e.keyMark, "unknown comparison '\(e.key)' for '\(path)'; expected one of: \(TableCompiler.comparisonKeys.joined(separator: ", ")).")
                }
            }
            return out
        }
    }

    func constants(_ node: YAMLNode, path: String, type: FieldType) throws(TableError) -> [Value] {
        var out: [Value] = []
        for item in try node.sequence("the values of '\(path)'") { out.append(try constant(item, path: path, type: type)) }
        return out
    }

    /// A constant compared with `path`, checked against its type; `$name` names a parameter.
    func constant(_ node: YAMLNode, path: String, type: FieldType) throws(TableError) -> Value {
        let value = try valueOrParameter(node)
        guard type.accepts(value) else {
            throw node.error("'\(path)' is \(type), so it cannot be compared with \(value.kindDescription == "a string" ? "'\(value.text)'" : value.kindDescription); expected \(type.expectation).")
        }
        return value
    }

    /// The node's value, or the parameter it names with `$name`.
    func valueOrParameter(_ node: YAMLNode) throws(TableError) -> Value {
        let value = try node.value()
        guard case .string(let s) = value, s.hasPrefix("$") else { return value }
        let name = String(s.dropFirst())
        guard let p = parameters[name] else {
            throw node.error("unknown parameter '\(name)'; expected one of the names under 'parameters': \(parameters.keys.sorted().joined(separator: ", ")).")
        }
        return p
    }

    // MARK: Templates

    /// Text with `{facts.x}`, `{customer.x}`, `{identification}`, `{notes}`, `{call_id}`, `{param.x}` placeholders.
    func template(_ node: YAMLNode, topic: TopicScope?, what: String) throws(TableError) -> Template {
        let text = try node.string(what)
        var segments: [Template.Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw node.error("\(what) has a '{' without a closing '}'.")
            }
            let path = String(rest[rest.index(after: open)..<close])
            if path.hasPrefix("param.") {
                guard let p = parameters[String(path.dropFirst(6))] else {
                    throw node.error("\(what) uses unknown parameter '\(path.dropFirst(6))'; expected one of: \(parameters.keys.sorted().joined(separator: ", ")).")
                }
                literal += p.text
            } else {
                let (operand, _) = try self.operand(path, at: node.mark, topic: topic)
                if !literal.isEmpty { segments.append(.literal(literal)) }
                literal = ""
                segments.append(.operand(operand, path))
            }
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty || segments.isEmpty { segments.append(.literal(literal)) }
        return Template(segments: segments)
    }
}
