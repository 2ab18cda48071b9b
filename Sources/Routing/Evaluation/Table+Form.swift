/// What an agent's form asks for a call in progress: the facts the deciding branch reads, given the answers so far.
public struct FormStep: Sendable {
    /// The topic's facts the branch reaches, in the order deciding reads them: those answered, then the one
    /// to ask next. Value labels are in the call's language where the table gives them in it.
    /// For a menu or playbook topic, all its facts (their flows ask step by step through their decisions).
    public let facts: [FieldSpec]
    /// The customer fields the branch reads (with their labels in the call's language).
    public let customer: [FieldSpec]
    /// The field to answer next, `facts.<name>` or `customer.<name>`; nil when the answers decide the call.
    public let next: String?
}

extension Table {
    /// Walks a rule topic as deciding does — the global rules, then the topic's, in order, each condition
    /// stopping at its first false part — and stops at the first fact or customer field reached that the
    /// call does not answer: that one is asked next. Facts only behind conditions already ruled out are never
    /// reached, so they are not asked. When the walk reaches a decision, nothing is missing (`next` is nil).
    ///
    /// Pure, like ``evaluate(_:at:operations:)``: open hours decide branches at `instant`, sessions are untouched.
    /// ```swift
    /// let step = try table.formStep(for: Call(callID: "c", topic: "demands_senior", facts: ["reason_given": .bool(false)]), at: now)
    /// // step.facts.map(\.name) == ["reason_given"], step.next == nil: the other two facts are not asked
    /// ```
    /// - Throws: `InputError` as deciding does for what the call does give: `unknown_topic`, `unknown_field`, `bad_type`.
    public func formStep(for call: Call, at instant: Instant, operations: Operations = Operations()) throws(InputError) -> FormStep {
        guard let topicNumber = topicNumber(call.topic) else {
            throw InputError(.unknownTopic, "topic \"\(call.topic)\" is not a topic of table \(name); expected one of: \(topicCodes.joined(separator: ", ")).", field: "topic")
        }
        let topic = topics[topicNumber]
        var context = try EvaluationContext(table: self, topic: topic, call: call, instant: instant)
        if topic.menu != nil || topic.playbook != nil {
            return FormStep(facts: topic.facts.map { localized($0, language: call.language) }, customer: [], next: nil)
        }
        context.reached = []
        var next: String?
        do {
            _ = try applyRules(topic: topic, context: &context, operations: operations)
        } catch where error.code == .missingFact && (error.field?.hasPrefix("facts.") == true || error.field?.hasPrefix("customer.") == true) {
            next = error.field
        }
        var facts: [FieldSpec] = []
        var customer: [FieldSpec] = []
        for operand in context.reached ?? [] {
            switch operand {
            case .fact(let i): facts.append(localized(topic.facts[i], language: call.language))
            case .customer(let i): customer.append(localized(customerFields[i], language: call.language))
            default: break
            }
        }
        return FormStep(facts: facts, customer: customer, next: next)
    }

    /// The field with its value labels in `language`, where the table translates them.
    private func localized(_ field: FieldSpec, language: String?) -> FieldSpec {
        FieldSpec(name: field.name, type: field.type, defaultValue: field.defaultValue, description: field.description,
                  labels: field.labels.mapValues { localized($0, language: language) })
    }
}
