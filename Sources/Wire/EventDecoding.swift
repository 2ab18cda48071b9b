import Routing

extension Wire {
    /// A decision event as a subscriber receives it, every member typed: what ``DecisionEvent/encode(into:decisionJSON:)``
    /// writes, read back.
    ///
    /// Members the contract may add later are ignored, so an older subscriber keeps working; a member it
    /// knows with the wrong type is an error naming it.
    ///
    /// ```swift
    /// let event = try Wire.DecodedEvent(json: frames[1])
    /// if let target = event.decision.target { print(event.callID, "→", target.address) }
    /// ```
    public struct DecodedEvent: Sendable, Hashable {
        public let seq: UInt64
        public let eventID: String
        public let at: Instant
        /// `at`'s offset as written (the table's zone at that instant).
        public let atOffset: Int32
        public let callID: String
        public let table: String
        public let tableVersion: String
        /// The call as decided, notes masked; nil in events journalled before calls were.
        public let call: Call?
        /// The key the query carried (contract 1.1), if any.
        public let idempotencyKey: String?
        public let decision: Decision

        public init(seq: UInt64, eventID: String, at: Instant, atOffset: Int32, callID: String, table: String, tableVersion: String,
                    call: Call?, idempotencyKey: String?, decision: Decision) {
            self.seq = seq
            self.eventID = eventID
            self.at = at
            self.atOffset = atOffset
            self.callID = callID
            self.table = table
            self.tableVersion = tableVersion
            self.call = call
            self.idempotencyKey = idempotencyKey
            self.decision = decision
        }

        /// The event as it will read back once encoded.
        public init(_ event: DecisionEvent, idempotencyKey: String? = nil) {
            self.init(seq: event.seq, eventID: event.eventID, at: event.at, atOffset: event.atOffset, callID: event.callID,
                      table: event.table, tableVersion: event.tableVersion, call: event.call, idempotencyKey: idempotencyKey,
                      decision: event.decision)
        }

        /// `at` as the event wrote it, with its offset.
        public var atText: String { Timestamp.format(at, offsetSeconds: atOffset) }

        /// Reads an event from its JSON text.
        /// - Throws: `InputError`: `bad_json`, or `missing_field`/`bad_type`/`bad_time` naming the member.
        public init(json bytes: [UInt8]) throws(InputError) {
            try self.init(value: try JSONReader.parse(bytes, limits: .trusted))
        }

        /// Reads an event already parsed (an element of a replay reply).
        public init(value: Value) throws(InputError) {
            let o = try Members(value, path: "", what: "an event")
            let seq = try o.integer("seq")
            guard seq >= 0 else { throw InputError(.badType, "seq must be a whole number from 0.", field: "seq") }
            let (at, offset) = try o.time("at")
            self.init(seq: UInt64(seq), eventID: try o.string("event_id"), at: at, atOffset: offset, callID: try o.string("call_id"),
                      table: try o.string("table"), tableVersion: try o.string("table_version"),
                      call: try o.optional("call").map { v throws(InputError) in try Call(value: v, field: "call") },
                      idempotencyKey: try o.optionalString("idempotency_key"),
                      decision: try Wire.decodeDecision(try o.required("decision"), field: "decision"))
        }
    }

    /// Reads a decision as ``encode(_:into:)`` writes it.
    /// - Parameter field: the member's path, for error messages (`decision`).
    /// - Throws: `InputError` naming the offending member, like `decision.target.mode`.
    public static func decodeDecision(_ value: Value, field: String = "decision") throws(InputError) -> Decision {
        let o = try Members(value, path: field, what: "a decision")
        guard let action = Decision.Action(rawValue: try o.string("action")) else {
            throw o.bad("action", "one of transfer, case, first_line, deny, prompt, self_service, step")
        }
        let target = try o.optional("target").map { v throws(InputError) -> Decision.Transfer in
            let t = try Members(v, path: o.path("target"), what: "a transfer target")
            guard let via = Decision.Via(rawValue: try t.string("via")) else { throw t.bad("via", "cti or number") }
            guard let mode = TransferMode(rawValue: try t.string("mode")) else { throw t.bad("mode", "blind or warm") }
            return Decision.Transfer(id: try t.string("id"), address: try t.string("address"), via: via, mode: mode)
        }
        let openCase = try o.optional("case").map { v throws(InputError) -> Decision.Case in
            let c = try Members(v, path: o.path("case"), what: "a case")
            guard let priority = CaseCategory.Priority(rawValue: try c.string("priority")) else { throw c.bad("priority", "normal or urgent") }
            return Decision.Case(id: try c.string("id"), category: try c.string("category"), priority: priority,
                                 subject: try c.optionalString("subject"), fields: try c.strings("fields"))
        }
        let validUntil = try o.optional("valid_until").map { _ throws(InputError) in try o.time("valid_until") }
        let menu = try o.optional("menu").map { v throws(InputError) -> Decision.MenuView in
            let m = try Members(v, path: o.path("menu"), what: "a menu")
            var options: [Decision.MenuView.Option] = []
            for (i, item) in try m.array("options").enumerated() {
                let option = try Members(item, path: m.path("options[\(i)]"), what: "a menu option")
                options.append(.init(key: try option.string("key"), label: try option.string("label")))
            }
            return Decision.MenuView(node: try m.string("node"), language: try m.string("language"), prompt: try m.optionalString("prompt"),
                                     options: options, invalid: try m.integer("invalid"), retries: try m.integer("retries"),
                                     asks: try m.strings("asks"))
        }
        let playbook = try o.optional("playbook").map { v throws(InputError) -> Decision.PlaybookView in
            let p = try Members(v, path: o.path("playbook"), what: "a playbook")
            return Decision.PlaybookView(session: try p.string("session"), step: try p.string("step"), name: try p.string("name"),
                                         instructions: try p.strings("do"), outcomes: try p.strings("outcomes"),
                                         attempt: try p.integer("attempt"), limit: try p.optional("limit").map { _ throws(InputError) in try p.integer("limit") },
                                         done: try p.bool("done"), mergedInto: try p.optionalString("merged_into"))
        }
        return Decision(action: action, target: target, case: openCase, procedure: try o.optionalString("procedure"),
                        reason: try o.optionalString("reason"), rule: try o.string("rule"), phrases: try o.strings("phrases"),
                        comment: try o.string("comment"), checks: try o.strings("checks"), validUntil: validUntil?.0,
                        validUntilOffset: validUntil?.1 ?? 0, trace: try o.strings("trace"), menu: menu, playbook: playbook)
    }

    /// A heartbeat's `seq` (`{"seq": <latest seq>, "at"}`).
    public static func decodeHeartbeat(_ bytes: [UInt8]) throws(InputError) -> UInt64 {
        let o = try Members(try JSONReader.parse(bytes, limits: .trusted), path: "", what: "a heartbeat")
        let seq = try o.integer("seq")
        guard seq >= 0 else { throw InputError(.badType, "seq must be a whole number from 0.", field: "seq") }
        return UInt64(seq)
    }
}

/// The members of one JSON object, read by name with the type each must have.
struct Members {
    let members: [Value.Member]
    /// The object's own path (`decision.target`), "" at the top.
    let prefix: String

    init(_ value: Value, path: String, what: String) throws(InputError) {
        guard case .object(let members) = value else {
            throw InputError(.badType, "\(path.isEmpty ? "the message" : path) must be \(what) (a JSON object), got \(value.kindDescription).",
                             field: path.isEmpty ? nil : path)
        }
        self.members = members
        prefix = path
    }

    func path(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    func bad(_ key: String, _ expected: String) -> InputError {
        InputError(.badType, "\(path(key)) must be \(expected), got \(self[key].map { $0.kindDescription } ?? "nothing").", field: path(key))
    }

    subscript(key: String) -> Value? {
        for m in members where m.key == key { return m.value }
        return nil
    }

    /// The member, absent or null being nil.
    func optional(_ key: String) throws(InputError) -> Value? {
        guard let v = self[key], v != .null else { return nil }
        return v
    }

    func required(_ key: String) throws(InputError) -> Value {
        guard let v = self[key] else { throw InputError(.missingField, "\(path(key)) is required.", field: path(key)) }
        return v
    }

    func string(_ key: String) throws(InputError) -> String {
        guard case .string(let s) = try required(key) else { throw bad(key, "a string") }
        return s
    }

    func optionalString(_ key: String) throws(InputError) -> String? {
        guard let v = try optional(key) else { return nil }
        guard case .string(let s) = v else { throw bad(key, "a string or null") }
        return s
    }

    func integer(_ key: String) throws(InputError) -> Int {
        guard case .number(let n) = try required(key), n == n.rounded(), abs(n) < 9e15 else { throw bad(key, "a whole number") }
        return Int(n)
    }

    func bool(_ key: String) throws(InputError) -> Bool {
        guard case .bool(let b) = try required(key) else { throw bad(key, "true or false") }
        return b
    }

    func array(_ key: String) throws(InputError) -> [Value] {
        guard let v = self[key] else { return [] }
        guard case .array(let items) = v else { throw bad(key, "an array") }
        return items
    }

    /// An array of strings; absent is empty.
    func strings(_ key: String) throws(InputError) -> [String] {
        var result: [String] = []
        for item in try array(key) {
            guard case .string(let s) = item else { throw bad(key, "an array of strings") }
            result.append(s)
        }
        return result
    }

    /// An ISO 8601 instant with its offset.
    func time(_ key: String) throws(InputError) -> (Instant, Int32) {
        guard case .string(let text) = try required(key) else { throw bad(key, "an ISO 8601 instant") }
        guard let parsed = Timestamp.parse(text) else {
            throw InputError(.badTime, "\(path(key)) \"\(text)\" is not an ISO 8601 instant with an offset.", field: path(key))
        }
        return (parsed.instant, parsed.offsetSeconds)
    }
}
