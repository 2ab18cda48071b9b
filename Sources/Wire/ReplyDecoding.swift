import Routing

extension Wire {
    /// A query's reply as a client reads it: `{"id", "seq"?, "event_id"?, "decision"}` or `{"id", "error"}`.
    ///
    /// `seq` and `event_id` (contract 1.1) name the event that journalled the decision; a repeat of a query
    /// with the same idempotency key gets the same ones back.
    public struct DecodedReply: Sendable, Hashable {
        public enum Outcome: Sendable, Hashable {
            case decision(Decision, seq: UInt64?, eventID: String?)
            case error(InputError)
        }

        /// The id the query carried, echoed.
        public let id: Value
        public let outcome: Outcome

        public init(id: Value, outcome: Outcome) {
            self.id = id
            self.outcome = outcome
        }

        /// - Throws: `InputError` when the reply is not one of the two shapes.
        public init(json bytes: [UInt8]) throws(InputError) {
            let o = try Members(try JSONReader.parse(bytes, limits: .trusted), path: "", what: "a reply")
            id = o["id"] ?? .null
            if let error = try o.optional("error") {
                let e = try Members(error, path: "error", what: "an error")
                outcome = .error(InputError(.init(rawValue: try e.string("code")), try e.string("message"), field: try e.optionalString("field")))
                return
            }
            let seq = try o.optional("seq").map { _ throws(InputError) in UInt64(max(0, try o.integer("seq"))) }
            outcome = .decision(try Wire.decodeDecision(try o.required("decision")), seq: seq, eventID: try o.optionalString("event_id"))
        }

        /// The decision, or nil for an error.
        public var decision: Decision? {
            if case .decision(let d, _, _) = outcome { return d }
            return nil
        }

        /// The error's code, or nil for a decision.
        public var errorCode: InputError.Code? {
            if case .error(let e) = outcome { return e.code }
            return nil
        }
    }
}
