import Routing

extension KeyNames {
    // At most 64 names each: one bit each in ``JSONReader/Parser/SeenKeys``.
    static let call = KeyNames(Call.fieldNames)
    static let query = KeyNames(QueryRequest.keys)
    static let batchLine = KeyNames(["at", "call"])
}

/// The requests that carry a call — a query, a `route --batch` line, a call alone — read member by member
/// straight from their bytes: no ``Value`` for the request or the call, no dictionary, free text masked as it
/// is read. The errors are those of parsing the whole document and then checking its shape: bad JSON
/// anywhere first, then the first member out of shape, in the order the request gives them.
extension JSONReader.Parser {
    /// A key as read among ``KeyNames``: its index there (nil for another name) and its text.
    struct NamedKey {
        let index: Int?
        let name: String
    }

    /// The key at `i` among `names`. A key written without escapes is compared byte for byte with the names
    /// (most keys of a request are, and making each a `String` cost a tenth of reading a call); any other is
    /// read as text and then looked for, so `"call\u005fid"` is still `call_id`.
    mutating func key(among names: KeyNames) throws(InputError) -> NamedKey {
        if let k = plainKey(among: names) { return NamedKey(index: k, name: names.names[k]) }
        let name = try string()
        return NamedKey(index: names.names.index(ofName: name), name: name)
    }

    /// The index among `names` of the key at `i` when it is written without escapes and is one of them, `i`
    /// moved past it; otherwise nil, `i` where it was.
    mutating func plainKey(among names: KeyNames) -> Int? {
        let start = i + 1
        let limit = min(b.count, start + names.longest + 1)  // a longer key is none of the names: no need to scan it twice
        var end = start
        while end < limit, b[end] != UInt8(ascii: "\""), b[end] != UInt8(ascii: "\\"), b[end] >= 0x20 { end += 1 }
        guard end < b.count, b[end] == UInt8(ascii: "\""),
              let k = JSONReader.index(of: UnsafeBufferPointer(rebasing: b[start..<end]), in: names.utf8) else { return nil }
        i = end + 1
        return k
    }

    /// Keys of one object read member by member: a bit for each name the reader expects, a list for others.
    struct SeenKeys {
        var bits: UInt64 = 0
        /// Keys the reader does not expect (each one is refused, but a repeat is still bad JSON first).
        var others: [Value.Member] = []
        var othersSet: Set<String> = []
    }

    /// Refuses a key already in the object, as ``checkUnique(_:in:seen:)`` does for an object read whole.
    mutating func checkUnique(_ key: NamedKey, among seen: inout SeenKeys) throws(InputError) {
        if let k = key.index {
            guard seen.bits & (1 << k) == 0 else { throw fail("duplicate key \"\(key.name)\"") }
            seen.bits |= 1 << k
            return
        }
        try checkUnique(key.name, in: seen.others, seen: &seen.othersSet)
        seen.others.append(.init(key.name, .null))
    }

    /// The call at `i`, its free text masked; nil when it is out of shape (the error kept by ``refuse(_:)``).
    /// - Parameter prefix: what the error calls it when it is not an object.
    mutating func call(prefix: String) throws(InputError) -> Call? {
        guard i < b.count, b[i] == UInt8(ascii: "{") else {
            let v = try value()
            do throws(InputError) { _ = try Call(value: v, field: prefix) } catch { refuse(error) }
            return nil
        }
        try countValue()
        var reader = Call.Reader(masking: true)
        var seen = SeenKeys()
        var refused = false
        /// The call's topic in the table, once read: what facts are read into slots for.
        var topic: Topic?
        try readMembers { p throws(InputError) in
            try p.key(among: .call)
        } key: { p, key throws(InputError) in
            try p.checkUnique(key, among: &seen)
        } value: { p, key throws(InputError) in
            if !refused, let table = p.table {
                if key.index == Call.customerFieldIndex,
                   let slots = p.slots(for: table.customerKeys, specs: table.customerFields, base: table.customerDefaults) {
                    return reader.read(customer: slots)
                }
                if key.index == Call.factsFieldIndex, let topic,
                   let slots = p.slots(for: topic.factKeys, specs: topic.facts, base: topic.noFacts) {
                    return reader.read(facts: slots)
                }
            }
            let v = try p.value()
            guard !refused else { return }  // the rest is only checked to be JSON
            if key.index == Call.topicFieldIndex, case .string(let code) = v { topic = p.table?.topic(named: code) }
            do throws(InputError) { try reader.read(key.name, field: key.index, v) } catch {
                p.refuse(error)
                refused = true
            }
        }
        if refused { return nil }
        do throws(InputError) { return try reader.finished() } catch {
            refuse(error)
            return nil
        }
    }
}

extension JSONReader.Parser {
    /// The object at `i` read straight into slots for `keys` (``GivenSlots``), its strings masked, when each
    /// member is one of the names, written without escapes, given once, and null or of its field's type (`specs`);
    /// otherwise nil, with nothing read, for the object to be read as members and checked at evaluation, which
    /// names what is wrong. Any error, bad JSON or a limit, also gives nil: reading it again finds the same.
    /// - Parameter base: the values the slots start from (`.null`, or the customer fields' defaults).
    mutating func slots(for keys: KeyNames, specs: [FieldSpec], base: [Value]) -> GivenSlots? {
        // A name longer than a string may be is refused as a key (`too_large`), which the members' reader says.
        guard keys.names.count <= UInt64.bitWidth, keys.matchByBytes, keys.longest <= limits.stringBytes,
              i < b.count, b[i] == UInt8(ascii: "{") else { return nil }
        // What reading the object moves, to put back when it is not read into slots (no copy of the parser).
        let (start, startDepth, startValues) = (i, depth, values)
        var slotValues = base
        var given: UInt64 = 0
        var givenNull: UInt64 = 0
        var order: UInt64 = 0  // ``GivenSlots``' order: six bits a member
        var count = 0
        do throws(InputError) {
            try countValue()
            try readMembers { p throws(InputError) -> Int in
                guard let k = p.plainKey(among: keys) else { throw JSONReader.notSlots }
                return k
            } key: { _, k throws(InputError) in
                // The members' reader names a repeat; more members than the order has room for are read there too.
                guard given & (1 << k) == 0, count < GivenSlots.maximumGiven else { throw JSONReader.notSlots }
                given |= 1 << k
                order |= UInt64(k) << (6 * count)
                count += 1
            } value: { p, k throws(InputError) in
                var v = try p.value()
                if let masked = v.maskedIfChanged() { v = masked }
                if case .null = v {
                    givenNull |= 1 << k
                    return
                }
                guard specs[k].type.accepts(v) else { throw JSONReader.notSlots }
                slotValues[k] = v
            }
        } catch {
            (i, depth, values) = (start, startDepth, startValues)
            return nil
        }
        return GivenSlots(keys: keys, values: slotValues, given: given, givenNull: givenNull, order: order)
    }
}

extension JSONReader {
    /// Thrown inside ``Parser/slots(for:specs:base:)`` to stop reading into slots; never seen outside it.
    static let notSlots = InputError(.badJSON, "not read into slots")
}

extension QueryRequest {
    /// The members of a query as read, before the checks that need all of them.
    struct Parts {
        var idValue: Value?
        var table: String?
        var at: Instant?
        var call: Call?
        var key: String?
        /// The served table `table` names, when the reader was given the tables and found it.
        var servedTable: Table?
    }
}

extension JSONReader.Parser {
    /// A query's object at `i`; its `id`'s bytes are kept (``kept``), its numbers allowed beyond `Double`.
    /// - Parameter tables: the tables served, by name: a call for one of them has its facts and customer fields
    ///   read straight into its slots (``slots(for:specs:base:)``).
    mutating func query(tables: [String: Table] = [:]) throws(InputError) -> QueryRequest.Parts {
        var parts = QueryRequest.Parts()
        guard i < b.count, b[i] == UInt8(ascii: "{") else {
            let v = try value()
            refuse(InputError(.badType, "a query must be a JSON object {\"id\", \"table\", \"at\"?, \"call\"}, got \(v.kindDescription)."))
            return parts
        }
        try countValue()
        var seen = SeenKeys()
        try readMembers { p throws(InputError) in
            try p.key(among: .query)
        } key: { p, key throws(InputError) in
            try p.checkUnique(key, among: &seen)
        } value: { p, key throws(InputError) in
            switch key.name {
            case "id":
                let start = p.i
                p.lenientNumbers = true
                parts.idValue = try p.value()
                p.lenientNumbers = false
                p.kept = start..<p.i
            case "idempotency_key":
                let v = try p.value()
                guard case .string(let s) = v, (1...QueryRequest.maximumKeyLength).contains(s.utf8.count),
                      s.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                    return p.refuse(.init(.badType, "idempotency_key must be a string of 1 to \(QueryRequest.maximumKeyLength) printable ASCII characters (a UUID, say).", field: "idempotency_key"))
                }
                parts.key = s
            case "table":
                let v = try p.value()
                guard case .string(let s) = v else { return p.refuse(.init(.badType, "table must be a string, got \(v.kindDescription).", field: "table")) }
                parts.table = s
                if !tables.isEmpty {
                    p.table = tables[s]
                    parts.servedTable = p.table
                }
            case "at":
                parts.at = try p.instant(field: "at")
            case "call":
                parts.call = try p.call(prefix: "call")  // masked before anything is decided, journalled or kept
            default:
                _ = try p.value()
                p.refuse(InputError(.unknownField, "\(key.name) is not a field of a query; expected one of: \(QueryRequest.keys.joined(separator: ", ")).", field: key.name))
            }
        }
        if parts.table == nil {
            refuse(InputError(.missingField, "table is required: the name of a table the engine serves.", field: "table"))
        }
        if parts.call == nil { refuse(InputError(.missingField, "call is required: the call to decide.", field: "call")) }
        return parts
    }

    /// The instant at `i` (a query's or batch line's `at`), or nil for null; one that is not an instant is
    /// refused (``refuse(_:)``) and read as nil. A string of printable ASCII is parsed from the request's bytes,
    /// without making a `String` or a ``Value`` for it; anything else is read by ``value()`` and
    /// ``Wire/instant(_:field:)``, so every error is the same either way.
    mutating func instant(field: String) throws(InputError) -> Instant? {
        if i < b.count, b[i] == UInt8(ascii: "\"") {
            let start = i + 1
            // Scanned no further than a string may run (as ``string()`` does).
            let bound = limits.stringBytes >= b.count - start ? b.count : start + limits.stringBytes + 1
            var end = start
            while end < bound, (0x20...0x7E).contains(b[end]), b[end] != UInt8(ascii: "\""), b[end] != UInt8(ascii: "\\") { end += 1 }
            if end < bound, b[end] == UInt8(ascii: "\""), end - start <= limits.stringBytes {
                try countValue()
                i = end + 1
                let text = UnsafeBufferPointer(rebasing: b[start..<end])
                if let parsed = Timestamp.parse(utf8: text) { return parsed.instant }
                do throws(InputError) { _ = try Wire.instant(String(decoding: text, as: UTF8.self), field: field) } catch { refuse(error) }
                return nil
            }
        }
        let v = try value()
        do throws(InputError) { return try Wire.instant(v, field: field) } catch {
            refuse(error)
            return nil
        }
    }

    /// A `route --batch` line's object at `i`.
    mutating func batchLine() throws(InputError) -> Wire.BatchLine? {
        guard i < b.count, b[i] == UInt8(ascii: "{") else {
            let v = try value()
            refuse(InputError(.badType, "a batch line must be a JSON object {\"at\"?, \"call\"}, got \(v.kindDescription).", field: nil))
            return nil
        }
        try countValue()
        var seen = SeenKeys()
        var at: Instant?
        var call: Call?
        try readMembers { p throws(InputError) in
            try p.key(among: .batchLine)
        } key: { p, key throws(InputError) in
            try p.checkUnique(key, among: &seen)
        } value: { p, key throws(InputError) in
            switch key.name {
            case "at":
                at = try p.instant(field: "at")
            case "call": call = try p.call(prefix: "call")
            default:
                _ = try p.value()
                p.refuse(InputError(.unknownField, "\(key.name) is not a field of a batch line; expected at, call.", field: key.name))
            }
        }
        guard let call else {
            refuse(InputError(.missingField, "call is required: the call to decide.", field: "call"))
            return nil
        }
        return Wire.BatchLine(at: at, call: call)
    }
}

extension JSONReader {
    /// Reads a request member by member (`read`), then throws the first error in its shape.
    /// - Parameter table: the table the request's call is for, when known (``Parser/table``).
    static func readRequest<T>(_ buffer: UnsafeBufferPointer<UInt8>, table: Table? = nil,
                               _ read: (inout Parser) throws(InputError) -> T) throws(InputError) -> T {
        var parser = Parser(buffer, limits: .request)
        parser.table = table
        let v = try parser.document(read)
        if let error = parser.shapeError { throw error }
        return v
    }
}
