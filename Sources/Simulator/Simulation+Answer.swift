import Wire

extension Simulation {
    /// One query's answer, as `simulate --answers` lists it: what identifies it in the journal (its key, `seq`
    /// and `event_id`) and how it got there (where it was sent first, which engine answered, after how many
    /// sends, when).
    public struct Answer: Sendable, Hashable {
        /// The query's `id` in this run.
        public let id: Int
        public let callID: String
        /// Nil when the run sends no keys (`--no-idempotency-keys`).
        public let idempotencyKey: String?
        /// The journal's `seq` and `event_id` of a decision (nil for an error reply, and from an engine
        /// before contract 1.1).
        public let seq: UInt64?
        public let eventID: String?
        /// The error reply's code; nil for a decision.
        public let error: String?
        /// The query endpoint of its first send, and the one whose reply was taken.
        public let sentTo: String
        public let answeredBy: String
        /// Sends, the first included.
        public let tries: Int
        /// Wall-clock instants of the first send and the answer, in seconds since 1970.
        public let sentAt: Double
        public let answeredAt: Double

        /// One JSON object, without a newline:
        /// `{"idempotency_key":"sim-…-12","call_id":"sim-…-12","seq":40,"event_id":"…","sent_to":"tcp://…",
        /// "answered_by":"tcp://…","tries":2,"sent_at":1795233602.104,"answered_at":1795233602.655}`;
        /// an error reply has `"error":"missing_fact"` instead of `seq` and `event_id`.
        public var json: [UInt8] {
            var w = JSONWriter(capacity: 320)
            w.object { o in
                if let idempotencyKey { o.member("idempotency_key") { $0.string(idempotencyKey) } }
                o.member("call_id") { $0.string(callID) }
                if let seq { o.member("seq") { $0.number(Int64(seq)) } }
                if let eventID { o.member("event_id") { $0.string(eventID) } }
                if let error { o.member("error") { $0.string(error) } }
                o.member("sent_to") { $0.string(sentTo) }
                o.member("answered_by") { $0.string(answeredBy) }
                o.member("tries") { $0.number(Int64(tries)) }
                o.member("sent_at") { $0.number((sentAt * 1000).rounded() / 1000) }
                o.member("answered_at") { $0.number((answeredAt * 1000).rounded() / 1000) }
            }
            return w.bytes
        }
    }
}
