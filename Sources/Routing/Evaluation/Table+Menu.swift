extension Table {
    /// Follows the keys pressed so far (`facts.digits`) from the menu's start: the node now waiting for a
    /// key, or the outcome an option or a node's fallback reached.
    func walk(_ menu: Menu, topic: Topic, context: inout EvaluationContext, operations: Operations) throws(InputError) -> Decision {
        var digits = ""
        if case .string(let s)? = context.optionalValue(of: .fact(menu.digitsFact)) { digits = s }
        if let bad = digits.first(where: { !Keypad.keys.contains($0) }) {
            throw InputError(.badType, "facts.digits must hold only keypad keys 0-9, * and #, got '\(bad)'.", field: "facts.digits")
        }
        var node = menu.nodes[menu.start]
        var language = context.language ?? menu.defaultLanguage
        var invalid = 0
        var pressed = 0
        for key in digits {
            pressed += 1
            guard let option = node.options.first(where: { $0.key == key }) else {
                invalid += 1
                if invalid > node.retries {
                    // This key is the one too many: say so, not that it was still allowed.
                    context.trace.append(.text("key \(key) at \(node.id): not an option, invalid key \(invalid), more than the \(node.retries) tolerated: fallback"))
                    return try finish(node.fallback, rule: "\(topic.code).\(node.id).fallback", pressed: pressed, of: digits,
                                      node: node, language: language, topic: topic, context: &context, operations: operations)
                }
                context.trace.append(.text("key \(key) at \(node.id): not an option, invalid key \(invalid) of the \(node.retries) tolerated: prompt again"))
                continue
            }
            context.trace.append(.text("key \(key) at \(node.id): \(option.label.text(in: language))"))
            if let chosen = option.language { language = chosen }
            switch option.exit {
            case .node(let next):
                node = menu.nodes[next]
                invalid = 0
            case .outcome(let outcome):
                return try finish(outcome, rule: "\(topic.code).\(node.id).\(key)", pressed: pressed, of: digits,
                                  node: node, language: language, topic: topic, context: &context, operations: operations)
            }
        }
        var prompt = node.prompt.text(in: language)
        if invalid > 0, let again = menu.invalidPrompt?.text(in: language) { prompt = again + " " + prompt }
        var decision = Decision(action: .prompt, target: nil, case: nil, procedure: nil, reason: nil, rule: "\(topic.code).\(node.id)",
                                phrases: [], comment: InteractionComment(text: ""), checks: [], validUntil: nil, validUntilOffset: 0, traceLines: context.trace)
        decision.menu = .init(node: node.id, language: language, prompt: prompt,
                              options: node.options.map { .init(key: String($0.key), label: $0.label.text(in: language)) },
                              invalid: invalid, retries: node.retries, asks: [])
        return decision
    }

    /// The decision of a leaf or fallback; keys after it are an error, since the menu no longer listens.
    private func finish(_ outcome: Outcome, rule: String, pressed: Int, of digits: String, node: MenuNode, language: String,
                        topic: Topic, context: inout EvaluationContext, operations: Operations) throws(InputError) -> Decision {
        guard pressed == digits.count else {
            throw InputError(.badType, "facts.digits goes on after key \(pressed), where the menu left node \(node.id) (\(rule)); expected at most \(pressed) keys.",
                             field: "facts.digits")
        }
        var decision = try decide(outcome, rule: rule, topic: topic, context: &context, operations: operations)
        let asks: [String] = if case .selfService(_, let asks) = outcome.kind { asks } else { [] }
        decision.menu = .init(node: node.id, language: language, prompt: nil, options: [], invalid: 0, retries: node.retries, asks: asks)
        return decision
    }
}
