/// Text with `{path}` placeholders filled from the call: `{facts.amount}`, `{identification}`, `{notes}`.
///
/// Parameters (`{param.name}`) are filled at load time, so a compiled template only reads the call.
package struct Template: Sendable, Hashable {
    package enum Segment: Sendable, Hashable {
        case literal(String)
        case operand(Operand, String)
    }

    package let segments: [Segment]

    var isConstant: Bool { segments.allSatisfy { if case .literal = $0 { true } else { false } } }

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
    }
}
