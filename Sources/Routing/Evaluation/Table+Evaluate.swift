extension Table {
    /// Decides a call at an instant: a pure function of the table, the call, the instant and the operational state.
    ///
    /// ```swift
    /// let decision = try table.evaluate(call, at: Instant(seconds: 1_795_000_000))
    /// ```
    /// A playbook topic's session lives only for this call (nothing keeps it); use
    /// ``evaluate(_:at:operations:sessions:)`` to keep sessions.
    /// - Throws: `InputError` with `unknown_topic`, `unknown_field`, `bad_type` or `missing_fact`.
    public func evaluate(_ call: Call, at instant: Instant, operations: Operations = Operations()) throws(InputError) -> Decision {
        var scratch = SessionBook()
        return try evaluate(call, at: instant, operations: operations, sessions: &scratch)
    }

    /// Decides a call, reading and advancing playbook sessions in `sessions` (other topics leave it alone).
    /// - Throws: `InputError`; for playbooks also `unknown_session`, `session_closed`, `stale_step`, `bad_outcome`.
    public func evaluate(_ call: Call, at instant: Instant, operations: Operations, sessions: inout SessionBook) throws(InputError) -> Decision {
        var decision = try decideCall(call, at: instant, operations: operations, sessions: &sessions)
        if !translations.isEmpty {
            // A menu speaks the language its caller chose; otherwise the call's.
            let language = decision.menu?.language ?? call.language
            decision.phrases = decision.phrases.map { localized($0, language: language) }  // drops the rendered phrases
            if decision.action == .selfService {
                decision.procedure = decision.procedure.map { localized($0, language: language) }
                if let asks = decision.menu?.asks { decision.menu?.asks = asks.map { localized($0, language: language) } }
            }
        }
        return decision
    }

    private func decideCall(_ call: Call, at instant: Instant, operations: Operations, sessions: inout SessionBook) throws(InputError) -> Decision {
        guard let topicNumber = topicNumber(call.topic) else {
            throw InputError(.unknownTopic, "topic \"\(call.topic)\" is not a topic of table \(name); expected one of: \(topicCodes.joined(separator: ", ")).", field: "topic")
        }
        let topic = topics[topicNumber]
        var context = try EvaluationContext(table: self, topic: topic, call: call, instant: instant)
        context.trace.append(.rendered(topic.traceLine))
        // Menus and playbooks are flows of their own: global rules are written for rule topics.
        if let menu = topic.menu { return try walk(menu, topic: topic, context: &context, operations: operations) }
        if let playbook = topic.playbook {
            return try advance(playbook, topic: topic, call: call, at: instant, operations: operations, sessions: &sessions)
        }
        return try applyRules(topic: topic, context: &context, operations: operations)
    }

    /// A rule topic's decision: the global rules, then the topic's, in order, each condition stopping at its
    /// first false part; the first that holds decides. The form walk (``formStep(for:at:operations:)``) runs
    /// the same, so it asks for exactly what deciding reads.
    func applyRules(topic: Topic, context: inout EvaluationContext, operations: Operations) throws(InputError) -> Decision {
        for rule in globalRules where try rule.condition.holds(in: &context) {
            return try decide(rule, topic: topic, context: &context, operations: operations)
        }
        for rule in topic.rules where try rule.condition.holds(in: &context) {
            return try decide(rule, topic: topic, context: &context, operations: operations)
        }
        // Loading proves every combination of facts reaches a rule; this guards tables built otherwise.
        throw InputError(.missingFact, "no rule of topic \(topic.code) applies to this call.", field: "facts")
    }

    private func decide(_ rule: Rule, topic: Topic, context: inout EvaluationContext, operations: Operations) throws(InputError) -> Decision {
        context.trace.append(.rendered(rule.traceLine))
        return try decide(rule.outcome, rule: rule.id, rendered: rule.rendered, topic: topic, context: &context, operations: operations)
    }

    /// The decision an outcome makes at this instant: redirects and schedules applied, comment rendered.
    /// - Parameter rendered: `rule` rendered at load; nil when `rule` is not a table rule's id.
    func decide(_ chosen: Outcome, rule: String, rendered: RenderedRule? = nil, topic: Topic, context: inout EvaluationContext,
                operations: Operations) throws(InputError) -> Decision {
        let outcome = try settle(chosen, context: &context)
        // A fallback's own comment replaces the rule's, which is then never rendered.
        let commentTemplate = outcome.comment ?? chosen.comment ?? topic.comment
        let comment = try self.comment(commentTemplate, context: &context)
        let validUntil = context.nextScheduleChange()
        let offset = validUntil.map { zone.offset(at: $0) } ?? 0
        let said: String?
        let fragments: DecisionFragments
        switch outcome.kind {
        case .transfer(let t):
            let target = targets[t]
            // While CTI is down every transfer goes by number, to the target's number if it has one (else the
            // address it would have had), and says so (`via: number`).
            let byNumber = operations.ctiIncident
            if byNumber { context.trace.append(.rendered(Table.ctiIncidentLine)) }
            if let template = outcome.address {
                said = try template.render(in: &context, purpose: "to address the transfer")
            } else if byNumber, let number = target.number {
                said = number
            } else {
                said = context.customerRegion.flatMap { target.regionAddresses[$0] } ?? target.address ?? ""
            }
            fragments = DecisionFragments(head: .transfer(renderedTargets[t], byNumber: byNumber), rule: rendered, outcome: outcome)
        case .openCase(let c):
            let category = renderedCases[c]
            said = nil
            fragments = DecisionFragments(head: .openCase(category, ownSubject: outcome.subject.map(category.head(subject:))),
                                          rule: rendered, outcome: outcome)
        case .firstLine(let template):
            said = try template.render(in: &context)
            fragments = DecisionFragments(head: .bytes(Decision.Action.firstLineHead), rule: rendered, outcome: outcome)
        case .deny(let template):
            said = try template.render(in: &context)
            fragments = DecisionFragments(head: .bytes(Decision.Action.denyHead), rule: rendered, outcome: outcome)
        case .selfService(let template, _):
            said = try template.render(in: &context)
            fragments = DecisionFragments(head: .bytes(Decision.Action.selfServiceHead), rule: rendered, outcome: outcome)
        }
        return Decision(action: outcome.kind.action, fragments: fragments, said: said, rule: rule, comment: comment,
                        validUntil: validUntil, validUntilOffset: offset, traceLines: context.trace)
    }

    /// Applies redirects and schedules: the outcome that actually happens at this instant.
    private func settle(_ outcome: Outcome, context: inout EvaluationContext) throws(InputError) -> Outcome {
        guard case .transfer(let original) = outcome.kind else { return outcome }
        var t = original
        for (r, redirect) in redirects.enumerated() where redirect.from == t {
            if try redirect.condition.holds(in: &context) {
                context.trace.append(.rendered(redirectLines[r]))
                t = redirect.to
                break
            }
        }
        let target = targets[t]
        let redirected = t == original ? outcome : outcome.retargeted(to: t)
        guard let s = target.schedule else { return redirected }
        let state = schedules[s].state(at: context.instant, zone: zone)
        context.consult(schedule: s)
        context.trace.append(scheduleLine(target: t, state))
        if state.isOpen { return redirected }
        for fallback in outcome.whenClosed {
            if case .transfer(let f) = fallback.kind, let fs = targets[f].schedule {
                let fstate = schedules[fs].state(at: context.instant, zone: zone)
                context.consult(schedule: fs)
                context.trace.append(scheduleLine(target: f, fstate))
                if !fstate.isOpen { continue }
            }
            context.trace.append(.text("when closed: \(fallback.kind.summary(self))"))
            return fallback
        }
        // Loading requires a fallback chain that cannot close; a transfer nobody answers is still the best answer here.
        return redirected
    }

    /// The interaction comment: the rule's text, then `идент. …`, then the agent's notes, masked (``SensitiveData``).
    /// - Parameter template: the rule's comment, rendered here unless it reads nothing from the call.
    func comment(_ template: Template?, context: inout EvaluationContext) throws(InputError) -> InteractionComment {
        let lead: InteractionComment.Lead
        if let constant = template?.constant { lead = .constant(constant) } else { lead = .text(try template?.render(in: &context) ?? "") }
        let identification = context.identification.flatMap { $0.isEmpty ? nil : $0 }
        // Notes are the agent's free text: card numbers and codes said aloud must not reach the journal. A call
        // read from a request had them masked then, and masking a trimmed masked text changes nothing
        // (MaskingPropertyTests), so only a call made otherwise (scenarios, the gateway's form) is masked here.
        var notes: String?
        if let trimmed = context.notes?.trimmingWhitespace, !trimmed.isEmpty {
            notes = context.notesAreMasked ? trimmed : SensitiveData.mask(trimmed)
        }
        return try InteractionComment(lead: lead, identification: identification, notes: notes, format: commentFormat) {
            () throws(InputError) -> String in try commentFormat.identification.render(in: &context)
        }
    }
}

extension Outcome.Kind {
    var action: Decision.Action {
        switch self {
        case .transfer: .transfer
        case .openCase: .openCase
        case .firstLine: .firstLine
        case .deny: .deny
        case .selfService: .selfService
        }
    }

    package func summary(_ table: Table) -> String {
        switch self {
        case .transfer(let t): "transfer to \(table.targets[t].id)"
        case .openCase(let c): "case \(table.cases[c].id)"
        case .firstLine: "first line"
        case .deny: "deny"
        case .selfService: "self service"
        }
    }
}

extension String {
    /// Whether the last character is `.`, `!`, `?` or `…`. The last scalar is looked at first: comparing
    /// `Character`s for every comment was a fifth of assembling it, and only a text ending in one of those
    /// scalars can end in one of those characters.
    var endsSentence: Bool {
        guard let scalar = unicodeScalars.last, String.sentenceEnds(scalar) else { return false }
        return last.map { ".!?…".contains($0) } ?? false
    }

    /// Whether a text whose last scalar is `scalar` may end a sentence (``endsSentence``).
    static func sentenceEnds(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "." || scalar == "!" || scalar == "?" || scalar == "…"
    }

    package var trimmingWhitespace: String {
        // Nothing to trim, decided without forming Characters: a Character is whitespace when its first scalar
        // is, the first character starts with the text's first scalar, and a visible ASCII last scalar begins
        // the last character (or follows a prepended mark, which is not whitespace either).
        if let first = unicodeScalars.first, let last = utf8.last, !first.properties.isWhitespace, (0x21...0x7E).contains(last) { return self }
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
