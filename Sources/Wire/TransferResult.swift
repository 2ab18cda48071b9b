import Routing

/// How a CTI adapter's transfer ended, as it publishes it on its results endpoints (`switchboard cti --results`).
///
/// ```json
/// {"position":57,"seq":1203,"event_id":"j1-1203","call_id":"c-1","target":"retention","result":"ok"}
/// ```
///
/// `position` is the result's place in the adapter's transfer record (1 for the first transfer it
/// recorded as done): results are numbered without gaps, so a subscriber that sees a position jump knows it
/// missed some and asks the replay endpoint for them. `seq` and `event_id` are the engine's decision.
public struct TransferResult: Sendable, Hashable {
    public enum Outcome: String, Sendable {
        case ok, failed, unknown
    }

    public let position: UInt64
    public let seq: UInt64
    public let eventID: String
    public let callID: String
    public let target: String
    public let outcome: Outcome

    public init(position: UInt64, seq: UInt64, eventID: String, callID: String, target: String, outcome: Outcome) {
        self.position = position
        self.seq = seq
        self.eventID = eventID
        self.callID = callID
        self.target = target
        self.outcome = outcome
    }

    public func encode(into w: inout JSONWriter) {
        w.object { o in
            o.member("position") { $0.number(Int64(position)) }
            o.member("seq") { $0.number(Int64(seq)) }
            o.member("event_id") { $0.string(eventID) }
            o.member("call_id") { $0.string(callID) }
            o.member("target") { $0.string(target) }
            o.member("result") { $0.string(outcome.rawValue) }
        }
    }

    public var json: [UInt8] {
        var w = JSONWriter(capacity: 256)
        encode(into: &w)
        return w.bytes
    }

    /// Reads one result object.
    /// - Throws: ``InputError`` naming the field that is missing or wrong.
    public init(value v: Value) throws(InputError) {
        func count(_ key: String) throws(InputError) -> UInt64 {
            guard case .number(let n)? = v[key], n >= 0, n == n.rounded(), n < 9e15 else {
                throw InputError(.badRequest, "\(key) must be a whole number of at least 0.", field: key)
            }
            return UInt64(n)
        }
        func text(_ key: String) throws(InputError) -> String {
            guard case .string(let s)? = v[key] else { throw InputError(.badRequest, "\(key) must be a string.", field: key) }
            return s
        }
        guard let outcome = Outcome(rawValue: try text("result")) else {
            throw InputError(.badRequest, "result must be ok, failed or unknown.", field: "result")
        }
        self.init(position: try count("position"), seq: try count("seq"), eventID: try text("event_id"), callID: try text("call_id"),
                  target: try text("target"), outcome: outcome)
    }
}
