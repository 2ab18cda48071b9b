/// A call as the contract describes it: what the agent or IVR knows when asking for a decision.
///
/// `customer` and `facts` are kept as given, in the order the call gave them; their types are checked against
/// the table at evaluation, because each table (and each topic) declares its own. Two calls are equal when
/// they give the same values, whatever their order.
public struct Call: Sendable {
    public var callID: String
    public var topic: String
    public var language: String?
    public var identification: String?
    /// The customer's fields in the order the call gave them, no name twice (made from ``customerSlots`` when
    /// Wire's reader read them straight into the table's slots).
    public var customerAsGiven: [Value.Member] {
        get { customerMembers.members }
        set { customerMembers = .list(newValue) }
    }
    /// The facts in the order the call gave them, no name twice: evaluation reads them in this order, so
    /// the first offending fact of a call is the one an error names (made from ``factSlots`` when Wire's
    /// reader read them straight into the topic's slots).
    public var factsAsGiven: [Value.Member] {
        get { factMembers.members }
        set { factMembers = .list(newValue) }
    }
    /// The customer's fields as read straight into the table's slots, when the reader knew the table; then
    /// ``customerAsGiven`` is made from them when read.
    package var customerSlots: GivenSlots? { customerMembers.slots }
    /// The facts as read straight into the topic's slots, when the reader knew the table and the topic.
    package var factSlots: GivenSlots? { factMembers.slots }
    private var customerMembers: Members
    private var factMembers: Members

    /// Members as given, or as read into slots: one or the other, so a call copied holds no more than it needs.
    private enum Members: Sendable {
        case list([Value.Member])
        case slots(GivenSlots)

        var members: [Value.Member] {
            switch self {
            case .list(let members): members
            case .slots(let slots): slots.members
            }
        }

        var slots: GivenSlots? {
            if case .slots(let slots) = self { slots } else { nil }
        }
    }
    public var notes: String? {
        didSet { notesAreMasked = false }
    }
    /// Whether `notes` has been through ``SensitiveData/mask(_:)`` since it was last set (by ``masked()`` or a
    /// reader that masks), so the comment need not mask it again; setting `notes` clears it.
    package var notesAreMasked = false

    public init(callID: String, topic: String, language: String? = nil, identification: String? = nil,
                customer: [String: Value] = [:], facts: [String: Value] = [:], notes: String? = nil) {
        self.callID = callID
        self.topic = topic
        self.language = language
        self.identification = identification
        self.customerMembers = .list(Call.members(customer))
        self.factMembers = .list(Call.members(facts))
        self.notes = notes
    }

    /// A call with nothing given, for ``Reader`` to fill in; without the public initialiser's dictionaries
    /// (sorting and copying even empty ones cost a tenth of reading a call).
    private init(empty: Void) {
        callID = ""
        topic = ""
        customerMembers = .list([])
        factMembers = .list([])
    }

    /// The customer's fields by name; setting them keeps them sorted by name.
    public var customer: [String: Value] {
        get { Call.dictionary(customerAsGiven) }
        set { customerAsGiven = Call.members(newValue) }
    }

    /// The facts by name; setting them keeps them sorted by name.
    public var facts: [String: Value] {
        get { Call.dictionary(factsAsGiven) }
        set { factsAsGiven = Call.members(newValue) }
    }

    /// The members of a call as the contract names them.
    private enum Field: String, CaseIterable {
        case callID = "call_id", topic, language, identification, customer, facts, notes
    }

    private static let fields = Field.allCases  // `allCases` makes its array anew each time it is read
    package static let fieldNames = fields.map(\.rawValue)
    /// Where `topic`, `customer` and `facts` are in ``fieldNames`` (constants, not looked up: a static `let` is a
    /// `swift_once` check each time it is read; `SlotsReadingTests` checks them).
    package static var topicFieldIndex: Int { 1 }
    package static var customerFieldIndex: Int { 4 }
    package static var factsFieldIndex: Int { 5 }

    /// Reads a call from its JSON value, checking the top-level shape the contract fixes.
    /// - Throws: `InputError` with `bad_type`, `unknown_field` or `missing_field`.
    public init(value: Value, field prefix: String = "call") throws(InputError) {
        guard case .object(let members) = value else {
            throw .badType(prefix, expected: "an object", got: value)
        }
        var reader = Reader(masking: false)
        for member in members { try reader.read(member.key, member.value) }
        self = try reader.finished()
    }

    /// A call read member by member: ``init(value:field:)`` from a parsed value, and Wire's reader straight
    /// from a request's bytes, so both check the same things in the same order.
    package struct Reader {
        /// Whether free text is masked as it is read (``SensitiveData/mask(_:)``, ``Value/masked()``).
        let masking: Bool
        private var partial = Call(empty: ())
        private var hasCallID = false
        private var hasTopic = false

        package init(masking: Bool) { self.masking = masking }

        /// Takes the `facts` member as read into the topic's slots (``GivenSlots``) instead of ``read(_:field:_:)``.
        package mutating func read(facts slots: GivenSlots) { partial.factMembers = .slots(slots) }

        /// Takes the `customer` member as read into the table's slots instead of ``read(_:field:_:)``.
        package mutating func read(customer slots: GivenSlots) { partial.customerMembers = .slots(slots) }

        /// Takes one member of the call's object.
        /// - Throws: `bad_type` naming the member, or `unknown_field`.
        package mutating func read(_ key: String, _ v: Value) throws(InputError) {
            try read(key, field: Call.fieldNames.index(ofName: key), v)
        }

        /// Takes one member whose key's index in ``Call/fieldNames`` the caller has found already (nil: none).
        package mutating func read(_ key: String, field: Int?, _ v: Value) throws(InputError) {
            switch field.map({ Call.fields[$0] }) {
            case .callID: partial.callID = try Reader.string(v, "call_id"); hasCallID = true
            case .topic: partial.topic = try Reader.string(v, "topic"); hasTopic = true
            case .language: partial.language = try Reader.optionalString(v, "language")
            case .identification: partial.identification = try Reader.optionalString(v, "identification").map(mask)
            case .customer: partial.customerAsGiven = try members(v, "customer")
            case .facts: partial.factsAsGiven = try members(v, "facts")
            case .notes:
                partial.notes = try Reader.optionalString(v, "notes").map(mask)
                partial.notesAreMasked = masking
            case nil: throw .unknownField(key, allowed: Call.fieldNames)
            }
        }

        /// The call read, once its object has ended.
        /// - Throws: `missing_field` for `call_id` or `topic`.
        package consuming func finished() throws(InputError) -> Call {
            guard hasCallID else { throw InputError(.missingField, "call_id is required: a string naming the call.", field: "call_id") }
            guard hasTopic else { throw InputError(.missingField, "topic is required: one of the table's topic codes.", field: "topic") }
            return partial
        }

        private func mask(_ text: String) -> String { masking ? SensitiveData.mask(text) : text }

        private static func string(_ v: Value, _ field: String) throws(InputError) -> String {
            guard case .string(let s) = v else { throw .badType(field, expected: "a string", got: v) }
            return s
        }

        private static func optionalString(_ v: Value, _ field: String) throws(InputError) -> String? {
            if case .null = v { return nil }
            return try string(v, field)
        }

        private func members(_ v: Value, _ field: String) throws(InputError) -> [Value.Member] {
            if case .null = v { return [] }
            guard case .object(let members) = v else { throw .badType(field, expected: "an object", got: v) }
            guard masking else { return members }
            // Most values hold nothing to mask: the array is copied only when one changes.
            var result = members
            for k in result.indices {
                if let masked = result[k].value.maskedIfChanged() { result[k].value = masked }
            }
            return result
        }
    }

    private static func members(_ values: [String: Value]) -> [Value.Member] {
        values.sorted { $0.key < $1.key }.map { .init($0.key, $0.value) }
    }

    private static func dictionary(_ members: [Value.Member]) -> [String: Value] {
        Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

extension Call: Hashable {
    public static func == (a: Call, b: Call) -> Bool {
        a.callID == b.callID && a.topic == b.topic && a.language == b.language && a.identification == b.identification
            && a.notes == b.notes && a.customer == b.customer && a.facts == b.facts
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(callID)
        hasher.combine(topic)
        hasher.combine(language)
        hasher.combine(identification)
        hasher.combine(notes)
        hasher.combine(customer)
        hasher.combine(facts)
    }
}
