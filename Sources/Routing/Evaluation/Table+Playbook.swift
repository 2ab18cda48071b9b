extension Table {
    /// Starts, repeats or advances the call's playbook session, and decides its current step.
    ///
    /// A call without `facts.outcome` asks for the current step (starting the session if it is new);
    /// with one, it reports how the current step ended and gets the next. `sessions` changes only when
    /// a decision is returned.
    func advance(_ playbook: Playbook, topic: Topic, call: Call, at instant: Instant, operations: Operations,
                 sessions: inout SessionBook) throws(InputError) -> Decision {
        let given = try EvaluationContext(table: self, topic: topic, call: call, instant: instant)
        guard let idValue = given.optionalValue(of: playbook.session) else {
            throw .missingFact(playbook.sessionPath, because: "to find the session of playbook \(topic.code) (a string naming it)")
        }
        let id = idValue.text
        guard !id.trimmingWhitespace.isEmpty else {
            throw InputError(.badType, "\(playbook.sessionPath) names the session of playbook \(topic.code), so it must not be empty.", field: playbook.sessionPath)
        }
        var reported: String?
        if case .string(let s)? = given.optionalValue(of: .fact(playbook.outcomeFact)) { reported = s }
        var reportedStep: String?
        if case .string(let s)? = given.optionalValue(of: .fact(playbook.stepFact)) { reportedStep = s }
        var trace: [TraceLine] = [.rendered(topic.traceLine)]
        var session: Session
        if var existing = sessions[table: name, topic: topic.code, id: id] {
            for (k, v) in call.customer { existing.customer[k] = v }
            for (k, v) in call.facts where !Playbook.providedFacts.contains(k) { existing.facts[k] = v }
            existing.updatedAt = instant
            guard let current = playbook.stepIndex[existing.step] else {
                throw InputError(.staleStep, "session \(id) is at step \(existing.step), which playbook \(topic.code) no longer has; open a new session.", field: playbook.sessionPath)
            }
            if let reported {
                guard !existing.done else {
                    throw InputError(.sessionClosed, "session \(id) of playbook \(topic.code) finished at step \(existing.step); it takes no more outcomes.", field: "facts.outcome")
                }
                let last = existing.history.last?.at ?? existing.openedAt
                guard instant >= last else {
                    throw InputError(.badTime, "the outcome is reported at \(Timestamp.format(instant, in: zone)), before session \(id) \(existing.history.isEmpty ? "was opened" : "last advanced") (\(Timestamp.format(last, in: zone))); report outcomes in the order they happened.", field: "at")
                }
                if let reportedStep, reportedStep != existing.step {
                    throw InputError(.staleStep, "facts.step is \(reportedStep), but session \(id) is at step \(existing.step); report the outcome of the current step.", field: "facts.step")
                }
                let step = playbook.steps[current]
                guard let next = step.next.first(where: { $0.outcome == reported }) else {
                    throw InputError(.badOutcome, "facts.outcome at step \(step.id) must be one of \(step.next.map(\.outcome).joined(separator: ", ")), got \(reported).", field: "facts.outcome")
                }
                trace.append(.text("session \(id): \(step.id) ended \(reported)"))
                let entered = enter(playbook, step: next.step, visits: existing.visits, trace: &trace)
                existing.history.append(.init(at: instant, step: step.id, outcome: reported))
                existing.step = playbook.steps[entered].id
                existing.visits[existing.step, default: 0] += 1
                existing.done = playbook.steps[entered].isTerminal
            } else {
                trace.append(.text("session \(id): at step \(existing.step)"))
            }
            session = existing
        } else {
            guard reported == nil else {
                throw InputError(.unknownSession, "session \(id) of playbook \(topic.code) has not started; ask for its first step (without facts.outcome) before reporting outcomes.", field: "facts.outcome")
            }
            var mergeKey: [String]?
            var mergedInto: String?
            var first = playbook.start
            if let merge = playbook.merge {
                var parts: [String] = []
                for part in merge.by {
                    guard let v = given.optionalValue(of: part.operand) else {
                        throw .missingFact(part.path, because: "to tell whether this session repeats a recent one (\(merge.by.map(\.path).joined(separator: ", ")))")
                    }
                    guard !v.text.trimmingWhitespace.isEmpty else {
                        throw InputError(.badType, "\(part.path) tells whether this session repeats a recent one, so it must not be empty.", field: part.path)
                    }
                    parts.append(v.text)
                }
                mergeKey = parts
                if let earlier = sessions.mergeTarget(table: name, topic: topic.code, mergeKey: mergeKey!),
                   earlier.openedAt <= instant, instant.milliseconds - earlier.openedAt.milliseconds < merge.withinSeconds * 1000 {
                    mergedInto = earlier.id
                    first = merge.step
                    trace.append(.text("session \(id): same \(merge.by.map(\.path).joined(separator: " and ")) as session \(earlier.id), opened less than \(merge.withinSeconds / 60) min before: merged into it"))
                }
            }
            if mergedInto == nil { first = enter(playbook, step: first, visits: [:], trace: &trace) }
            trace.append(.text("session \(id): new, at step \(playbook.steps[first].id)"))
            let facts = call.facts.filter { !Playbook.providedFacts.contains($0.key) }
            session = Session(table: name, topic: topic.code, id: id, step: playbook.steps[first].id,
                              visits: [playbook.steps[first].id: 1], openedAt: instant, updatedAt: instant,
                              mergeKey: mergedInto == nil ? mergeKey : nil, mergedInto: mergedInto,
                              done: playbook.steps[first].isTerminal, customer: call.customer, facts: facts, history: [])
        }
        let stepNumber = playbook.stepIndex[session.step]!
        let step = playbook.steps[stepNumber]
        // The step reads what the session knows, not only what this call repeats.
        var known = call
        known.customer = session.customer
        known.facts = session.facts
        var context = try EvaluationContext(table: self, topic: topic, call: known, instant: instant)
        let attempt = session.visits[step.id] ?? 1
        if let limit = step.limit { trace.append(.text("\(step.id): attempt \(attempt) of \(limit)")) }
        context.trace = trace
        var instructions: [String] = []
        for instruction in step.instructions where try instruction.condition.holds(in: &context) {
            instructions.append(try instruction.text.render(in: &context))
        }
        let rule = "\(topic.code).\(step.id)"
        var decision: Decision
        if let outcome = step.outcome {
            decision = try decide(outcome, rule: rule, topic: topic, context: &context, operations: operations)
        } else {
            let comment = try self.comment(step.comment ?? topic.comment, context: &context)
            decision = Decision(action: .step, target: nil, case: nil, procedure: step.name, reason: nil, rule: rule,
                                phrases: step.phrases, comment: comment, checks: step.checks,
                                validUntil: nil, validUntilOffset: 0, traceLines: context.trace)
        }
        decision.playbook = .init(session: id, step: step.id, name: step.name, instructions: instructions,
                                  outcomes: session.done ? [] : step.next.map(\.outcome), attempt: attempt, limit: step.limit,
                                  done: session.done, mergedInto: session.mergedInto)
        sessions.save(session)
        return decision
    }

    /// The step actually entered when `step` is next: a step entered as often as its limit allows
    /// passes the session on to its `when_exhausted` step.
    private func enter(_ playbook: Playbook, step: Int, visits: [String: Int], trace: inout [TraceLine]) -> Int {
        var current = step
        var hops = 0
        while let limit = playbook.steps[current].limit, let exhausted = playbook.steps[current].whenExhausted,
              visits[playbook.steps[current].id, default: 0] >= limit, hops < playbook.steps.count {
            trace.append(.text("\(playbook.steps[current].id) already entered \(limit) of \(limit) times: \(playbook.steps[exhausted].id)"))
            current = exhausted
            hops += 1
        }
        return current
    }
}
