import EngineCore
import Foundation

/// What travels between the engine's two threads: the socket thread moves bytes (deciding a lone query in
/// place, ``decidedInPlaceLimit``), the core thread decodes, decides, journals and encodes the rest.
///
/// ```
/// query/control sockets ─▶ socket thread ─[HandOff<Inbound>]─▶ core thread (EngineCore.handle: decode,
///        ▲                   │    ▲                                 decide, journal write, encode)
///        └── replies, events ┘    └──[HandOff<Outbound>] + inproc wake-up ◀┘
/// ```
enum Pipeline {
    /// Most messages the socket thread decides itself, in place, when nothing is in flight and the core is
    /// free. Handing one query to the core thread and back costs two thread wake-ups (measured as most of a
    /// REQ round trip's overhead over raw libzmq); a lone query decided in place costs none. A larger batch
    /// is a sign of load, where the two threads overlap (the socket thread sends and reads while the core
    /// decides), so it goes to the core thread.
    static let decidedInPlaceLimit = 8

    /// A message the socket thread took, in arrival order, for the core thread.
    struct Inbound: Sendable {
        enum Kind: Sendable {
            /// A query's JSON frame, to decide.
            case query([UInt8])
            /// A query that arrived while ``InFlight/queryCapacity`` queries were waiting: answered
            /// `unavailable` without being decided (the core reads only its `id`).
            case refused([UInt8])
            /// A query message with other than one body frame: answered `bad_request`.
            case malformedQuery(bodyFrames: Int)
            /// A control command's JSON frame.
            case control([UInt8])
            case malformedControl(bodyFrames: Int)
        }

        let envelope: ArraySlice<[UInt8]>
        let kind: Kind
        /// When the socket thread took it (for the query-duration histogram).
        let taken: ContinuousClock.Instant
    }

    /// What the core thread hands back: replies in the order their messages arrived, then the batch's events.
    struct Outbound: Sendable {
        enum Destination: Sendable { case query, control }

        struct Reply: Sendable {
            let destination: Destination
            let envelope: ArraySlice<[UInt8]>
            let payload: [UInt8]
        }

        var replies: [Reply] = []
        /// Journalled before this was handed back; published after the replies.
        var events: [EngineCore.Published] = []
        /// The journal's last `seq` once this batch was written: what heartbeats say after its events are out.
        var lastSeq: UInt64
        /// Messages of ``Inbound`` this answers (a reload's reply comes later, alone, freeing none)…
        var messages = 0
        /// …of which queries counted against ``InFlight/queryCapacity``…
        var queries = 0
        /// …and queries decided or refused (both counted in `meters.queries`), for the query-duration
        /// histogram, with when the oldest of them was taken.
        var timed = 0
        var oldestTaken: ContinuousClock.Instant?
    }

    /// The socket thread's count of what is in the pipeline, which bounds both hand-overs.
    ///
    /// A query beyond ``queryCapacity`` is refused at once (answered `unavailable`, counted); it still
    /// passes through the core thread so that a client's replies keep their order. Refusals and control
    /// commands are bounded in turn by ``messageLimit``: past it the socket thread stops reading (libzmq
    /// and TCP hold the rest back, nothing is dropped) until replies have gone out.
    struct InFlight {
        /// Most queries waiting for, or in, the core thread.
        let queryCapacity: Int
        private(set) var queries = 0
        private(set) var messages = 0

        init(queryCapacity: Int) {
            precondition(queryCapacity > 0, "the query queue needs room for one query")
            self.queryCapacity = queryCapacity
        }

        /// Most messages of any kind taken and not yet answered.
        var messageLimit: Int { 2 * queryCapacity }
        /// Whether the socket thread must stop reading queries and control commands for now.
        var isFull: Bool { messages >= messageLimit }
        var isEmpty: Bool { messages == 0 }
        var hasRoomForQuery: Bool { queries < queryCapacity && !isFull }

        /// Takes a query in.
        /// - Returns: false when it must be refused (``queryCapacity`` are waiting).
        mutating func admitQuery() -> Bool {
            messages += 1
            guard queries < queryCapacity else { return false }
            queries += 1
            return true
        }

        /// Takes in a message that is answered without deciding (a refusal of a malformed one, a control command).
        mutating func admitOther() { messages += 1 }

        mutating func answered(_ outbound: Outbound) {
            messages -= outbound.messages
            queries -= outbound.queries
            assert(messages >= 0 && queries >= 0, "more answered than taken")
        }
    }
}
