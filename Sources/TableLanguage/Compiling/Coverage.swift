import Routing
/// Proves at load time that a topic's rules decide every call and that each rule can decide one.
///
/// Every value a rule can tell apart is enumerated: both booleans, each enumerated value, each
/// number a comparison mentions and its neighbours, each text compared and one other, open and
/// closed for each schedule read. The first rule that holds for a combination decides it; a
/// combination no rule decides is a gap, and a rule that decides none is unreachable.
enum Coverage {
    /// Beyond this many combinations a topic is too large to check exhaustively; split it.
    static let maximumCombinations = 1 << 18

    static func analyze(_ topic: Topic, globalRules: [Rule], table: TableCompiler, mark: SourceMark) -> (TopicCoverage, [CoverageFinding]) {
        var operands: [Operand] = []
        var paths: [String] = []
        var constants: [[Value]] = []
        var targets: [Int] = []
        func visit(_ condition: Condition) {
            condition.visitComparisons { operand, comparison in
                if let i = operands.firstIndex(of: operand) {
                    constants[i] += comparison.constants
                } else {
                    operands.append(operand)
                    constants.append(comparison.constants)
                    paths.append(path(of: operand, topic: topic, table: table))
                }
            }
            condition.visitTargets { if !targets.contains($0) { targets.append($0) } }
        }
        for rule in globalRules + topic.rules { visit(rule.condition) }
        let domains: [[Value?]] = operands.enumerated().map { i, operand in
            domain(type: type(of: operand, topic: topic, table: table), mentioned: constants[i], optional: isOptional(operand))
        }
        var total = 1 << targets.count
        for d in domains {
            total = total.multipliedReportingOverflow(by: d.count).partialValue
            if total > maximumCombinations || total <= 0 {
                return (TopicCoverage(code: topic.code, combinations: 0, rules: topic.rules.count, gaps: 0, unreachable: 0, overlaps: 0),
                        [CoverageFinding(kind: .gap, mark: mark, message: "topic '\(topic.code)' distinguishes more than \(maximumCombinations) combinations of facts; split it into smaller topics so it can be checked.")])
            }
        }
        var reached = Array(repeating: false, count: topic.rules.count)
        var gaps: [String] = []
        var gapCount = 0
        // overlapping[(earlier, later)] = how many combinations the earlier decides that the later also matches.
        var overlapping: [Int: [Int: Int]] = [:]
        var counter = Array(repeating: 0, count: domains.count)
        for combination in 0..<total {
            var context = AssignedContext(operands: operands, values: zip(domains, counter).map { $0[$1] },
                                          targets: targets, openMask: combination & ((1 << targets.count) - 1))
            let global = globalRules.contains { (try? $0.condition.holds(in: &context)) == true }
            if !global {
                if let r = topic.rules.firstIndex(where: { (try? $0.condition.holds(in: &context)) == true }) {
                    reached[r] = true
                    for later in (r + 1)..<topic.rules.count {
                        if case .always = topic.rules[later].condition { continue }  // a catch-all overlaps by design
                        if (try? topic.rules[later].condition.holds(in: &context)) == true { overlapping[r, default: [:]][later, default: 0] += 1 }
                    }
                } else if gaps.count < 3 {
                    gapCount += 1
                    var described = zip(paths, context.values).map { "\($0)=\($1?.text ?? "absent")" }
                    described += targets.enumerated().map { i, t in "\(table.targets[t].id) \(context.openMask & (1 << i) != 0 ? "open" : "closed")" }
                    gaps.append(described.isEmpty ? "every call" : described.joined(separator: ", "))
                } else {
                    gapCount += 1
                }
            }
            // Advance the mixed-radix counter once per full cycle of the schedule bits.
            if (combination + 1) % (1 << targets.count) == 0 {
                var k = 0
                while k < counter.count {
                    counter[k] += 1
                    if counter[k] < domains[k].count { break }
                    counter[k] = 0
                    k += 1
                }
            }
        }
        var findings = gaps.map {
            CoverageFinding(kind: .gap, mark: mark, message: "topic '\(topic.code)' has no rule for \($0); add a rule for it or a final rule without 'when'.")
        }
        if gapCount > gaps.count {
            findings.append(CoverageFinding(kind: .gap, mark: mark, message: "topic '\(topic.code)' has \(gapCount - gaps.count) more combinations without a rule."))
        }
        var unreachable = 0
        for (i, rule) in topic.rules.enumerated() where !reached[i] {
            unreachable += 1
            findings.append(CoverageFinding(kind: .unreachable, mark: rule.mark, message: "rule '\(rule.id)' is unreachable: earlier rules decide every call it would match."))
        }
        var overlaps = 0
        for (earlier, laters) in overlapping.sorted(by: { $0.key < $1.key }) {
            for (later, count) in laters.sorted(by: { $0.key < $1.key }) where reached[later] {
                overlaps += 1
                findings.append(CoverageFinding(kind: .overlap, mark: topic.rules[later].mark,
                    message: "rule '\(topic.rules[later].id)' overlaps the earlier rule '\(topic.rules[earlier].id)', which decides \(count) combination(s) it would also match."))
            }
        }
        return (TopicCoverage(code: topic.code, combinations: total, rules: topic.rules.count, gaps: gapCount, unreachable: unreachable, overlaps: overlaps), findings)
    }

    private static func isOptional(_ operand: Operand) -> Bool {
        switch operand {
        case .language, .identification, .notes: true
        default: false
        }
    }

    private static func type(of operand: Operand, topic: Topic, table: TableCompiler) -> FieldType {
        switch operand {
        case .fact(let i): topic.facts[i].type
        case .customer(let i): table.customerFields[i].type
        default: .string
        }
    }

    private static func path(of operand: Operand, topic: Topic, table: TableCompiler) -> String {
        switch operand {
        case .fact(let i): "facts.\(topic.facts[i].name)"
        case .customer(let i): "customer.\(table.customerFields[i].name)"
        case .language: "language"
        case .identification: "identification"
        case .notes: "notes"
        case .callID: "call_id"
        }
    }

    /// The values that stand for every value of a field, as far as the mentioned constants can tell.
    static func domain(type: FieldType, mentioned: [Value], optional: Bool) -> [Value?] {
        var out: [Value?]
        switch type {
        case .bool:
            out = [.bool(true), .bool(false)]
        case .enumeration(let values):
            out = values.map { .string($0) }
        case .integer, .number:
            let step = type == .integer ? 1.0 : 0.5
            var numbers: Set<Double> = []
            for case .number(let n) in mentioned { numbers.formUnion([n - step, n, n + step]) }
            if numbers.isEmpty { numbers = [0] }
            out = numbers.sorted().map { .number($0) }
        case .string:
            var texts: [Value?] = []
            for v in mentioned where !texts.contains(v) { texts.append(v) }
            // A text no comparison mentions, standing for all of them.
            var other = "other", n = 1
            while texts.contains(.string(other)) { n += 1; other = "other\(n)" }
            texts.append(.string(other))
            out = texts
        }
        if optional { out.append(nil) }
        return out
    }
}

/// A condition context whose operands and schedule states are fixed values: one combination.
private struct AssignedContext: ConditionContext {
    let operands: [Operand]
    let values: [Value?]
    let targets: [Int]
    let openMask: Int

    mutating func value(of operand: Operand, path: String) throws(InputError) -> Value? {
        operands.firstIndex(of: operand).flatMap { values[$0] }
    }

    mutating func isOpen(target: Int) -> Bool {
        targets.firstIndex(of: target).map { openMask & (1 << $0) != 0 } ?? true
    }

    mutating func note(_ probe: Condition.Probe, _ value: Value?, _ comparison: Condition.Comparison, _ result: Bool) {}

    func label(of operand: Operand, _ value: Value) -> String? { nil }
}
