/// The state of one playbook session: where it is, how often each step was entered, what was reported.
public struct Session: Sendable, Hashable {
    public let table: String
    public let topic: String
    public let id: String
    public internal(set) var step: String
    public internal(set) var visits: [String: Int]
    public let openedAt: Instant
    public internal(set) var updatedAt: Instant
    /// The `merge.by` values, in order, when the playbook merges sessions: compared as a list, so no
    /// choice of values can make two different situations look alike.
    public let mergeKey: [String]?
    public let mergedInto: String?
    public internal(set) var done: Bool
    /// The customer and facts the session was opened with, updated by later calls, so an agent
    /// reporting an outcome need not repeat them. Never the notes.
    public internal(set) var customer: [String: Value]
    public internal(set) var facts: [String: Value]
    public internal(set) var history: [Entry]

    public struct Entry: Sendable, Hashable {
        public let at: Instant
        public let step: String
        public let outcome: String
    }

    /// Unique across tables and topics.
    public var key: String { Session.key(table: table, topic: topic, id: id) }

    package static func key(table: String, topic: String, id: String) -> String { "\(table)/\(topic)/\(id)" }

    /// Where later sessions with the same merge key find this one; nil for a session others cannot merge into.
    var mergeSlot: String? {
        guard let mergeKey, mergedInto == nil else { return nil }
        return Session.mergeSlot(table: table, topic: topic, mergeKey: mergeKey)
    }

    /// The values length-prefixed (`3:A\u{1F}B1:C`), so the slot of one list is never that of another.
    static func mergeSlot(table: String, topic: String, mergeKey: [String]) -> String {
        "merge/" + key(table: table, topic: topic, id: mergeKey.map { "\($0.utf8.count):\($0)" }.joined())
    }
}

/// Every playbook session, in memory: a value the evaluator changes and the engine persists.
///
/// Changes since the last ``commit()`` are listed (``pendingChanges``), with what they replaced, so a
/// caller that cannot persist them can ``rollBack()``.
public struct SessionBook: Sendable {
    public private(set) var sessions: [String: Session] = [:]
    /// ``Session/mergeSlot`` → the key of the session later ones merge into.
    private var mergeTargets: [String: String] = [:]
    private var changes: [(key: String, previous: Session?)] = []

    public init() {}

    /// The sessions as saved, in the order written: a later copy of a session replaces an earlier one.
    public init(restoring saved: [Session]) {
        for session in saved { sessions[session.key] = session }
        rebuildMergeTargets()
    }

    public var count: Int { sessions.count }

    public subscript(table table: String, topic topic: String, id id: String) -> Session? {
        sessions[Session.key(table: table, topic: topic, id: id)]
    }

    /// The sessions changed since the last ``commit()`` or ``rollBack()``, in their latest state, in the order first changed.
    public var pendingChanges: [Session] {
        var seen = Set<String>()
        var out: [Session] = []
        for change in changes where seen.insert(change.key).inserted {
            if let s = sessions[change.key] { out.append(s) }
        }
        return out
    }

    /// Accepts the pending changes (they were persisted).
    public mutating func commit() { changes.removeAll(keepingCapacity: true) }

    /// Undoes every change since the last ``commit()``.
    public mutating func rollBack() {
        for change in changes.reversed() {
            sessions[change.key] = change.previous
        }
        changes.removeAll(keepingCapacity: true)
        rebuildMergeTargets()
    }

    /// Drops finished sessions last changed before `instant`; open ones are kept however old.
    public mutating func prune(finishedBefore instant: Instant) {
        let before = sessions.count
        sessions = sessions.filter { !$0.value.done || $0.value.updatedAt >= instant }
        if sessions.count != before { rebuildMergeTargets() }
    }

    /// Takes in sessions another engine changed (a shared store), replacing this book's copies; they are
    /// not pending changes of this engine.
    public mutating func absorb(_ changed: [Session]) {
        guard !changed.isEmpty else { return }
        for session in changed { sessions[session.key] = session }
        rebuildMergeTargets()
    }

    mutating func save(_ session: Session) {
        changes.append((session.key, sessions[session.key]))
        sessions[session.key] = session
        if let slot = session.mergeSlot { mergeTargets[slot] = session.key }
    }

    func mergeTarget(table: String, topic: String, mergeKey: [String]) -> Session? {
        mergeTargets[Session.mergeSlot(table: table, topic: topic, mergeKey: mergeKey)].flatMap { sessions[$0] }
    }

    /// Each merge key leads to the newest session opened with it.
    private mutating func rebuildMergeTargets() {
        mergeTargets = [:]
        for session in sessions.values.sorted(by: { $0.openedAt < $1.openedAt }) {
            if let slot = session.mergeSlot { mergeTargets[slot] = session.key }
        }
    }
}

extension Session {
    /// The session as JSON-shaped data, for the engine's session file.
    public var value: Value {
        var members: [Value.Member] = [
            .init("table", .string(table)), .init("topic", .string(topic)), .init("id", .string(id)),
            .init("step", .string(step)),
            .init("visits", .object(visits.sorted { $0.key < $1.key }.map { .init($0.key, .number(Double($0.value))) })),
            .init("opened_at", .number(Double(openedAt.milliseconds))),
            .init("updated_at", .number(Double(updatedAt.milliseconds))),
            .init("done", .bool(done)),
            .init("customer", .object(customer.sorted { $0.key < $1.key }.map { .init($0.key, $0.value) })),
            .init("facts", .object(facts.sorted { $0.key < $1.key }.map { .init($0.key, $0.value) })),
            .init("history", .array(history.map { e in
                .object([.init("at", .number(Double(e.at.milliseconds))), .init("step", .string(e.step)), .init("outcome", .string(e.outcome))])
            })),
        ]
        if let mergeKey { members.append(.init("merge_key", .array(mergeKey.map(Value.string)))) }
        if let mergedInto { members.append(.init("merged_into", .string(mergedInto))) }
        return .object(members)
    }

    /// Reads a session written by ``value``; nil when it is not one.
    public init?(value v: Value) {
        guard case .string(let table)? = v["table"], case .string(let topic)? = v["topic"], case .string(let id)? = v["id"],
              case .string(let step)? = v["step"], case .object(let visits)? = v["visits"],
              case .number(let opened)? = v["opened_at"], case .number(let updated)? = v["updated_at"],
              case .bool(let done)? = v["done"], case .object(let customer)? = v["customer"],
              case .object(let facts)? = v["facts"], case .array(let history)? = v["history"] else { return nil }
        var counts: [String: Int] = [:]
        for m in visits {
            guard case .number(let n) = m.value else { return nil }
            counts[m.key] = Int(n)
        }
        var entries: [Entry] = []
        for item in history {
            guard case .number(let at)? = item["at"], case .string(let s)? = item["step"], case .string(let o)? = item["outcome"] else { return nil }
            entries.append(Entry(at: Instant(milliseconds: Int64(at)), step: s, outcome: o))
        }
        func text(_ key: String) -> String? { if case .string(let s)? = v[key] { s } else { nil } }
        var mergeKey: [String]?
        switch v["merge_key"] {
        case .array(let parts)?:
            var texts: [String] = []
            for part in parts {
                guard case .string(let s) = part else { return nil }
                texts.append(s)
            }
            mergeKey = texts
        case .string(let joined)?:
            // Written before merge keys were lists: the values joined with U+001F.
            mergeKey = joined.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        default:
            mergeKey = nil
        }
        self.init(table: table, topic: topic, id: id, step: step, visits: counts, openedAt: Instant(milliseconds: Int64(opened)),
                  updatedAt: Instant(milliseconds: Int64(updated)), mergeKey: mergeKey, mergedInto: text("merged_into"),
                  done: done, customer: Dictionary(customer.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }),
                  facts: Dictionary(facts.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }), history: entries)
    }
}
