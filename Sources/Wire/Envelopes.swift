import Routing

extension InputError.Code {
    /// A request whose frames are not one JSON payload behind the envelope.
    public static let badRequest = InputError.Code(rawValue: "bad_request")
    /// The decision could not be recorded (journal or session file); it was not given, try again.
    public static let unavailable = InputError.Code(rawValue: "unavailable")
    /// An idempotency key already answered a different request.
    public static let idempotencyKeyReused = InputError.Code(rawValue: "idempotency_key_reused")
}

/// A query: `{"id", "table", "at"?, "call", "idempotency_key"?}`.
public struct QueryRequest: Sendable {
    /// Echoed in the reply; any JSON scalar the client chose, `null` when absent.
    public let id: Value
    public let table: String
    public let at: Instant?
    public let call: Call
    /// Contract 1.1: a repeat with the same key and body gets the first reply again.
    public let idempotencyKey: String?
    /// The table `table` names, when ``decodeKeepingID(_:tables:)`` was given the tables served and found it.
    public let servedTable: Table?

    static let keys = ["id", "table", "at", "call", "idempotency_key"]
    /// The longest idempotency key accepted, in characters (printable ASCII).
    public static let maximumKeyLength = 128

    /// Decodes a query. The id is recovered first, so even a refused query's reply carries it.
    /// - Note: the id comes back as a ``Value``, whose numbers are `Double`s; to echo it exactly as sent, use
    ///   ``decodeKeepingID(_:)`` and the ``RequestID`` overloads of `Wire.encodeReply`.
    public static func decode(_ bytes: [UInt8]) -> (id: Value, result: Result<QueryRequest, InputError>) {
        let (id, result) = decodeKeepingID(bytes)
        return (id.value, result)
    }

    /// Decodes a query, keeping its id's bytes as sent so the reply can echo them: `1234567890123456`,
    /// `9007199254740993`, `-0` and `1e400` come back unchanged. The id is recovered even when the rest of the
    /// request is refused, once the reader has got past it.
    /// - Parameter tables: the tables served, by name: when the query names one of them before its call, the
    ///   call's facts and customer fields are read straight into the table's slots, and the table is kept in
    ///   ``servedTable``. Decisions are the same either way.
    public static func decodeKeepingID(_ bytes: [UInt8], tables: [String: Table] = [:]) -> (id: RequestID, result: Result<QueryRequest, InputError>) {
        bytes.withUnsafeBufferPointer { b in
            var parser = JSONReader.Parser(b, limits: .request)
            let parsed = Result { () throws(InputError) in try parser.document { p throws(InputError) in try p.query(tables: tables) } }
            var id = RequestID.null
            if let raw = parser.kept {
                // A scalar's first byte tells its kind: the reader has checked the rest.
                switch b[raw.lowerBound] {
                case UInt8(ascii: "\""), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "n"):
                    id = RequestID(json: bytes[raw], value: (try? parsed.get())?.idValue)
                default:
                    let given = b[raw.lowerBound] == UInt8(ascii: "{") ? "an object" : b[raw.lowerBound] == UInt8(ascii: "[") ? "an array" : "a boolean"
                    return (.null, .failure(InputError(.badType, "id must be a string or a number, got \(given).", field: "id")))
                }
            }
            let parts: Parts
            switch parsed {
            case .success(let p): parts = p
            case .failure(let e): return (id, .failure(e))
            }
            if let error = parser.shapeError { return (id, .failure(error)) }
            // Both present, or the parser would have kept an error.
            return (id, .success(QueryRequest(id: id.value, table: parts.table!, at: parts.at, call: parts.call!, idempotencyKey: parts.key,
                                           servedTable: parts.servedTable)))
        }
    }
}

/// A query's `id` exactly as the client wrote it, for the reply to echo byte for byte.
///
/// ``Value`` holds numbers as `Double`, which would turn `1234567890123456` into `1234567890123456.0` and
/// `9007199254740993` into `9007199254740992`; the reply writes ``json`` instead.
public struct RequestID: Sendable, Hashable {
    /// The id's JSON text as sent: a string (escapes as written), a number or `null`.
    public let json: [UInt8]
    /// The id as a value, numbers rounded to `Double` (and beyond its range, infinite): for logs, not for echoing.
    public let value: Value

    /// An id the reader has checked is one JSON scalar; `value` is recomputed when not given.
    init(json: ArraySlice<UInt8>, value: Value?) {
        self.json = Array(json)
        self.value = value ?? (try? JSONReader.parse(self.json, limits: .trusted)) ?? .null
    }

    /// No id, or an id that could not be read: the reply says `null`.
    public static let null = RequestID(json: ArraySlice("null".utf8), value: .null)
}

/// A decision as published and journalled.
public struct DecisionEvent: Sendable {
    public let seq: UInt64
    public let eventID: String
    public let at: Instant
    /// `at`'s offset in the table's zone.
    public let atOffset: Int32
    public let callID: String
    public let table: String
    public let tableVersion: String
    /// The call as decided, notes masked, so the journal can be replayed against another table version.
    public let call: Call?
    /// The query's idempotency key, when it carried one (contract 1.1).
    public let idempotencyKey: String?
    public let decision: Decision

    public init(seq: UInt64, eventID: String, at: Instant, atOffset: Int32, callID: String, table: String, tableVersion: String,
                call: Call? = nil, idempotencyKey: String? = nil, decision: Decision) {
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

    /// `decision.<action>.<target id, case id, or rule for the other actions>` (``Decision/eventTopic``).
    public var topic: String { decision.eventTopic }

    /// The event's JSON; `seq` comes first so a journal line's sequence can be read without parsing the rest,
    /// and `decision` last, so a subscriber can compare it with a reply's byte for byte.
    /// - Parameter decisionJSON: the decision already encoded (``Wire/encode(_:into:)``), to splice in
    ///   instead of encoding it again.
    public func encode(into w: inout JSONWriter, decisionJSON: [UInt8]? = nil) {
        let decisionJSON = decisionJSON ?? {
            var d = JSONWriter()
            Wire.encode(decision, into: &d)
            return d.bytes
        }()
        DecisionEvent.encode(seq: seq, eventID: eventID, at: at, atOffset: atOffset, callID: callID, table: table, tableVersion: tableVersion,
                             call: call, idempotencyKey: idempotencyKey, decisionJSON: decisionJSON, into: &w)
    }

    /// An event's JSON from its parts, the decision already encoded: what the engine writes for each decision,
    /// without making a ``DecisionEvent`` (whose copies of the call and the decision cost more to make and
    /// drop than writing the event does).
    public static func encode(seq: UInt64, eventID: String, at: Instant, atOffset: Int32, callID: String, table: String,
                              tableVersion: String, call: Call?, idempotencyKey: String?, decisionJSON: [UInt8], into w: inout JSONWriter) {
        encode(seq: seq, at: at, atOffset: atOffset, callID: callID, table: table, tableVersion: tableVersion, hasCall: call != nil,
               idempotencyKey: idempotencyKey, into: &w, eventID: { $0.string(eventID) },
               call: { w in if let call { Wire.encode(call, masked: true, into: &w) } }, decision: { $0.appendRaw(decisionJSON) })
    }

    /// An event's JSON from its parts, `writeEventID`, `writeCall` (when `hasCall`) and `writeDecision` writing
    /// those members' values in their places: the engine writes the event id from its journal's
    /// (``EventIDPrefix``) and the decision there once, and its reply takes both from the event's bytes. The call
    /// is written by a closure so the engine's need not be copied into an optional to be passed.
    static func encode(seq: UInt64, at: Instant, atOffset: Int32, callID: String, table: String, tableVersion: String, hasCall: Bool,
                       idempotencyKey: String?, into w: inout JSONWriter, eventID writeEventID: (inout JSONWriter) -> Void,
                       call writeCall: (inout JSONWriter) -> Void, decision writeDecision: (inout JSONWriter) -> Void) {
        w.object { o in
            o.member("seq") { $0.number(Int64(seq)) }
            o.member("event_id", writeEventID)
            o.member("at") { $0.timestamp(at, offsetSeconds: atOffset) }
            o.member("call_id") { $0.string(callID) }
            o.member("table") { $0.string(table) }
            o.member("table_version") { $0.string(tableVersion) }
            if let idempotencyKey { o.member("idempotency_key") { $0.string(idempotencyKey) } }
            if hasCall { o.member("call", writeCall) }
            o.member("decision", writeDecision)
        }
    }
}

extension Wire {
    /// The engine's reply to a decided query: `{"id", "seq", "event_id", "decision"}` with the id echoed as
    /// sent, so a client can find its decision among the events, and a repeat of an idempotent query is
    /// recognisably the same. The event id and the decision are already JSON: the engine takes both from the
    /// event it wrote (or, for a repeat, from the journalled one).
    public static func encodeReply(id: RequestID, seq: UInt64, eventIDJSON: ArraySlice<UInt8>, decisionJSON: ArraySlice<UInt8>, into w: inout JSONWriter) {
        w.object { o in
            o.member("id") { $0.appendRaw(id.json) }
            o.member("seq") { $0.number(Int64(seq)) }
            o.member("event_id") { $0.appendRaw(eventIDJSON) }
            o.member("decision") { $0.appendRaw(decisionJSON) }
        }
    }

    /// `{"id": …, "decision": {…}}`.
    public static func encodeReply(id: Value, decision: Decision, into w: inout JSONWriter) {
        var d = JSONWriter()
        encode(decision, into: &d)
        encodeReply(id: id, decisionJSON: d.bytes, into: &w)
    }

    /// `{"id": …, "decision": …}` around a decision already encoded.
    public static func encodeReply(id: Value, decisionJSON: [UInt8], into w: inout JSONWriter) {
        w.object { o in
            o.member("id") { $0.value(id) }
            o.member("decision") { $0.appendRaw(decisionJSON) }
        }
    }

    /// `{"id": <the id as sent>, "decision": …}` around a decision already encoded.
    public static func encodeReply(id: RequestID, decisionJSON: [UInt8], into w: inout JSONWriter) {
        w.object { o in
            o.member("id") { $0.appendRaw(id.json) }
            o.member("decision") { $0.appendRaw(decisionJSON) }
        }
    }

    /// `{"id": <the id as sent>, "error": {…}}`.
    public static func encodeReply(id: RequestID, error: InputError, into w: inout JSONWriter) {
        w.object { o in
            o.member("id") { $0.appendRaw(id.json) }
            o.member("error") { Wire.encodeErrorBody(error, into: &$0) }
        }
    }

    /// `{"id": …, "error": {…}}`.
    public static func encodeReply(id: Value, error: InputError, into w: inout JSONWriter) {
        w.object { o in
            o.member("id") { $0.value(id) }
            o.member("error") { Wire.encodeErrorBody(error, into: &$0) }
        }
    }

    /// The heartbeat event: `{"seq": <latest seq>, "at"}`.
    public static func encodeHeartbeat(seq: UInt64, at: Instant) -> [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.object { o in
            o.member("seq") { $0.number(Int64(seq)) }
            o.member("at") { $0.timestamp(at, offsetSeconds: 0) }
        }
        return w.bytes
    }

    /// `{"events": [<journalled events, verbatim>], "next_seq": K}`.
    public static func encodeReplay(events: [ArraySlice<UInt8>], nextSeq: UInt64) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + events.reduce(0) { $0 + $1.count + 1 })
        w.object { o in
            o.member("events") { w in w.array(rawElements: events) }
            o.member("next_seq") { $0.number(Int64(nextSeq)) }
        }
        return w.bytes
    }

    /// A replay request: `{"from_seq": N, "max": M}` (M default 1000).
    public static func decodeReplayRequest(_ value: Value, maximum: Int) throws(InputError) -> (fromSeq: UInt64, max: Int) {
        guard case .object(let members) = value else {
            throw InputError(.badType, "a replay request must be a JSON object {\"from_seq\", \"max\"?}, got \(value.kindDescription).")
        }
        var from: UInt64?
        var max = 1000
        for m in members {
            switch m.key {
            case "from_seq":
                guard case .number(let n) = m.value, n >= 1, n == n.rounded(), n < 9e15 else {
                    throw InputError(.badType, "from_seq must be a whole number from 1.", field: "from_seq")
                }
                from = UInt64(n)
            case "max":
                guard case .number(let n) = m.value, n >= 1, n == n.rounded(), n <= Double(maximum) else {
                    throw InputError(.badType, "max must be a whole number from 1 to \(maximum).", field: "max")
                }
                max = Int(n)
            default:
                throw InputError(.unknownField, "\(m.key) is not a field of a replay request; expected from_seq, max.", field: m.key)
            }
        }
        guard let from else { throw InputError(.missingField, "from_seq is required: the first sequence number wanted.", field: "from_seq") }
        return (from, max)
    }
}

extension JSONWriter {
    /// Writes `[a,b,…]` from elements that are already JSON text.
    public mutating func array(rawElements: [ArraySlice<UInt8>]) {
        raw("[")
        for (i, e) in rawElements.enumerated() {
            if i > 0 { raw(",") }
            appendRaw(e)
        }
        raw("]")
    }
}

extension DecisionEvent {
    /// An event as the engine keeps it: its bytes, and where its id's and its decision's JSON lie in them, for
    /// the reply to take from there.
    public struct Written: Sendable {
        public let bytes: [UInt8]
        public let eventID: Range<Int>
        public let decision: Range<Int>

        public var eventIDJSON: ArraySlice<UInt8> { bytes[eventID] }
        public var decisionJSON: ArraySlice<UInt8> { bytes[decision] }
    }

    /// The engine's way of writing a decision's event (`EngineCore.decide`, and `CoreBenchmark`'s measure of it):
    /// `w` emptied, the event id written from the journal's prefix and the decision once, in their places, and
    /// the bytes taken once.
    public static func write(seq: UInt64, eventIDs: EventIDPrefix, at: Instant, atOffset: Int32, callID: String, table: String,
                             tableVersion: String, call: Call, idempotencyKey: String?, decision: Decision,
                             into w: inout JSONWriter) -> Written {
        var eventIDBytes = 0..<0
        var decisionBytes = 0..<0
        w.removeAll()
        encode(seq: seq, at: at, atOffset: atOffset, callID: callID, table: table, tableVersion: tableVersion, hasCall: true,
               idempotencyKey: idempotencyKey, into: &w) { w in
            let start = w.count
            eventIDs.write(seq: seq, into: &w)
            eventIDBytes = start..<w.count
        } call: { w in
            Wire.encode(call, masked: true, into: &w)
        } decision: { w in
            let start = w.count
            Wire.encode(decision, into: &w)
            decisionBytes = start..<w.count
        }
        assert(!eventIDBytes.isEmpty && !decisionBytes.isEmpty, "encode did not write the event id and the decision")
        return Written(bytes: w.bytes, eventID: eventIDBytes, decision: decisionBytes)
    }
}

/// The ids of one journal's events, `<journal id>-<seq>` (PROTOCOL.md): the one place the form is spelled. An
/// id's JSON is the journal id's, rendered once, then the seq's digits, so the engine makes no `String` for it.
public struct EventIDPrefix: Sendable {
    public let journalID: String
    /// `"<journal id, escaped>-`: escaping works character by character, so this followed by the digits and a
    /// quote is the whole id as a JSON string.
    private let head: [UInt8]

    public init(journalID: String) {
        self.journalID = journalID
        head = Array(JSONString.literal(journalID).dropLast()) + [UInt8(ascii: "-")]
    }

    /// The id of event `seq`.
    public func eventID(seq: UInt64) -> String { "\(journalID)-\(seq)" }

    /// ``eventID(seq:)`` as a JSON string.
    public func write(seq: UInt64, into w: inout JSONWriter) {
        w.appendRaw(head)
        w.number(seq)
        w.raw("\"")
    }
}
