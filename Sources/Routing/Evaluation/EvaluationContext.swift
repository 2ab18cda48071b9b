/// The state of one evaluation: the call's values checked against the table, schedules consulted, the trace.
struct EvaluationContext: ConditionContext {
    let table: Table
    let topic: Topic
    let instant: Instant
    /// The call's own texts a decision may read (its facts and customer fields are in the slots): kept instead
    /// of a copy of the call, whose member lists and slots were retained and released for each decision.
    let callID: String
    let language: String?
    let identification: String?
    let notes: String?
    /// Whether `notes` went through ``SensitiveData/mask(_:)`` already (``Call/notesAreMasked``).
    let notesAreMasked: Bool
    /// The topic's facts, indexed like `topic.facts`, and the table's customer fields, indexed like
    /// `table.customerFields` (defaults applied): `.null` where the call does not give a value (an explicit null
    /// counts as not given). Not `[Value?]`: destroying an array of optionals goes through Optional's generic
    /// value witness for each element, which was a tenth of evaluation's reference counting.
    private let facts: [Value]
    private let customer: [Value]
    /// The schedules this decision looked at: a bit each for the first 64 of the table, a list for any beyond
    /// (a list for all of them was an allocation for most decisions).
    private var consultedBits: UInt64 = 0
    private var consultedBeyond: [Int] = []
    /// The numbered probes noted (``Condition/Probe/id``), as bits: the first 64 here, the rest in words.
    private var notedBits: UInt64 = 0
    private var notedBeyond: [UInt64] = []
    var trace: [TraceLine]
    /// When not nil, every fact and customer field the evaluation reads, answered or not, in the order first
    /// read (the form walk); nil while deciding, which keeps nothing.
    var reached: [Operand]?

    init(table: Table, topic: Topic, call: Call, instant: Instant) throws(InputError) {
        // The slots are checked and filled apart, and `self` is set up by an initialiser that cannot throw: a
        // throwing initialiser that set up `self` kept a copy of it to destroy on the error path.
        let facts = try EvaluationContext.facts(topic: topic, call: call)
        let customer = try EvaluationContext.customer(table: table, call: call)
        self.init(table: table, topic: topic, call: call, instant: instant, facts: facts, customer: customer)
    }

    private init(table: Table, topic: Topic, call: Call, instant: Instant, facts: [Value], customer: [Value]) {
        // A decision's trace is a handful of lines: one allocation instead of growing 1, 2, 4, 8.
        var trace: [TraceLine] = []
        trace.reserveCapacity(16)
        self.table = table
        self.topic = topic
        self.instant = instant
        self.callID = call.callID
        self.language = call.language
        self.identification = call.identification
        self.notes = call.notes
        self.notesAreMasked = call.notesAreMasked
        self.facts = facts
        self.customer = customer
        self.trace = trace
    }

    /// The call's facts checked against the topic: taken as they are when Wire's reader read them into this
    /// topic's slots (``Call/factSlots``), which it does only for members the topic takes, of their types.
    private static func facts(topic: Topic, call: Call) throws(InputError) -> [Value] {
        if let slots = call.factSlots, slots.keys === topic.factKeys { return slots.values }
        var facts = topic.noFacts
        // In the call's order, so the first offending value is the one the error names. A name is found by
        // comparing it with the few the topic declares (no hashing), and its path (`facts.NAME`) is spelt
        // only for an error.
        for member in call.factsAsGiven {
            guard let i = topic.factNames.index(ofName: member.key) else {
                let field = "facts.\(member.key)"
                throw InputError(.unknownField, topic.facts.isEmpty
                    ? "\(field) is not a fact of topic \(topic.code), which takes no facts."
                    : "\(field) is not a fact of topic \(topic.code); expected one of: \(topic.factNames.joined(separator: ", ")).",
                    field: field)
            }
            facts[i] = try EvaluationContext.checked(member.value, topic.facts[i], "facts.\(member.key)") ?? .null
        }
        return facts
    }

    /// The call's customer fields checked against the table, defaults applied where none is given; taken as
    /// they are when read into this table's slots (``Call/customerSlots``).
    private static func customer(table: Table, call: Call) throws(InputError) -> [Value] {
        if let slots = call.customerSlots, slots.keys === table.customerKeys { return slots.values }
        var customer = table.customerDefaults
        for member in call.customerAsGiven {
            guard let i = table.customerFieldNames.index(ofName: member.key) else {
                let field = "customer.\(member.key)"
                throw InputError(.unknownField, "\(field) is not a customer field of table \(table.name); expected one of: \(table.customerFieldNames.joined(separator: ", ")).", field: field)
            }
            customer[i] = try EvaluationContext.checked(member.value, table.customerFields[i], "customer.\(member.key)") ?? customer[i]
        }
        return customer
    }

    mutating func value(of operand: Operand, path: String) throws(InputError) -> Value? {
        if reached != nil, !reached!.contains(operand) { reached!.append(operand) }
        if let v = optionalValue(of: operand) { return v }
        // The call's own optional fields may be absent; a fact or customer field a branch reads may not.
        switch operand {
        case .fact(let i): throw .missingFact(path, because: "to decide topic \(topic.code) (\(topic.facts[i].type.expectation))")
        case .customer(let i): throw .missingFact(path, because: "to decide topic \(topic.code) (\(table.customerFields[i].type.expectation))")
        default: return nil
        }
    }

    /// A fact or customer field's value, nil when the call does not give it (for what may be absent).
    func optionalValue(of operand: Operand) -> Value? {
        switch operand {
        case .fact(let i): facts[i].given
        case .customer(let i): customer[i].given
        case .language: language.map(Value.string)
        case .identification: identification.map(Value.string)
        case .notes: notes.map(Value.string)
        case .callID: .string(callID)
        }
    }

    /// The value if it has the field's type; nil for an explicit null, which counts as not given.
    private static func checked(_ value: Value, _ spec: FieldSpec, _ field: @autoclosure () -> String) throws(InputError) -> Value? {
        if case .null = value { return nil }
        guard spec.type.accepts(value) else {
            let field = field()
            let got = if case .string(let s) = value { "\"\(s)\"" } else { value.kindDescription }
            throw InputError(.badType, "\(field) must be \(spec.type.expectation), got \(got).", field: field)
        }
        return value
    }

    var customerRegion: String? {
        guard let i = table.regionField, case .string(let r) = customer[i] else { return nil }
        return r
    }

    mutating func isOpen(target: Int) -> Bool {
        guard let s = table.targets[target].schedule else {
            trace.append(.rendered(table.scheduleLines[target].open))
            return true
        }
        consult(schedule: s)
        let state = table.schedules[s].state(at: instant, zone: table.zone)
        trace.append(table.scheduleLine(target: target, state))
        return state.isOpen
    }

    mutating func note(_ probe: Condition.Probe, _ value: Value?, _ comparison: Condition.Comparison, _ result: Bool) {
        // Several rules and redirects may test the same thing; the reader needs it once. A numbered probe says
        // the same each time in a decision and differs from every other numbered one, so only its first note
        // is a line, and only a line that may repeat a comparison's is compared with it.
        if let id = probe.id {
            guard firstNote(ofProbe: id) else { return }
            let line = probe.line(value, result)  // the probe was made for this comparison
            if trace.contains(where: \.mayRepeatAComparison), trace.contains(saying: line) { return }
            trace.append(line)
        } else {
            let line = probe.line(value, result)
            if !trace.contains(saying: line) { trace.append(line) }
        }
    }

    /// Marks the probe noted; whether it was not before.
    private mutating func firstNote(ofProbe id: Int) -> Bool {
        if id < UInt64.bitWidth {
            let bit: UInt64 = 1 << id
            defer { notedBits |= bit }
            return notedBits & bit == 0
        }
        // Beyond the first 64 (large tables), a bit each in words made when first needed.
        let word = id / UInt64.bitWidth - 1, bit: UInt64 = 1 << (id % UInt64.bitWidth)
        if notedBeyond.count <= word { notedBeyond.append(contentsOf: repeatElement(0, count: word + 1 - notedBeyond.count)) }
        defer { notedBeyond[word] |= bit }
        return notedBeyond[word] & bit == 0
    }

    func label(of operand: Operand, _ value: Value) -> String? {
        guard case .string(let s) = value else { return nil }
        switch operand {
        case .fact(let i): return topic.facts[i].labels[s]
        case .customer(let i): return table.customerFields[i].labels[s]
        default: return nil
        }
    }

    mutating func consult(schedule: Int) {
        if schedule < UInt64.bitWidth {
            consultedBits |= 1 << schedule
        } else if !consultedBeyond.contains(schedule) {
            consultedBeyond.append(schedule)
        }
    }

    /// The earliest instant at which any schedule this decision looked at opens or closes.
    func nextScheduleChange() -> Instant? {
        var earliest: Instant?
        func consider(_ s: Int) {
            if let next = table.schedules[s].nextChange(after: instant, zone: table.zone), earliest.map({ next < $0 }) ?? true {
                earliest = next
            }
        }
        var bits = consultedBits
        while bits != 0 {
            consider(bits.trailingZeroBitCount)
            bits &= bits - 1
        }
        consultedBeyond.forEach(consider)
        return earliest
    }
}

private extension Value {
    /// nil for `.null`, the slots' "not given".
    var given: Value? { if case .null = self { nil } else { self } }
}
