/// A JSON-shaped value: what a call carries and what table constants compare against.
///
/// Objects keep their members in source order so that error messages name the first
/// offending key, as a reader of the input would find it.
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([Value])
    case object([Member])

    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: Value
        public init(_ key: String, _ value: Value) {
            self.key = key
            self.value = value
        }
    }

    /// The member named `key` of an object, or nil.
    /// - Complexity: O(n) in the number of members; calls have a handful.
    public subscript(key: String) -> Value? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// An English noun phrase for the kind of value, for error messages.
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value as template text: integers without a fraction, booleans as true/false.
    public var text: String {
        switch self {
        case .null: ""
        case .bool(let b): b ? "true" : "false"
        case .number(let n): Value.format(number: n)
        case .string(let s): s
        case .array(let items): items.map(\.text).joined(separator: ", ")
        case .object: "{…}"
        }
    }

    package static func format(number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }
}

extension [String] {
    /// The index of `name`, or nil, as `firstIndex(of:)` finds it among names distinct under `==` (a table's
    /// fields, a request's keys). Names of the same length are compared first: two short strings that differ are
    /// otherwise compared through the standard library's general comparison, which reading a request's keys and
    /// a call's fact names paid for each name a key was not. Only when none matches is every name compared,
    /// since `==` also equates texts of different lengths (U+212A KELVIN SIGN and `K`).
    package func index(ofName name: String) -> Int? {
        let length = name.utf8.count
        for k in indices where self[k].utf8.count == length && self[k] == name { return k }
        return indexOfEquivalent(name)
    }

    /// Out of line, so the loop above stays small enough to inline where names are read.
    @inline(never) private func indexOfEquivalent(_ name: String) -> Int? { firstIndex(of: name) }
}
