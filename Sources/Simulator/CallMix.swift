import Routing
import TableLanguage
import Wire

/// What a simulation sends: a weighted mix of calls over a time window, from a mix file.
///
/// ```yaml
/// table: retention-ru
/// window: {start: "2026-11-23T00:00:00+03:00", hours: 24}   # instants spread evenly over it
/// languages: {ru: 95, en: 5}                                # weights
/// identification: {"ФИОПД": 60, none: 40}
/// notes: {none: 70, "модель телефона Xiaomi 12": 30}
/// customers:
///   - {weight: 70, customer: {type: person, region: moscow, balance: 150}}
/// calls:
///   - {weight: 25, topic: termination, facts: [{insists: true}, {insists: false}]}
/// ```
/// Each call takes a `calls` entry by weight and one of its `facts` at random, a customer by weight, a
/// language, an identification and notes by weight (`none` leaves the field out), and an instant.
public struct CallMix: Sendable {
    public let table: String
    let windowStart: Instant
    let windowOffset: Int32
    let windowMilliseconds: Int64
    let languages: Weighted<String?>
    let identifications: Weighted<String?>
    let notes: Weighted<String?>
    let customers: Weighted<Value>
    let calls: Weighted<(topic: String, facts: [Value])>

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a mix file's text.
    public init(yaml text: String, file: String) throws {
        let v: Value
        do {
            v = try YAMLDocument.value(yaml: text, file: file)
        } catch {
            throw Failure(description: error.description)
        }
        func fail(_ what: String) -> Failure { Failure(description: "\(file): \(what)") }
        guard case .string(let table)? = v["table"] else { throw fail("'table' is required: the table the calls are for.") }
        self.table = table
        guard let window = v["window"], case .string(let start)? = window["start"], let parsed = Timestamp.parse(start),
              case .number(let hours)? = window["hours"], hours > 0 else {
            throw fail("'window' must be {start: ISO 8601 with an offset, hours: a positive number}.")
        }
        windowStart = parsed.instant
        windowOffset = parsed.offsetSeconds
        windowMilliseconds = Int64(hours * 3_600_000)
        func texts(_ key: String) throws -> Weighted<String?> {
            guard let node = v[key] else { return Weighted([(nil, 1)]) }
            guard case .object(let members) = node else { throw fail("'\(key)' must map values to weights.") }
            return Weighted(try members.map { m in
                guard case .number(let w) = m.value, w >= 0 else { throw fail("the weight of '\(m.key)' in '\(key)' must be a number ≥ 0.") }
                return (m.key == "none" ? nil : m.key, w)
            })
        }
        languages = try texts("languages")
        identifications = try texts("identification")
        notes = try texts("notes")
        guard case .array(let customerItems)? = v["customers"], !customerItems.isEmpty else { throw fail("'customers' must list {weight, customer}.") }
        customers = Weighted(try customerItems.map { item in
            guard case .number(let w)? = item["weight"], let c = item["customer"], case .object = c else {
                throw fail("each customer is {weight: number, customer: {…}}.")
            }
            return (c, w)
        })
        guard case .array(let callItems)? = v["calls"], !callItems.isEmpty else { throw fail("'calls' must list {weight, topic, facts}.") }
        calls = Weighted(try callItems.map { item in
            guard case .number(let w)? = item["weight"], case .string(let topic)? = item["topic"] else {
                throw fail("each call is {weight: number, topic: code, facts: [ {…}, … ]}.")
            }
            var facts: [Value] = [.object([])]
            if let f = item["facts"] {
                guard case .array(let variants) = f, !variants.isEmpty else { throw fail("'facts' of \(topic) must be a list of fact sets.") }
                facts = variants
            }
            return ((topic, facts), w)
        })
    }

    /// The topics the mix sends, for checking them against the table.
    public var topics: [String] { calls.items.map(\.0.topic) }

    /// The n-th call of a run: a query's JSON bytes, `{"id", "table", "at", "call", "idempotency_key"?}`.
    public func query<G: RandomNumberGenerator>(id: Int, runID: String, idempotencyKey: String? = nil, using rng: inout G) -> (bytes: [UInt8], callID: String) {
        let (topic, variants) = calls.pick(&rng)
        let callID = "sim-\(runID)-\(id)"
        var members: [Value.Member] = [.init("call_id", .string(callID)), .init("topic", .string(topic))]
        if let language = languages.pick(&rng) { members.append(.init("language", .string(language))) }
        if let ident = identifications.pick(&rng) { members.append(.init("identification", .string(ident))) }
        members.append(.init("customer", customers.pick(&rng)))
        members.append(.init("facts", variants[Int.random(in: 0..<variants.count, using: &rng)]))
        if let note = notes.pick(&rng) { members.append(.init("notes", .string(note))) }
        let at = Instant(milliseconds: windowStart.milliseconds + Int64.random(in: 0..<windowMilliseconds, using: &rng) / 60_000 * 60_000)
        var w = JSONWriter(capacity: 512)
        var query: [Value.Member] = [
            .init("id", .number(Double(id))), .init("table", .string(table)),
            .init("at", .string(Timestamp.format(at, offsetSeconds: windowOffset))), .init("call", .object(members)),
        ]
        if let idempotencyKey { query.append(.init("idempotency_key", .string(idempotencyKey))) }
        w.value(.object(query))
        return (w.bytes, callID)
    }
}

/// Items with weights, picked in proportion to them.
struct Weighted<Item: Sendable>: Sendable {
    let items: [(Item, Double)]
    private let cumulative: [Double]

    init(_ items: [(Item, Double)]) {
        self.items = items
        var total = 0.0
        cumulative = items.map { total += $0.1; return total }
    }

    func pick<G: RandomNumberGenerator>(_ rng: inout G) -> Item {
        let r = Double.random(in: 0..<(cumulative.last ?? 1), using: &rng)
        let i = cumulative.firstIndex { r < $0 } ?? (items.count - 1)
        return items[i].0
    }
}
