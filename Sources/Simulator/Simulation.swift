import EventFeed
import Foundation
import Histogram
import Routing
import Wire
import ZeroMQ

/// Drives a running engine with a call mix and accounts for every decision, as a load test of a deployment.
///
/// Open loop: calls are sent at Poisson-distributed instants at `rate` a second, and each latency is
/// measured from the instant the call was *meant* to be sent, so a stalled engine cannot hide its stall by
/// delaying the sender (coordinated omission). Closed loop: `clients` DEALER sockets each keep `inFlight`
/// calls outstanding, for maximum throughput. Meanwhile a subscriber receives every event and checks it
/// against the reply: the same decision, published once, without `seq` gaps.
///
/// Every query carries a unique `idempotency_key` (contract 1.1), and a query not answered within
/// `replyTimeout` is sent again, the same bytes with the same key, on a fresh socket: the zguide's Lazy
/// Pirate. The client's socket is closed and reconnected (a DEALER cannot otherwise tell a lost request
/// from a slow one), its other outstanding queries resent with it, and a query is given up after `tries`
/// sends. The engine answers a repeat with the first reply, so a retry never makes a second decision.
///
/// Several engines: client `c` starts on query endpoint `c mod n` and moves to the next one at each
/// reconnect, so a dead engine's clients fail over (engines that share their keys answer a retry with the
/// first reply). The subscriber connects to every events endpoint and counts each `seq` once, whichever
/// engines publish it; with replay endpoints, the `seq`s it missed live are fetched at the end of the run
/// from whichever engine answers, so only `seq`s the journal lacks count as gaps.
///
/// An `unavailable` reply (an engine that cannot reach its store decided nothing) is a retry, not an answer:
/// the query is sent again with its key, after a short pause, on the next engine, within its `tries`.
public final class Simulation {
    public enum Mode: Sendable {
        case openLoop(rate: Double)
        case closedLoop(clients: Int, inFlight: Int)
    }

    public struct Configuration: Sendable {
        /// Every engine's query endpoint; clients spread over them and fail over in turn.
        public var queryEndpoints = [Endpoints.default.query]
        /// Every engine's events endpoint; one SUB connects to all.
        public var eventsEndpoints = [Endpoints.default.events]
        /// Replay endpoints to fetch, at the end of the run, the events missed live (none: they count as gaps).
        public var replayEndpoints: [String] = []
        /// How long a replay request may take before the next engine is asked.
        public var replayTimeout: Duration = .seconds(5)
        public var mode = Mode.openLoop(rate: 1000)
        /// Stop sending after this long, or after `calls`, whichever comes first (at least one is set).
        public var duration: Duration? = .seconds(10)
        public var calls: Int?
        public var seed: UInt64?
        /// How long to wait for events after the last reply.
        public var grace: Duration = .seconds(3)
        public var curve: (serverKey: String, keys: CurveKeyPair)?
        /// Send an `idempotency_key` with every query (an engine before contract 1.1 refuses it as unknown).
        public var idempotencyKeys = true
        /// How long a query waits for its reply before it is sent again.
        public var replyTimeout: Duration = .milliseconds(2500)
        /// Sends of one query, the first included, before it is given up.
        public var tries = 3

        public init() {}

        /// The first query endpoint; setting it makes it the only one.
        public var queryEndpoint: String {
            get { queryEndpoints[0] }
            set { queryEndpoints = [newValue] }
        }

        /// The first events endpoint; setting it makes it the only one.
        public var eventsEndpoint: String {
            get { eventsEndpoints[0] }
            set { eventsEndpoints = [newValue] }
        }
    }

    /// What a run measured.
    public struct Summary: Sendable {
        public var seconds = 0.0
        public var sent = 0
        public var answered = 0
        public var decisions = 0
        public var errors: [String: Int] = [:]
        /// Calls never answered: given up after all their tries, or still waiting when the run ended.
        public var unanswered = 0
        /// Queries sent again after a reply timeout (each resend counts).
        public var retries = 0
        /// Queries given up after `tries` sends without a reply.
        public var gaveUp = 0
        /// Replies to a query already answered (a retry crossing a late reply).
        public var duplicateReplies = 0
        /// Latency percentiles in microseconds: p50, p90, p99, p99.9, max.
        public var latency: [String: UInt64] = [:]
        public var eventsReceived = 0
        /// Events missed live and fetched by replay at the end (counted in `eventsReceived` too).
        public var eventsReplayed = 0
        public var eventsMatched = 0
        public var eventsMismatched = 0
        /// Decisions answered whose event never arrived.
        public var eventsMissing = 0
        /// Events of a call whose event had already arrived: a retry decided twice.
        public var eventsDuplicated = 0
        /// Sequence numbers skipped between consecutive events.
        public var seqGaps = 0
        /// Per query endpoint: how often a client left it because a reply was overdue or `unavailable` (with
        /// one engine, reconnected to it). The endpoints a run never left are listed with 0.
        public var failovers: [String: Int] = [:]
        /// `unavailable` replies, each sent again (not answers: nothing was decided).
        public var unavailableReplies = 0
        public var achievedRate: Double { seconds > 0 ? Double(answered) / seconds : 0 }
    }

    /// Progress once a second.
    public struct Progress: Sendable {
        public let seconds: Double
        public let sent: Int
        public let answered: Int
        public let ratePerSecond: Double
        public let p99Microseconds: UInt64
        public let events: Int
        public let errors: Int
        public let retries: Int
    }

    public let configuration: Configuration
    let mix: CallMix

    public init(configuration: Configuration, mix: CallMix) {
        self.configuration = configuration
        self.mix = mix
    }

    /// A query sent and not yet answered.
    private struct Pending {
        let client: Int
        let bytes: [UInt8]
        let idempotencyKey: String?
        /// When it counts as sent, for latency (ns since the run began).
        let intended: UInt64
        /// When it was first sent, and to which query endpoint (an index).
        let firstSent: UInt64
        let sentTo: Int
        /// When its reply is overdue: its last send plus the reply timeout (or, after `unavailable`, the pause).
        var due: UInt64
        var tries: Int
    }

    /// How long an `unavailable` query waits before it is sent again (to the next engine).
    static let unavailablePause: UInt64 = 100_000_000

    // Run state.
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    private var summary = Summary()
    private var pending: [Int: Pending] = [:]
    /// Per call id number: the decision answered (and its event id, from a 1.1 engine), until its event arrives.
    private var answeredDecisions: [Int: (Decision, String?)] = [:]
    /// Events of this run that arrived before their reply.
    private var earlyEvents: [Int: (Decision, String)] = [:]
    /// Calls whose event has arrived.
    private var published: Set<Int> = []
    /// Every seq up to this one has been received (the first heartbeat's seq to begin with).
    private var receivedThrough: UInt64?
    /// Seqs received above `receivedThrough`, out of order or across a gap.
    private var receivedAbove: Set<UInt64> = []
    /// The highest seq any event or heartbeat has shown.
    private var headSeq: UInt64 = 0
    private var lastReply: UInt64 = 0
    private var callPrefix = ""

    /// Runs the simulation on the calling thread (it blocks; give it a thread of its own).
    /// - Parameters:
    ///   - shouldStop: read about every 100 ms; when it says so, sending stops and the run ends as if its
    ///     duration were over.
    ///   - progress: called about once a second.
    ///   - answered: called with each query's answer as it arrives, once per query (a duplicate reply is not
    ///     an answer); what it throws ends the run.
    public func run(until shouldStop: () -> Bool = { false }, progress: (Progress) -> Void = { _ in },
                    answered: (Answer) throws -> Void = { _ in }) throws -> Summary {
        let context = try Context()
        var dealers: [Socket] = []
        let clients: Int, inFlight: Int
        switch configuration.mode {
        case .openLoop: (clients, inFlight) = (1, Int.max)
        case .closedLoop(let c, let f): (clients, inFlight) = (max(1, c), max(1, f))
        }
        // Which query endpoint each client uses: spread at first, the next one after each reconnect.
        var endpointOf = (0..<clients).map { $0 % configuration.queryEndpoints.count }
        for endpoint in configuration.queryEndpoints { summary.failovers[endpoint] = 0 }
        func dealer(_ client: Int) throws -> Socket {
            let d = try Socket(context, .dealer)
            try d.set(.linger, Int32(0))
            try d.set(.sendHighWaterMark, Int32(0))
            try d.set(.receiveHighWaterMark, Int32(0))
            if let curve = configuration.curve { try d.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
            try d.connect(configuration.queryEndpoints[endpointOf[client]])
            return d
        }
        for c in 0..<clients { dealers.append(try dealer(c)) }
        let sub = try Socket(context, .sub)
        try sub.set(.linger, Int32(0))
        try sub.set(.receiveHighWaterMark, Int32(0))
        if let curve = configuration.curve { try sub.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
        try sub.subscribe("decision.")
        try sub.subscribe("heartbeat")
        for endpoint in configuration.eventsEndpoints { try sub.connect(endpoint) }
        defer {
            for s in dealers + [sub] { s.close() }
        }
        // Wait for a heartbeat, so no event of the run is published before the subscription is in place.
        try sub.set(.receiveTimeout, Int32(5000))
        var subscribed = false
        while !subscribed, let frames = try sub.receiveMultipart() {
            subscribed = frames.first == Array("heartbeat".utf8)
            if subscribed, frames.count == 2, let seq = try? Wire.decodeHeartbeat(frames[1]) { (receivedThrough, headSeq) = (seq, seq) }
        }
        guard subscribed else {
            throw SimulationError("no heartbeat from \(configuration.eventsEndpoints.joined(separator: ", ")) within 5 s: is the engine running?")
        }

        var rng = SplitMix64(seed: configuration.seed ?? UInt64.random(in: 1...UInt64.max))
        let runID = String(UInt32.random(in: 0...UInt32.max, using: &rng), radix: 36)
        callPrefix = "sim-\(runID)-"
        // Keys are unique to this run even when the seed repeats the calls: the engine keeps keys for a day.
        let keyPrefix = "sim-" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + "-"
        let clock = ContinuousClock()
        let begin = clock.now
        // Answers carry wall-clock times, to be set beside what else happened meanwhile (a kill, a cut link).
        let beginWall = Date().timeIntervalSince1970
        func wallClock(_ elapsed: UInt64) -> Double { beginWall + Double(elapsed) / 1e9 }
        func elapsedNanoseconds() -> UInt64 { UInt64((clock.now - begin).nanoseconds) }
        let stopSendingAt = configuration.duration.map { UInt64($0.nanoseconds) } ?? UInt64.max
        let timeout = UInt64(configuration.replyTimeout.nanoseconds)
        let maximumCalls = configuration.calls ?? Int.max
        var nextIntended: UInt64 = 0
        var outstanding = Array(repeating: 0, count: clients)
        var poller = Poller(dealers + [sub])
        var nextProgress: UInt64 = 1_000_000_000
        var nextTimeoutCheck: UInt64 = 0
        var lastProgressAnswered = 0
        var sendingDone = false
        var graceUntil: UInt64 = .max

        func send(on client: Int, intended: UInt64) throws {
            let id = summary.sent
            let key = configuration.idempotencyKeys ? keyPrefix + String(id) : nil
            let (bytes, _) = mix.query(id: id, runID: runID, idempotencyKey: key, using: &rng)
            let now = elapsedNanoseconds()
            pending[id] = Pending(client: client, bytes: bytes, idempotencyKey: key, intended: intended, firstSent: now, sentTo: endpointOf[client],
                                  due: now + timeout, tries: 1)
            try dealers[client].send(bytes)
            summary.sent += 1
            outstanding[client] += 1
        }

        /// Lazy Pirate: a fresh socket for `client`, its unanswered queries sent again, byte for byte.
        func reconnect(_ client: Int) throws {
            dealers[client].close()
            summary.failovers[configuration.queryEndpoints[endpointOf[client]], default: 0] += 1
            endpointOf[client] = (endpointOf[client] + 1) % configuration.queryEndpoints.count
            dealers[client] = try dealer(client)
            poller = Poller(dealers + [sub])
            let now = elapsedNanoseconds()
            for id in pending.keys.sorted() where pending[id]!.client == client {
                // Given up: a query whose last try timed out. Others lost their reply with the socket: sent again.
                if pending[id]!.tries >= configuration.tries && now >= pending[id]!.due {
                    pending[id] = nil
                    outstanding[client] -= 1
                    summary.gaveUp += 1
                    continue
                }
                pending[id]!.tries += 1
                pending[id]!.due = now + timeout
                try dealers[client].send(pending[id]!.bytes)
                summary.retries += 1
            }
        }

        while true {
            let now = elapsedNanoseconds()
            // Send what is due.
            if !sendingDone {
                if now >= stopSendingAt || summary.sent >= maximumCalls || shouldStop() {
                    sendingDone = true
                    graceUntil = now + UInt64(configuration.grace.nanoseconds)
                } else {
                    switch configuration.mode {
                    case .openLoop(let rate):
                        while nextIntended <= now && summary.sent < maximumCalls && nextIntended < stopSendingAt {
                            try send(on: 0, intended: nextIntended)
                            // Exponential gaps between arrivals: a Poisson process at `rate`.
                            let u = Double.random(in: Double.ulpOfOne..<1, using: &rng)
                            nextIntended += UInt64(-log(u) / rate * 1e9)
                        }
                    case .closedLoop:
                        for c in 0..<clients {
                            while outstanding[c] < inFlight && summary.sent < maximumCalls { try send(on: c, intended: elapsedNanoseconds()) }
                        }
                    }
                }
            }
            // Replies overdue: reconnect and resend (checked every 50 ms, not on every reply).
            if now >= nextTimeoutCheck {
                nextTimeoutCheck = now + 50_000_000
                let t = elapsedNanoseconds()  // later than `now`: queries may have been sent since
                var overdue = Set<Int>()
                for p in pending.values where t >= p.due { overdue.insert(p.client) }
                for c in overdue.sorted() { try reconnect(c) }
            }
            // After the last send: until every query is answered or given up, then the grace period for events.
            if sendingDone && pending.isEmpty && (answeredDecisions.isEmpty || (now >= graceUntil && now >= lastReply + 1_000_000_000)) { break }
            if sendingDone && shouldStop() && now >= graceUntil { break }
            // Wait for replies or events, but not past the next send or progress report.
            // To the microsecond: at 2,000 calls a second the next send is usually under a millisecond away,
            // and a wait in whole milliseconds was a loop of zmq_poll(0) that took most of a core from the engine.
            var wait: UInt64 = 100_000_000
            if !sendingDone, case .openLoop = configuration.mode {
                wait = nextIntended > now ? min(nextIntended - now, wait) : 0
            }
            let ready = try poller.poll(timeoutNanoseconds: wait)
            for c in 0..<clients where ready[c] {
                while let frames = try dealers[c].receiveMultipart(wait: false), let body = frames.last {
                    let at = elapsedNanoseconds()
                    if let (id, query, reply) = receiveReply(body, at: at, outstanding: &outstanding) {
                        var decided: (seq: UInt64?, eventID: String?)?
                        if case .decision(_, let seq, let eventID) = reply.outcome { decided = (seq, eventID) }
                        try answered(Answer(id: id, callID: callPrefix + String(id), idempotencyKey: query.idempotencyKey, seq: decided?.seq,
                                            eventID: decided?.eventID, error: reply.errorCode?.rawValue,
                                            sentTo: configuration.queryEndpoints[query.sentTo], answeredBy: configuration.queryEndpoints[endpointOf[c]],
                                            tries: query.tries, sentAt: wallClock(query.firstSent), answeredAt: wallClock(at)))
                    }
                    if case .closedLoop = configuration.mode, !sendingDone, summary.sent < maximumCalls, elapsedNanoseconds() < stopSendingAt {
                        while outstanding[c] < inFlight && summary.sent < maximumCalls { try send(on: c, intended: elapsedNanoseconds()) }
                    }
                }
            }
            if ready[clients] {
                while let frames = try sub.receiveMultipart(wait: false), frames.count == 2 { receiveEvent(topic: frames[0], body: frames[1]) }
            }
            let t = elapsedNanoseconds()
            if t >= nextProgress {
                let seconds = Double(t) / 1e9
                progress(Progress(seconds: seconds, sent: summary.sent, answered: summary.answered,
                                  ratePerSecond: Double(summary.answered - lastProgressAnswered) / (Double(t - nextProgress + 1_000_000_000) / 1e9),
                                  p99Microseconds: histogram.totalCount > 0 ? histogram.valueAtPercentile(99) : 0,
                                  events: summary.eventsReceived, errors: summary.errors.values.reduce(0, +), retries: summary.retries))
                lastProgressAnswered = summary.answered
                nextProgress = t + 1_000_000_000
            }
        }
        try replayMissed(context)
        summary.seqGaps = missingSeqs().count
        // The run lasts until its last reply; the grace period spent waiting for stragglers does not count.
        summary.seconds = Double(max(lastReply, 1)) / 1e9
        progress(Progress(seconds: summary.seconds, sent: summary.sent, answered: summary.answered, ratePerSecond: summary.achievedRate,
                          p99Microseconds: histogram.totalCount > 0 ? histogram.valueAtPercentile(99) : 0,
                          events: summary.eventsReceived, errors: summary.errors.values.reduce(0, +), retries: summary.retries))
        summary.unanswered = summary.sent - summary.answered
        summary.eventsMissing = answeredDecisions.count
        if histogram.totalCount > 0 {
            summary.latency = ["p50": histogram.valueAtPercentile(50), "p90": histogram.valueAtPercentile(90), "p99": histogram.valueAtPercentile(99),
                               "p99.9": histogram.valueAtPercentile(99.9), "max": histogram.max]
        }
        return summary
    }

    /// Accounts for a reply.
    /// - Returns: the query it answers and the reply; nil for an unreadable or duplicate reply, and for an
    ///   `unavailable` one with tries left (the query stays pending, to be sent again after a short pause).
    private func receiveReply(_ body: [UInt8], at now: UInt64, outstanding: inout [Int]) -> (Int, Pending, Wire.DecodedReply)? {
        guard let reply = try? Wire.DecodedReply(json: body), case .number(let n) = reply.id, n >= 0, n == n.rounded(), n < 1e15 else {
            summary.errors["unreadable_reply", default: 0] += 1
            return nil
        }
        let id = Int(n)
        guard let query = pending.removeValue(forKey: id) else {
            summary.duplicateReplies += 1
            return nil
        }
        if reply.errorCode == .unavailable && query.tries < configuration.tries {
            // Nothing was decided: due again after the pause, when the reply-timeout check moves the client on.
            summary.unavailableReplies += 1
            var again = query
            again.due = now + Self.unavailablePause
            pending[id] = again
            return nil
        }
        outstanding[query.client] -= 1
        lastReply = now
        summary.answered += 1
        _ = histogram.record(max(1, (now &- query.intended) / 1000))
        switch reply.outcome {
        case .error(let e):
            summary.errors[e.code.rawValue, default: 0] += 1
        case .decision(let decision, _, let eventID):
            summary.decisions += 1
            if let (early, earlyEventID) = earlyEvents.removeValue(forKey: id) {
                published.insert(id)
                if early == decision && (eventID == nil || eventID == earlyEventID) { summary.eventsMatched += 1 } else { summary.eventsMismatched += 1 }
            } else {
                answeredDecisions[id] = (decision, eventID)
            }
        }
        return (id, query, reply)
    }

    private func receiveEvent(topic: [UInt8], body: [UInt8]) {
        if topic == Array("heartbeat".utf8) {
            // Events up to `seq` exist; any not received by the end is a gap. Several engines: the highest.
            if let seq = try? Wire.decodeHeartbeat(body) { headSeq = max(headSeq, seq) }
            return
        }
        guard let event = try? Wire.DecodedEvent(json: body) else {
            summary.eventsMismatched += 1  // an event a subscriber cannot read
            return
        }
        receive(event)
    }

    /// Counts an event once per `seq`, whichever engine published it, live or replayed.
    /// - Returns: false for a seq already received (another engine's copy) or from before the run.
    @discardableResult private func receive(_ event: Wire.DecodedEvent) -> Bool {
        guard let through = receivedThrough, event.seq > through, receivedAbove.insert(event.seq).inserted else { return false }
        headSeq = max(headSeq, event.seq)
        var advanced = through
        while receivedAbove.remove(advanced + 1) != nil { advanced += 1 }
        receivedThrough = advanced
        summary.eventsReceived += 1
        guard event.callID.hasPrefix(callPrefix), let id = Int(event.callID.dropFirst(callPrefix.count)) else { return true }
        if published.contains(id) || earlyEvents[id] != nil {
            summary.eventsDuplicated += 1
            return true
        }
        if let (answered, eventID) = answeredDecisions.removeValue(forKey: id) {
            published.insert(id)
            if answered == event.decision && (eventID == nil || eventID == event.eventID) { summary.eventsMatched += 1 } else { summary.eventsMismatched += 1 }
        } else {
            earlyEvents[id] = (event.decision, event.eventID)
        }
        return true
    }

    /// The seqs up to the head that no event brought.
    private func missingSeqs() -> [UInt64] {
        guard let through = receivedThrough, headSeq > through else { return [] }
        return (through + 1...headSeq).filter { !receivedAbove.contains($0) }
    }

    /// Fetches the seqs missed live from whichever replay endpoint answers, and accounts for them.
    private func replayMissed(_ context: Context) throws {
        guard !configuration.replayEndpoints.isEmpty else { return }
        let replay = ReplayClient(context: context, endpoints: configuration.replayEndpoints, timeout: configuration.replayTimeout, curve: configuration.curve)
        defer { replay.close() }
        var missing = missingSeqs()[...]
        var silent = 0
        while let from = missing.first, silent < configuration.replayEndpoints.count {
            // The missing seqs come in runs; ask for the run that starts here.
            let run = missing.prefix { $0 - from < 1000 }
            guard case .events(let items) = try replay.request(fromSeq: from, max: Int(run.last! - from + 1), as: FeedEvent.self) else {
                silent += 1
                continue
            }
            silent = 0
            var through = run.last!  // nothing returned: the journal does not hold these, they stay gaps
            for item in items {
                let event = item.event
                through = event.seq
                if receive(event) { summary.eventsReplayed += 1 }
            }
            missing = missing.drop { $0 <= through }
        }
    }
}

public struct SimulationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A small seeded generator, so a run can be repeated with `--seed`.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

// A simulation belongs to the one thread that runs it (handed over with `sending`).
@available(*, unavailable) extension Simulation: Sendable {}
