/// Names a reader expects as the keys of one object, with their UTF-8: a request's members, a topic's facts, a
/// table's customer fields. A key written without escapes is found by comparing bytes, without a `String` made
/// for it.
///
/// A class, so that a call's slots can tell by identity whose names they were read against (``GivenSlots``).
package final class KeyNames: Sendable {
    package let names: [String]
    package let utf8: [[UInt8]]
    /// The longest name's bytes: a key found longer is none of them.
    package let longest: Int
    /// The positions of `names` in the order `<` sorts them: the order a call's members are written in.
    package let sortedOrder: [Int]
    /// Each name as a JSON string, quotes included, escaped once here rather than each time it is written.
    package let literals: [[UInt8]]
    /// Whether a key is one of the names exactly when its bytes are: no two names equal under `==` (canonical
    /// equivalence). Names that are (`"ạ́"` written in two orders of its marks) are compared as `String`s.
    package let matchByBytes: Bool

    package init(_ names: [String]) {
        self.names = names
        utf8 = names.map { Array($0.utf8) }
        longest = utf8.map(\.count).max() ?? 0
        sortedOrder = names.indices.sorted { names[$0] < names[$1] }
        literals = names.map(JSONString.literal)
        matchByBytes = Set(names).count == names.count
    }
}

/// A call's facts or customer fields read straight from a request's bytes into the slots evaluation reads, one
/// per name of a topic's facts (``Topic/factKeys``) or a table's customer fields (``Table/customerKeys``).
/// Wire's reader makes them when it knows the table as it reads the call and every member is one the table
/// takes, of the declared type, given once; for anything else it keeps the members as given
/// (``Call/factsAsGiven``) and evaluation checks them, so errors are the same either way.
package struct GivenSlots: Sendable {
    /// The names the slots are for; evaluation takes the slots only for the same topic or table (identity), so a
    /// table reloaded between reading and deciding reads ``members`` instead.
    package let keys: KeyNames
    /// Per name, the value evaluation starts from: the value given, else the field's default (customer fields)
    /// or `.null` (not given; an explicit null is not given either).
    package let values: [Value]
    /// A bit per name the call gave, explicit nulls included; at most 64 names.
    package let given: UInt64
    /// A bit per name the call gave as `null`.
    package let givenNull: UInt64
    /// The names' positions in the order the call gave them, six bits each from the lowest: ``members`` keeps
    /// the call's order, in which evaluation names the first offending member. No allocation for it.
    private let order: UInt64

    /// The most members a call's object may give to be read into slots: what ``order`` has room for.
    @inlinable package static var maximumGiven: Int { 10 }

    /// - Parameter order: the names' positions as given (``maximumGiven`` at most), six bits each from the lowest.
    package init(keys: KeyNames, values: [Value], given: UInt64, givenNull: UInt64, order: UInt64) {
        self.keys = keys
        self.values = values
        self.given = given
        self.givenNull = givenNull
        self.order = order
    }

    /// The members the call gave, in the order it gave them.
    package var members: [Value.Member] {
        let count = given.nonzeroBitCount
        var members: [Value.Member] = []
        members.reserveCapacity(count)
        for n in 0..<count {
            let k = Int(order >> (6 * n) & 0x3F)
            members.append(.init(keys.names[k], givenNull & (1 << k) != 0 ? .null : values[k]))
        }
        return members
    }
}
