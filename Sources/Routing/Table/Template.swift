/// Text with `{path}` placeholders filled from the call: `{facts.amount}`, `{identification}`, `{notes}`.
///
/// Parameters (`{param.name}`) are filled at load time, so a compiled template only reads the call.
package struct Template: Sendable, Hashable {
    package enum Segment: Sendable, Hashable {
        case literal(String)
        case operand(Operand, String)
    }

    package let segments: [Segment]
    /// The text, and its JSON escaped at load, when the template reads nothing from the call (most rules'
    /// comments): a decision keeps it by reference and its bytes are copied, not escaped again.
    package let constant: RenderedText?

    /// - Parameter purpose: why the call's values are needed, for the `missing_fact` message.
    package func render<C: ConditionContext>(in context: inout C, purpose: String = "to fill in the decision's text") throws(InputError) -> String {
        if segments.count == 1, case .literal(let s) = segments[0] { return s }
        var out = ""
        for segment in segments {
            switch segment {
            case .literal(let s): out += s
            case .operand(let operand, let path):
                guard let value = try context.value(of: operand, path: path) else {
                    throw .missingFact(path, because: purpose)
                }
                out += context.label(of: operand, value) ?? value.text
            }
        }
        return out
    }

    package init(segments: [Segment]) {
        self.segments = segments
        var text = ""
        for segment in segments {
            guard case .literal(let s) = segment else { constant = nil; return }
            text += s
        }
        constant = RenderedText(text)
    }

    package static func == (a: Template, b: Template) -> Bool { a.segments == b.segments }
    package func hash(into hasher: inout Hasher) { hasher.combine(segments) }
}
