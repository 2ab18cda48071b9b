import EventFeed
import Foundation
import Metrics
import Routing
import Synchronization
import Wire

/// What each agent's WebSocket stream carries, built from the engine's events, in `seq` order.
///
/// For a transfer decision, every agent serving its target gets a `pop`: the call arriving on their phone
/// with the first line's comment, identification and trace. The agent whose gateway query made a decision
/// gets it as a `decision`. Messages are kept (the last `capacity`) so a panel that reconnects with
/// `after=<last seq it saw>` gets exactly what it missed, then live messages, none twice: replay and
/// registration happen under one lock, and each stream skips any `seq` at or below its last.
public final class PopHub: Sendable {
    public struct Message: Sendable {
        public let seq: UInt64
        public let agents: Set<String>
        public let json: String
    }

    public final class Subscription: Sendable {
        let agent: String
        let continuation: AsyncStream<String>.Continuation
        let last: Mutex<UInt64>

        init(agent: String, after: UInt64, continuation: AsyncStream<String>.Continuation) {
            self.agent = agent
            self.continuation = continuation
            last = Mutex(after)
        }

        func offer(_ m: Message) {
            guard m.agents.contains(agent) else { return }
            let fresh = last.withLock { last -> Bool in
                guard m.seq > last else { return false }
                last = m.seq
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
    }

    private let state = Mutex(State())
    private let directory: AgentDirectory
    /// The last engine `seq` the gateway's streams have: the engine's `switchboard_engine_journal_seq` minus it is their lag.
    private let seqGauge = Gauge(label: "switchboard_gateway_stream_seq")
    public let capacity: Int

    public init(directory: AgentDirectory, capacity: Int = 10_000) {
        self.directory = directory
        self.capacity = capacity
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
        if d.action == .transfer, let target = d.target {
            let receivers = Set(directory.agents(servingTarget: target.id).map(\.id))
            if !receivers.isEmpty { messages.append((receivers, Self.render(event, type: "pop"))) }
        }
        guard !messages.isEmpty else { return }
        state.withLock { s in
            for (agents, json) in messages {
                let m = Message(seq: event.seq, agents: agents, json: json)
                s.kept.append(m)
                for sub in s.subscriptions.values { sub.offer(m) }
            }
            if s.kept.count > capacity + capacity / 4 { s.kept.removeFirst(s.kept.count - capacity) }
        }
    }

    /// Opens an agent's stream: the kept messages after `after`, then live ones.
    public func subscribe(agent: String, after: UInt64) -> (AsyncStream<String>, Subscription) {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let sub = Subscription(agent: agent, after: after, continuation: continuation)
        state.withLock { s in
            for m in s.kept where m.seq > after { sub.offer(m) }
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
