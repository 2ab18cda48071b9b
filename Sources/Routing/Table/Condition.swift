/// Something a condition or template reads from the call, resolved to an index at load time.
package enum Operand: Sendable, Hashable {
    case fact(Int)
    case customer(Int)
    case language
    case identification
    case notes
    case callID
}

/// A condition over the call, its customer, its facts and the schedules, compiled from `when:`.
///
/// Conjunctions are evaluated in written order and stop at the first false part, so a fact is
/// required only when evaluation reaches it: the deciding branch's facts, no others.
package indirect enum Condition: Sendable {
    case always
    case all([Condition])
    case any([Condition])
    case not(Condition)
    case compare(Operand, Probe, Comparison)
    /// Whether a target's schedule is open (`open: X`) or closed (`closed: X`) at the instant.
    case targetOpen(Int, Bool)

    /// What a comparison reads, by name, with its trace lines rendered once for the values a bool or an
    /// enumerated field can take. A class: a trace line made for a call keeps its probe, not a copy of its texts.
    package final class Probe: Sendable {
        package let path: String
        /// The same for every probe of the table with this path and comparison (the compiler numbers them),
        /// so the trace takes a probe's line once: in one decision a path has one value, and its probe says the
        /// same words each time. Probes with different numbers say different words: the compiler numbers only
        /// comparisons whose words (which spell path and comparison) no other comparison says, and a path with
        /// `=` or `≠`, which could run into the value, gets no number. A probe without one has its lines
        /// compared as texts.
        package let id: Int?
        private let lines: Lines
        /// A line for any other value is `prefix`, the value, then the suffix for the result: put together
        /// from parts made once (``Condition/traceLine(_:_:_:_:)`` says the same words), as text or, written into
        /// a decision's JSON, as the JSON of those parts.
        private let prefix: String
        private let suffixWhenTrue: String
        private let suffixWhenFalse: String
        /// `"` and `prefix`, escaped; the suffixes escaped, then `"`. JSON escapes byte by byte, so the three
        /// parts written one after another are the line's JSON string.
        package let prefixJSON: [UInt8]
        package let suffixWhenTrueJSON: [UInt8]
        package let suffixWhenFalseJSON: [UInt8]

        /// The lines for a value: when the comparison holds and when it does not.
        struct Pair: Sendable {
            let whenTrue: RenderedText
            let whenFalse: RenderedText
        }

        /// Found by the value's kind: a bool's two directly, a few strings by comparing, many by hashing.
        enum Lines: Sendable {
            case none
            case bool(true: Pair, false: Pair)
            case few([(String, Pair)])
            case many([String: Pair])
        }

        /// - Parameter id: the number the compiler gives this path and comparison (``id``), nil for none;
        ///   ignored when the path has `=` or `≠`.
        package init(path: String, comparison: Comparison, domain: [Value], id: Int?) {
            self.path = path
            let distinct = id != nil && !path.unicodeScalars.contains { $0 == "=" || $0 == "≠" }
            self.id = distinct ? id : nil
            prefix = "\(path)="
            if case .equals = comparison { suffixWhenTrue = "" } else { suffixWhenTrue = " (\(path)\(comparison.symbol))" }
            suffixWhenFalse = " (not \(path)\(comparison.symbol))"
            prefixJSON = Array(JSONString.literal(prefix).dropLast())
            suffixWhenTrueJSON = Array(JSONString.literal(suffixWhenTrue).dropFirst())
            suffixWhenFalseJSON = Array(JSONString.literal(suffixWhenFalse).dropFirst())
            func pair(_ v: Value) -> Pair {
                // A numbered probe's lines can say what another line says only if that line is no probe's.
                Pair(whenTrue: RenderedText(Condition.traceLine(path, v, comparison, true), mayRepeatAComparison: !distinct),
                     whenFalse: RenderedText(Condition.traceLine(path, v, comparison, false), mayRepeatAComparison: !distinct))
            }
            var strings: [(String, Pair)] = []
            var bools: [Bool: Pair] = [:]
            for v in domain {
                switch v {
                case .bool(let b): bools[b] = pair(v)
                case .string(let s) where !strings.contains(where: { $0.0 == s }): strings.append((s, pair(v)))
                default: break
                }
            }
            if let t = bools[true], let f = bools[false], strings.isEmpty {
                lines = .bool(true: t, false: f)
            } else if strings.isEmpty {
                lines = .none
            } else if strings.count <= 8 {
                lines = .few(strings)
            } else {
                lines = .many(Dictionary(strings, uniquingKeysWith: { first, _ in first }))
            }
        }

        /// The line for a value and a result: rendered at load for a value the field enumerates, otherwise
        /// the value kept with the probe, its words put together only when read or written.
        package func line(_ value: Value?, _ result: Bool) -> TraceLine {
            let made: Pair? = switch (lines, value) {
            case (.bool(let t, let f), .bool(let b)?): b ? t : f
            case (.few(let strings), .string(let s)?): strings.first(where: { $0.0 == s })?.1
            case (.many(let strings), .string(let s)?): strings[s]
            default: nil
            }
            if let made { return .rendered(result ? made.whenTrue : made.whenFalse) }
            return .comparison(self, value, result)
        }

        /// The words of a line made for a call (``TraceLine/comparison(_:_:_:)``).
        func text(_ value: Value?, _ result: Bool) -> String {
            String(joining: prefix, Condition.shown(value), result ? suffixWhenTrue : suffixWhenFalse)
        }
    }

    /// How a comparison's line shows the value it read.
    package static func shown(_ value: Value?) -> String { value.map { $0.text } ?? "absent" }

    /// `facts.insists=true`, or `customer.vip=false (not customer.vip=true)`: a comparison as a supervisor reads it.
    package static func traceLine(_ path: String, _ value: Value?, _ comparison: Comparison, _ result: Bool) -> String {
        let shown = Condition.shown(value)
        if result, case .equals = comparison { return "\(path)=\(shown)" }
        return "\(path)=\(shown) (\(result ? "" : "not ")\(path)\(comparison.symbol))"
    }

    package enum Comparison: Sendable, Hashable {
        case equals(Value)
        case notEquals(Value)
        case oneOf([Value])
        case noneOf([Value])
        case less(Double)
        case lessOrEqual(Double)
        case greater(Double)
        case greaterOrEqual(Double)

        package func holds(for value: Value) -> Bool {
            switch self {
            case .equals(let v): return value == v
            case .notEquals(let v): return value != v
            case .oneOf(let vs): return vs.contains(value)
            case .noneOf(let vs): return !vs.contains(value)
            case .less(let n), .lessOrEqual(let n), .greater(let n), .greaterOrEqual(let n):
                guard case .number(let x) = value else { return false }
                switch self {
                case .less: return x < n
                case .lessOrEqual: return x <= n
                case .greater: return x > n
                default: return x >= n
                }
            }
        }

        /// The constants this comparison mentions, for enumerating a numeric or string domain.
        package var constants: [Value] {
            switch self {
            case .equals(let v), .notEquals(let v): [v]
            case .oneOf(let vs), .noneOf(let vs): vs
            case .less(let n), .lessOrEqual(let n), .greater(let n), .greaterOrEqual(let n): [.number(n)]
            }
        }

        var symbol: String {
            switch self {
            case .equals(let v): "=\(v.text)"
            case .notEquals(let v): "≠\(v.text)"
            case .oneOf(let vs): " in [\(vs.map(\.text).joined(separator: ", "))]"
            case .noneOf(let vs): " not in [\(vs.map(\.text).joined(separator: ", "))]"
            case .less(let n): "<\(Value.format(number: n))"
            case .lessOrEqual(let n): "≤\(Value.format(number: n))"
            case .greater(let n): ">\(Value.format(number: n))"
            case .greaterOrEqual(let n): "≥\(Value.format(number: n))"
            }
        }
    }

    /// Every operand the condition reads, with the comparisons made on it.
    package func visitComparisons(_ body: (Operand, Comparison) -> Void) {
        switch self {
        case .always, .targetOpen: break
        case .all(let cs), .any(let cs): cs.forEach { $0.visitComparisons(body) }
        case .not(let c): c.visitComparisons(body)
        case .compare(let o, _, let cmp): body(o, cmp)
        }
    }

    package func visitTargets(_ body: (Int) -> Void) {
        switch self {
        case .always, .compare: break
        case .all(let cs), .any(let cs): cs.forEach { $0.visitTargets(body) }
        case .not(let c): c.visitTargets(body)
        case .targetOpen(let t, _): body(t)
        }
    }
}

/// What a condition needs to be evaluated: values of operands, and schedule states.
package protocol ConditionContext {
    /// The operand's value; nil when the call leaves it out and it has no default.
    /// - Throws: `missing_fact` when the operand is required and absent.
    mutating func value(of operand: Operand, path: String) throws(InputError) -> Value?
    mutating func isOpen(target: Int) -> Bool
    /// Records a comparison that was made, for the trace.
    mutating func note(_ probe: Condition.Probe, _ value: Value?, _ comparison: Condition.Comparison, _ result: Bool)
    /// How the operand's value reads in text: its label, if the field gives one.
    func label(of operand: Operand, _ value: Value) -> String?
}

extension Condition {
    package func holds<C: ConditionContext>(in context: inout C) throws(InputError) -> Bool {
        switch self {
        case .always:
            return true
        case .all(let parts):
            for p in parts where try !p.holds(in: &context) { return false }
            return true
        case .any(let parts):
            for p in parts where try p.holds(in: &context) { return true }
            return false
        case .not(let c):
            return try !c.holds(in: &context)
        case .compare(let operand, let probe, let comparison):
            let value = try context.value(of: operand, path: probe.path)
            // An optional call field that is absent (language, identification) equals nothing.
            let result = value.map { comparison.holds(for: $0) } ?? {
                if case .notEquals = comparison { return true }
                if case .noneOf = comparison { return true }
                return false
            }()
            context.note(probe, value, comparison, result)
            return result
        case .targetOpen(let target, let wantOpen):
            return context.isOpen(target: target) == wantOpen
        }
    }
}
