/// A line of a decision's trace: one the table fixes (a topic's, a rule's, a comparison's for a value its
/// field enumerates, a target's usual schedule words), made once at load with its JSON; a comparison's for a
/// value its field does not enumerate (a number, a free string), kept as the probe and the value until it is
/// read or written; or one made for this call (a schedule's override, a session's step).
package enum TraceLine: Sendable {
    case rendered(RenderedText)
    case comparison(Condition.Probe, Value?, Bool)
    case text(String)

    package var text: String {
        switch self {
        case .rendered(let r): r.text
        case .comparison(let probe, let value, let result): probe.text(value, result)
        case .text(let s): s
        }
    }

    /// Whether two lines say the same: the same rendered line, or the same words.
    func says(_ other: TraceLine) -> Bool {
        if case .rendered(let a) = self, case .rendered(let b) = other {
            if a === b { return true }
            if a.textHash != b.textHash { return false }  // String's hash agrees with its equality
        }
        return text == other.text  // String's equality, canonical equivalence included, as the trace always compared
    }

    /// Whether this line might say what a numbered probe's line says (``Condition/Probe/id``): another
    /// numbered probe's never does, and a rendered text knows whether it can (``RenderedText``).
    var mayRepeatAComparison: Bool {
        switch self {
        case .rendered(let r): r.mayRepeatAComparison
        case .comparison(let probe, _, _): probe.id == nil
        case .text: true
        }
    }
}

extension TraceLine: Hashable {
    package static func == (a: TraceLine, b: TraceLine) -> Bool { a.says(b) }
    package func hash(into hasher: inout Hasher) { hasher.combine(text) }
}

extension [TraceLine] {
    /// Whether a line here says what `line` says (``TraceLine/says(_:)``), with the texts compared as few times as
    /// can be: a line with words of its own is hashed once and compared only with rendered lines of the same
    /// hash (String's hash agrees with its equality), instead of with each line's text.
    func contains(saying line: TraceLine) -> Bool {
        if case .rendered = line { return contains { $0.says(line) } }
        let text = line.text
        var hash: Int?
        for existing in self {
            switch existing {
            case .rendered(let r):
                let h = hash ?? text.hashValue
                hash = h
                if r.textHash == h && r.text == text { return true }
            case .comparison, .text:
                if existing.text == text { return true }
            }
        }
        return false
    }
}
