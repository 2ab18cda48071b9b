import EventFeed
import Foundation
import Logging
import Metrics
import Routing
import Synchronization
import Wire

/// What each agent's WebSocket stream carries, built from the engine's events and the CTI adapter's results.
///
/// For a transfer decision, every agent serving its target gets a `pop`: the call arriving on their phone
/// with the first line's comment, identification and trace. With `popsOnResults` (the gateway's
/// `--cti-results`) the decision is held by `event_id` until the CTI adapter reports the transfer, and pops
/// only on `ok`; without it, it pops on the decision. The agent whose gateway query made a decision gets it
/// as a `decision`.
///
/// Decisions reach the hub in `seq` order, and so do pops (results come in `seq` order from one adapter,
/// and a pop goes out when the later of its decision and its result arrives), but a pop may follow a later
/// decision: each kind has its own cursor. Messages are kept (the last `capacity`) so a panel that
/// reconnects with `after=<last decision seq>&pops_after=<last pop seq>` gets exactly what it missed, then
/// live messages, none twice: replay and registration happen under one lock, and each stream skips any
/// message at or below its cursor for that kind.
public final class PopHub: Sendable {
    public struct Message: Sendable {
        public let seq: UInt64
        public let agents: Set<String>
        public let isPop: Bool
        public let json: String
    }

    public final class Subscription: Sendable {
        let agent: String
        let continuation: AsyncStream<String>.Continuation
        /// The last decision's and the last pop's `seq` this stream has had.
        let last: Mutex<(decision: UInt64, pop: UInt64)>

        init(agent: String, after: UInt64, popsAfter: UInt64, continuation: AsyncStream<String>.Continuation) {
            self.agent = agent
            self.continuation = continuation
            last = Mutex((after, popsAfter))
        }

        func offer(_ m: Message) {
            guard m.agents.contains(agent) else { return }
            let fresh = last.withLock { last -> Bool in
                if m.isPop {
                    guard m.seq > last.pop else { return false }
                    last.pop = m.seq
                } else {
                    guard m.seq > last.decision else { return false }
                    last.decision = m.seq
                }
                return true
            }
            if fresh { continuation.yield(m.json) }
        }
    }

    private struct State {
        var kept: [Message] = []
        var subscriptions: [ObjectIdentifier: Subscription] = [:]
        var deciders: [String: String] = [:]  // call_id → the agent who decided it through the gateway
        var deciderOrder: [String] = []
        var lastSeq: UInt64 = 0
        /// With `popsOnResults`: transfer decisions waiting for their result, and results whose decision has
        /// not arrived yet (the two feeds run apart), by `event_id`, oldest first for eviction.
        var held = BoundedMap<Wire.DecodedEvent>()
        var early = BoundedMap<TransferResult.Outcome>()
        var droppedReasons: Set<String> = []
    }

    private let state = Mutex(State())
    private let directory: AgentDirectory
    /// The last engine `seq` the gateway's streams have: the engine's `switchboard_engine_journal_seq` minus it is their lag.
    private let seqGauge = Gauge(label: "switchboard_gateway_stream_seq")
    public let capacity: Int
    public let popsOnResults: Bool
    private let logger: Logger
    private let pops = Counter(label: "switchboard_gateway_pops_total")
    /// Transfer decisions waiting for the CTI adapter's result: grows while the adapter is down or behind.
    private let heldGauge = Gauge(label: "switchboard_gateway_pops_held")

    /// - Parameter popsOnResults: pop on the CTI adapter's `ok` result (``take(_:)-(TransferResult)``), not on the decision.
    public init(directory: AgentDirectory, capacity: Int = 10_000, popsOnResults: Bool = false, logger: Logger = Logger(label: "switchboard.gateway")) {
        self.directory = directory
        self.capacity = capacity
        self.popsOnResults = popsOnResults
        self.logger = logger
    }

    /// The last `seq` the hub has seen from the engine.
    public var lastSeq: UInt64 { state.withLock { $0.lastSeq } }

    /// Remembers that `agent` asked for a decision on `callID`, so its events go to that agent's stream.
    public func noteDecider(callID: String, agent: String) {
        state.withLock { s in
            if s.deciders.updateValue(agent, forKey: callID) == nil { s.deciderOrder.append(callID) }
            if s.deciderOrder.count > capacity * 2 {
                let drop = s.deciderOrder.prefix(capacity)
                for c in drop { s.deciders.removeValue(forKey: c) }
                s.deciderOrder.removeFirst(capacity)
            }
        }
    }

    /// Takes a batch of engine events (from the ``EventFeed``), in order.
    public func take(_ events: [FeedEvent]) {
        for e in events { publish(e.event) }
        if let last = events.last { seqGauge.record(Int64(last.seq)) }
    }

    func publish(_ event: Wire.DecodedEvent) {
        let d = event.decision
        var messages: [(Set<String>, String)] = []
        state.withLock { s in
            s.lastSeq = max(s.lastSeq, event.seq)
            if let decider = s.deciders[event.callID] {
                messages.append(([decider], Self.render(event, type: "decision")))
            }
        }
        if let decider = messages.first { send(Message(seq: event.seq, agents: decider.0, isPop: false, json: decider.1)) }
        guard d.action == .transfer else { return }
        guard popsOnResults else { return pop(event) }
        let (result, evicted): (TransferResult.Outcome?, String?) = state.withLock { s in
            if let outcome = s.early.remove(event.eventID) { return (outcome, nil) }
            return (nil, s.held.insert(event, for: event.eventID, capacity: capacity))
        }
        heldGauge.record(Int64(heldCount))
        if result == .ok { pop(event) }
        if evicted != nil { dropped(reason: "no_result") }
    }

    /// A held decision or an early result pushed out by newer ones: its pop will never be shown. Counted
    /// always, logged the first time (at a gateway's start, decisions older than what the adapter still
    /// keeps are expected to go this way).
    private func dropped(reason: String) {
        Counter(label: "switchboard_gateway_pops_dropped_total", dimensions: [("reason", reason)]).increment()
        let first = state.withLock { s in s.droppedReasons.insert(reason).inserted }
        if first {
            logger.warning("screen pops dropped (\(reason == "no_result" ? "a transfer decision's CTI result never came" : "a CTI result's decision never came") before \(capacity) newer ones); counted in switchboard_gateway_pops_dropped_total, not logged again")
        }
    }

    /// Takes the CTI adapter's result for a transfer (``CTIResultFeed``, in position order): pops on `ok`.
    public func take(_ result: TransferResult) {
        var evicted = false
        let event: Wire.DecodedEvent? = state.withLock { s in
            if let event = s.held.remove(result.eventID) { return event }
            if s.early.insert(result.outcome, for: result.eventID, capacity: capacity) != nil { evicted = true }
            return nil
        }
        if evicted { dropped(reason: "no_decision") }
        heldGauge.record(Int64(heldCount))
        guard let event else { return }
        if result.outcome == .ok { pop(event) }
    }

    /// Transfer decisions still waiting for their result (a gauge's worth: the CTI adapter's backlog as seen here).
    public var heldCount: Int { state.withLock { $0.held.count } }

    private func pop(_ event: Wire.DecodedEvent) {
        guard let target = event.decision.target else { return }
        let receivers = Set(directory.agents(servingTarget: target.id).map(\.id))
        guard !receivers.isEmpty else { return }
        pops.increment()
        send(Message(seq: event.seq, agents: receivers, isPop: true, json: Self.render(event, type: "pop")))
    }

    private func send(_ m: Message) {
        state.withLock { s in
            s.kept.append(m)
            for sub in s.subscriptions.values { sub.offer(m) }
            if s.kept.count > capacity + capacity / 4 { s.kept.removeFirst(s.kept.count - capacity) }
        }
    }

    /// Opens an agent's stream: the kept messages after `after`, then live ones.
    public func subscribe(agent: String, after: UInt64, popsAfter: UInt64? = nil) -> (AsyncStream<String>, Subscription) {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let sub = Subscription(agent: agent, after: after, popsAfter: popsAfter ?? after, continuation: continuation)
        state.withLock { s in
            for m in s.kept { sub.offer(m) }  // each kind against its own cursor
            s.subscriptions[ObjectIdentifier(sub)] = sub
        }
        return (stream, sub)
    }

    public func unsubscribe(_ sub: Subscription) {
        _ = state.withLock { $0.subscriptions.removeValue(forKey: ObjectIdentifier(sub)) }
        sub.continuation.finish()
    }

    /// `{"type", "seq", "event_id", "at", "call_id", "table", "topic", "language", "identification", "customer", "decision"}`.
    static func render(_ e: Wire.DecodedEvent, type: String) -> String {
        var w = JSONWriter(capacity: 2048)
        w.object { o in
            o.member("type") { $0.string(type) }
            o.member("seq") { $0.number(Int64(e.seq)) }
            o.member("event_id") { $0.string(e.eventID) }
            o.member("at") { $0.string(e.atText) }
            o.member("call_id") { $0.string(e.callID) }
            o.member("table") { $0.string(e.table) }
            o.member("topic") { w in if let t = e.call?.topic { w.string(t) } else { w.null() } }
            o.member("language") { w in if let l = e.call?.language { w.string(l) } else { w.null() } }
            o.member("identification") { w in if let i = e.call?.identification { w.string(i) } else { w.null() } }
            o.member("decision") { Wire.encode(e.decision, into: &$0) }
        }
        return w.string
    }
}

/// A map that keeps its newest `capacity` entries: inserting past that removes the oldest.
struct BoundedMap<Value> {
    private var values: [String: Value] = [:]
    /// Keys in insertion order from `head` on; some may have been removed since.
    private var order: [String] = []
    private var head = 0

    var count: Int { values.count }

    /// - Returns: the key pushed out, if any.
    mutating func insert(_ value: Value, for key: String, capacity: Int) -> String? {
        if values.updateValue(value, forKey: key) == nil { order.append(key) }
        var evicted: String?
        while values.count > capacity, head < order.count {
            let oldest = order[head]
            head += 1
            if values.removeValue(forKey: oldest) != nil { evicted = oldest }
        }
        if head > capacity || order.count - head > 2 * capacity + 16 {
            order = order[head...].filter { values[$0] != nil }  // drop what was evicted or removed
            head = 0
        }
        return evicted
    }

    mutating func remove(_ key: String) -> Value? { values.removeValue(forKey: key) }
}
