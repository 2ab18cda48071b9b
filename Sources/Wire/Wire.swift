import Routing

/// The contract's JSON shapes: calls in, decisions and errors out.
public enum Wire {
    /// Reads a call from JSON text, its free text masked (``Call/masked()``).
    /// - Parameter table: the table the call will be decided against, when known: its facts and customer fields
    ///   are then read straight into the table's slots. The call and its decision are the same either way.
    /// - Throws: `InputError`: `bad_json`, `too_large`, then the call's own shape errors.
    public static func decodeCall(_ bytes: [UInt8], table: Table? = nil) throws(InputError) -> Call {
        try bytes.withUnsafeBufferPointer { b throws(InputError) in
            try JSONReader.readRequest(b, table: table) { p throws(InputError) in try p.call(prefix: "call") }
        }!  // nil only with an error kept, which readRequest throws
    }

    /// Encodes a decision with the contract's keys in the contract's order.
    public static func encode(_ d: Decision, into w: inout JSONWriter) {
        if let fragments = d.fragments { return encode(d, fragments, into: &w) }
        w.object { o in
            o.member("action") { $0.string(d.action.rawValue) }
            o.member("target") { w in
                guard let t = d.target else { return w.null() }
                w.object { o in
                    o.member("id") { $0.string(t.id) }
                    o.member("address") { $0.string(t.address) }
                    o.member("via") { $0.string(t.via.rawValue) }
                    o.member("mode") { $0.string(t.mode.rawValue) }
                }
            }
            o.member("case") { w in
                guard let c = d.case else { return w.null() }
                w.object { o in
                    o.member("id") { $0.string(c.id) }
                    o.member("category") { $0.string(c.category) }
                    o.member("priority") { $0.string(c.priority.rawValue) }
                    o.member("subject") { w in c.subject.map { w.string($0) } ?? w.null() }
                    o.member("fields") { $0.strings(c.fields) }
                }
            }
            if let p = d.procedure { o.member("procedure") { $0.string(p) } }
            if let r = d.reason { o.member("reason") { $0.string(r) } }
            o.member("rule") { $0.string(d.rule) }
            o.member("phrases") { $0.strings(d.phrases) }
            o.member("comment") { $0.comment(d.interactionComment) }
            o.member("checks") { $0.strings(d.checks) }
            o.member("valid_until") { w in validUntil(d, into: &w) }
            o.member("trace") { w in trace(d, into: &w) }
            if let m = d.menu { o.member("menu") { w in encode(m, into: &w) } }
            if let p = d.playbook { o.member("playbook") { w in encode(p, into: &w) } }
        }
    }

    /// The same bytes as member by member, from the parts the table rendered at load: only the call's own
    /// parts are written here.
    private static func encode(_ d: Decision, _ f: DecisionFragments, into w: inout JSONWriter) {
        switch f.head {
        case .transfer(let target, let byNumber):
            w.appendRaw(target.head)
            w.string(d.address)
            w.appendRaw(byNumber ? target.afterAddressByNumber : target.afterAddressByCTI)
        case .openCase(let category, let ownSubject): w.appendRaw(ownSubject ?? category.head)
        case .bytes(let head): w.appendRaw(head)
        }
        if let p = d.procedure { w.raw(#","procedure":"#); w.string(p) }
        if let r = d.reason { w.raw(#","reason":"#); w.string(r) }
        w.raw(#","rule":"#)
        if let rule = f.rule { w.appendRaw(rule.json) } else { w.string(d.rule) }
        w.raw(#","phrases":"#)
        if let phrases = d.renderedPhrases { w.appendRaw(phrases) } else { w.strings(d.phrases) }
        w.raw(#","comment":"#)
        w.comment(d.interactionComment)
        w.raw(#","checks":["#)
        let checks = f.checks
        w.appendRaw(checks.first.items)
        if !checks.first.items.isEmpty && !checks.second.items.isEmpty { w.raw(",") }
        w.appendRaw(checks.second.items)
        w.raw(#"],"valid_until":"#)
        validUntil(d, into: &w)
        w.raw(#","trace":"#)
        trace(d, into: &w)
        if let m = d.menu { w.raw(#","menu":"#); encode(m, into: &w) }
        if let p = d.playbook { w.raw(#","playbook":"#); encode(p, into: &w) }
        w.raw("}")
    }

    private static func validUntil(_ d: Decision, into w: inout JSONWriter) {
        guard let v = d.validUntil else { return w.null() }
        w.timestamp(v, offsetSeconds: d.validUntilOffset)
    }

    private static func trace(_ d: Decision, into w: inout JSONWriter) {
        // A line the table fixes was rendered at load: its bytes are copied, not escaped again.
        w.array(d.traceLines) { w, line in
            switch line {
            case .rendered(let r): w.appendRaw(r.json)
            case .comparison(let probe, let value, let result): w.comparisonLine(probe, value, result)
            case .text(let s): w.string(s)
            }
        }
    }

    private static func encode(_ m: Decision.MenuView, into w: inout JSONWriter) {
        w.object { o in
            o.member("node") { $0.string(m.node) }
            o.member("language") { $0.string(m.language) }
            o.member("prompt") { w in m.prompt.map { w.string($0) } ?? w.null() }
            o.member("options") { w in
                w.array(m.options) { w, option in
                    w.object { o in
                        o.member("key") { $0.string(option.key) }
                        o.member("label") { $0.string(option.label) }
                    }
                }
            }
            o.member("invalid") { $0.number(Int64(m.invalid)) }
            o.member("retries") { $0.number(Int64(m.retries)) }
            o.member("asks") { $0.strings(m.asks) }
        }
    }

    private static func encode(_ p: Decision.PlaybookView, into w: inout JSONWriter) {
        w.object { o in
            o.member("session") { $0.string(p.session) }
            o.member("step") { $0.string(p.step) }
            o.member("name") { $0.string(p.name) }
            o.member("do") { $0.strings(p.instructions) }
            o.member("outcomes") { $0.strings(p.outcomes) }
            o.member("attempt") { $0.number(Int64(p.attempt)) }
            o.member("limit") { w in p.limit.map { w.number(Int64($0)) } ?? w.null() }
            o.member("done") { $0.bool(p.done) }
            o.member("merged_into") { w in p.mergedInto.map { w.string($0) } ?? w.null() }
        }
    }

    public static func encode(_ d: Decision) -> String {
        var w = JSONWriter()
        encode(d, into: &w)
        return w.string
    }

    /// A call as the contract writes it; with `masked`, the notes pass through ``SensitiveData``.
    public static func encode(_ call: Call, masked: Bool = false, into w: inout JSONWriter) {
        w.object { o in
            o.member("call_id") { $0.string(call.callID) }
            o.member("topic") { $0.string(call.topic) }
            if let l = call.language { o.member("language") { $0.string(l) } }
            if let i = call.identification { o.member("identification") { $0.string(i) } }
            // Sorted by name, whatever order the call gave them in: an event's bytes depend only on the values.
            // Written out for each group: a shared helper taking the members as a closure cost the engine's
            // event 300 to 1,500 instructions (callgrind), the closure keeping the writing from being specialised.
            if let slots = call.customerSlots {
                if slots.given != 0 { o.member("customer") { $0.object(sortedBy: slots) } }
            } else if !call.customerAsGiven.isEmpty {
                o.member("customer") { $0.object(sortedByKey: call.customerAsGiven) }
            }
            if let slots = call.factSlots {
                if slots.given != 0 { o.member("facts") { $0.object(sortedBy: slots) } }
            } else if !call.factsAsGiven.isEmpty {
                o.member("facts") { $0.object(sortedByKey: call.factsAsGiven) }
            }
            // A call read from a request had its notes masked then, and masking twice changes nothing
            // (MaskingPropertyTests): the engine's events do not pay for it again.
            if let n = call.notes { o.member("notes") { $0.string(masked && !call.notesAreMasked ? SensitiveData.mask(n) : n) } }
        }
    }

    /// `{"error": {"code", "message", "field"}}`.
    public static func encode(_ e: InputError, into w: inout JSONWriter) {
        w.object { o in
            o.member("error") { w in encodeErrorBody(e, into: &w) }
        }
    }

    public static func encodeErrorBody(_ e: InputError, into w: inout JSONWriter) {
        w.object { o in
            o.member("code") { $0.string(e.code.rawValue) }
            o.member("message") { $0.string(e.message) }
            o.member("field") { w in e.field.map { w.string($0) } ?? w.null() }
        }
    }

    public static func encode(_ e: InputError) -> String {
        var w = JSONWriter()
        encode(e, into: &w)
        return w.string
    }
}

extension Wire {
    /// One line of `route --batch` input: `{"at"?, "call"}`.
    public struct BatchLine: Sendable {
        public let at: Instant?
        public let call: Call
    }

    /// The call's free text is masked (``Call/masked()``).
    /// - Throws: `InputError`: `bad_json`, `unknown_field`, `missing_field`, `bad_time`, then the call's own errors.
    /// - Parameter table: the table the line's call will be decided against, when known (``decodeCall(_:table:)``).
    public static func decodeBatchLine(_ bytes: UnsafeBufferPointer<UInt8>, table: Table? = nil) throws(InputError) -> BatchLine {
        try JSONReader.readRequest(bytes, table: table) { p throws(InputError) in try p.batchLine() }!  // nil only with an error kept
    }

    /// Reads an ISO 8601 instant with an offset; null means "not given".
    /// - Throws: `bad_time` naming `field`.
    public static func instant(_ value: Value, field: String) throws(InputError) -> Instant? {
        if case .null = value { return nil }
        guard case .string(let s) = value else {
            throw InputError(.badTime, "\(field) must be an ISO 8601 instant with an offset, like 2026-11-22T20:55:00Z, got \(value.kindDescription).", field: field)
        }
        return try instant(s, field: field)
    }

    public static func instant(_ text: String, field: String) throws(InputError) -> Instant {
        guard let parsed = Timestamp.parse(text) else {
            throw InputError(.badTime, "\(field) \"\(text)\" is not an ISO 8601 instant with an offset; expected like 2026-11-22T20:55:00Z or 2026-11-22T23:55:00+03:00.", field: field)
        }
        return parsed.instant
    }
}
