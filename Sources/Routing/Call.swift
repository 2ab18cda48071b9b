/// A call as the contract describes it: what the agent or IVR knows when asking for a decision.
///
/// `customer` and `facts` are kept as given; their types are checked against the table at
/// evaluation, because each table (and each topic) declares its own.
public struct Call: Sendable, Hashable {
    public var callID: String
    public var topic: String
    public var language: String?
    public var identification: String?
    public var customer: [String: Value]
    public var facts: [String: Value]
    public var notes: String?

    public init(callID: String, topic: String, language: String? = nil, identification: String? = nil,
                customer: [String: Value] = [:], facts: [String: Value] = [:], notes: String? = nil) {
        self.callID = callID
        self.topic = topic
        self.language = language
        self.identification = identification
        self.customer = customer
        self.facts = facts
        self.notes = notes
    }

    static let fieldNames = ["call_id", "topic", "language", "identification", "customer", "facts", "notes"]

    /// Reads a call from its JSON value, checking the top-level shape the contract fixes.
    /// - Throws: `InputError` with `bad_type`, `unknown_field` or `missing_field`.
    public init(value: Value, field prefix: String = "call") throws(InputError) {
        guard case .object(let members) = value else {
            throw .badType(prefix, expected: "an object", got: value)
        }
        var callID: String?
        var topic: String?
        var call = Call(callID: "", topic: "")
        for member in members {
            let v = member.value
            switch member.key {
            case "call_id": callID = try Call.string(v, "call_id")
            case "topic": topic = try Call.string(v, "topic")
            case "language": call.language = try Call.optionalString(v, "language")
            case "identification": call.identification = try Call.optionalString(v, "identification")
            case "notes": call.notes = try Call.optionalString(v, "notes")
            case "customer": call.customer = try Call.object(v, "customer")
            case "facts": call.facts = try Call.object(v, "facts")
            default: throw .unknownField(member.key, allowed: Call.fieldNames)
            }
        }
        guard let callID else { throw InputError(.missingField, "call_id is required: a string naming the call.", field: "call_id") }
        guard let topic else { throw InputError(.missingField, "topic is required: one of the table's topic codes.", field: "topic") }
        call.callID = callID
        call.topic = topic
        self = call
    }

    private static func string(_ v: Value, _ field: String) throws(InputError) -> String {
        guard case .string(let s) = v else { throw .badType(field, expected: "a string", got: v) }
        return s
    }

    private static func optionalString(_ v: Value, _ field: String) throws(InputError) -> String? {
        if case .null = v { return nil }
        return try string(v, field)
    }

    private static func object(_ v: Value, _ field: String) throws(InputError) -> [String: Value] {
        if case .null = v { return [:] }
        guard case .object(let members) = v else { throw .badType(field, expected: "an object", got: v) }
        var result: [String: Value] = [:]
        result.reserveCapacity(members.count)
        for m in members { result[m.key] = m.value }
        return result
    }
}
