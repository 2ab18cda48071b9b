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
public final class Simulation {
    public enum Mode: Sendable {
        case openLoop(rate: Double)
        case closedLoop(clients: Int, inFlight: Int)
    }

    public struct Configuration: Sendable {
        public var queryEndpoint = Endpoints.default.query
        public var eventsEndpoint = Endpoints.default.events
        public var mode = Mode.openLoop(rate: 1000)
        /// Stop sending after this long, or after `calls`, whichever comes first (at least one is set).
        public var duration: Duration? = .seconds(10)
        public var calls: Int?
        public var seed: UInt64?
        /// How long to wait for replies and events after the last call.
        public var grace: Duration = .seconds(3)
        public var curve: (serverKey: String, keys: CurveKeyPair)?

        public init() {}
    }

    /// What a run measured.
    public struct Summary: Sendable {
        public var seconds = 0.0
        public var sent = 0
        public var answered = 0
        public var decisions = 0
        public var errors: [String: Int] = [:]
        /// Calls never answered within the grace period.
        public var unanswered = 0
        /// Latency percentiles in microseconds: p50, p90, p99, p99.9, max.
        public var latency: [String: UInt64] = [:]
        public var eventsReceived = 0
        public var eventsMatched = 0
        public var eventsMismatched = 0
        /// Decisions answered whose event never arrived.
        public var eventsMissing = 0
        /// Sequence numbers skipped between consecutive events.
        public var seqGaps = 0
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
    }

    public let configuration: Configuration
    let mix: CallMix

    public init(configuration: Configuration, mix: CallMix) {
        self.configuration = configuration
        self.mix = mix
    }

    // Run state.
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    private var summary = Summary()
    /// Per call id number: when it counts as sent (ns on the monotonic clock); 0 once answered.
    private var started: [UInt64] = []
    /// Per call id number: the hash of the decision answered, until its event arrives.
    private var answeredDecisions: [Int: UInt64] = [:]
    /// Events of this run that arrived before their reply.
    private var earlyEvents: [Int: UInt64] = [:]
    private var lastSeq: UInt64?
    private var lastReply: UInt64 = 0

    /// Runs the simulation on the calling thread (it blocks; give it a thread of its own).
    public func run(progress: (Progress) -> Void = { _ in }) throws -> Summary {
        let context = try Context()
        var dealers: [Socket] = []
        let clients: Int, inFlight: Int
        switch configuration.mode {
        case .openLoop: (clients, inFlight) = (1, Int.max)
        case .closedLoop(let c, let f): (clients, inFlight) = (max(1, c), max(1, f))
        }
        for _ in 0..<clients {
            let d = try Socket(context, .dealer)
            try d.set(.linger, Int32(0))
            try d.set(.sendHighWaterMark, Int32(0))
            try d.set(.receiveHighWaterMark, Int32(0))
            if let curve = configuration.curve { try d.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
            try d.connect(configuration.queryEndpoint)
            dealers.append(d)
        }
        let sub = try Socket(context, .sub)
        try sub.set(.linger, Int32(0))
        try sub.set(.receiveHighWaterMark, Int32(0))
        if let curve = configuration.curve { try sub.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
        try sub.subscribe("decision.")
        try sub.subscribe("heartbeat")
        try sub.connect(configuration.eventsEndpoint)
        defer {
            for s in dealers + [sub] { s.close() }
        }
        // Wait for a heartbeat, so no event of the run is published before the subscription is in place.
        try sub.set(.receiveTimeout, Int32(5000))
        var subscribed = false
        while !subscribed, let frames = try sub.receiveMultipart() { subscribed = frames.first == Array("heartbeat".utf8) }
        guard subscribed else { throw SimulationError("no heartbeat from \(configuration.eventsEndpoint) within 5 s: is the engine running?") }

        var rng = SplitMix64(seed: configuration.seed ?? UInt64.random(in: 1...UInt64.max))
        let runID = String(UInt32.random(in: 0...UInt32.max, using: &rng), radix: 36)
        let clock = ContinuousClock()
        let begin = clock.now
        func elapsedNanoseconds() -> UInt64 { UInt64((clock.now - begin).nanoseconds) }
        let stopSendingAt = configuration.duration.map { UInt64($0.nanoseconds) } ?? UInt64.max
        let maximumCalls = configuration.calls ?? Int.max
        var nextIntended: UInt64 = 0
        var outstanding = Array(repeating: 0, count: clients)
        var poller = Poller(dealers + [sub])
        var nextProgress: UInt64 = 1_000_000_000
        var lastProgressAnswered = 0
        var sendingDone = false
        var graceUntil: UInt64 = .max

        func send(on client: Int, intended: UInt64) throws {
            let id = summary.sent
            let (bytes, _) = mix.query(id: id, runID: runID, using: &rng)
            started.append(intended)
            try dealers[client].send(bytes)
            summary.sent += 1
            outstanding[client] += 1
        }

        while true {
            let now = elapsedNanoseconds()
            // Send what is due.
            if !sendingDone {
                if now >= stopSendingAt || summary.sent >= maximumCalls {
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
            let waitingReplies = outstanding.reduce(0, +)
            if sendingDone && (now >= graceUntil || (waitingReplies == 0 && answeredDecisions.isEmpty)) { break }
            // Wait for replies or events, but not past the next send or progress report.
            var timeout = 100
            if !sendingDone, case .openLoop = configuration.mode {
                timeout = nextIntended > now ? Int((nextIntended - now) / 1_000_000) : 0
            }
            let ready = try poller.poll(timeoutMilliseconds: min(timeout, 100))
            for (c, dealer) in dealers.enumerated() where ready[c] {
                while let frames = try dealer.receiveMultipart(wait: false), let body = frames.last {
                    outstanding[c] -= 1
                    receiveReply(body, at: elapsedNanoseconds())
                    if case .closedLoop = configuration.mode, !sendingDone, summary.sent < maximumCalls, elapsedNanoseconds() < stopSendingAt {
                        try send(on: c, intended: elapsedNanoseconds())
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
                                  events: summary.eventsReceived, errors: summary.errors.values.reduce(0, +)))
                lastProgressAnswered = summary.answered
                nextProgress = t + 1_000_000_000
            }
        }
        // The run lasts until its last reply; the grace period spent waiting for stragglers does not count.
        summary.seconds = Double(max(lastReply, 1)) / 1e9
        progress(Progress(seconds: summary.seconds, sent: summary.sent, answered: summary.answered, ratePerSecond: summary.achievedRate,
                          p99Microseconds: histogram.totalCount > 0 ? histogram.valueAtPercentile(99) : 0,
                          events: summary.eventsReceived, errors: summary.errors.values.reduce(0, +)))
        summary.unanswered = summary.sent - summary.answered
        summary.eventsMissing = answeredDecisions.count
        if histogram.totalCount > 0 {
            summary.latency = ["p50": histogram.valueAtPercentile(50), "p90": histogram.valueAtPercentile(90), "p99": histogram.valueAtPercentile(99),
                               "p99.9": histogram.valueAtPercentile(99.9), "max": histogram.max]
        }
        return summary
    }

    private func receiveReply(_ body: [UInt8], at now: UInt64) {
        guard let id = Simulation.number(after: #"{"id":"#, in: body), id < started.count else { return }
        let sentAt = started[id]
        lastReply = now
        summary.answered += 1
        _ = histogram.record(max(1, (now &- sentAt) / 1000))
        if let code = Simulation.string(after: #""code":""#, in: body) {
            summary.errors[code, default: 0] += 1
            return
        }
        summary.decisions += 1
        guard let hash = Simulation.decisionHash(body) else { return }
        if let early = earlyEvents.removeValue(forKey: id) {
            if early == hash { summary.eventsMatched += 1 } else { summary.eventsMismatched += 1 }
        } else {
            answeredDecisions[id] = hash
        }
    }

    private func receiveEvent(topic: [UInt8], body: [UInt8]) {
        guard let seq = Simulation.number(after: #"{"seq":"#, in: body) else { return }
        if let last = lastSeq {
            if UInt64(seq) > last + 1 { summary.seqGaps += Int(UInt64(seq) - last - 1) }
            if UInt64(seq) <= last { return }  // a heartbeat or a repeat
        }
        lastSeq = UInt64(seq)
        guard topic != Array("heartbeat".utf8) else {
            lastSeq = UInt64(seq)
            return
        }
        summary.eventsReceived += 1
        guard let callID = Simulation.string(after: #""call_id":""#, in: body), callID.hasPrefix("sim-"),
              let id = Int(callID.split(separator: "-").last ?? ""), let hash = Simulation.decisionHash(body) else { return }
        if let answered = answeredDecisions.removeValue(forKey: id) {
            if answered == hash { summary.eventsMatched += 1 } else { summary.eventsMismatched += 1 }
        } else {
            earlyEvents[id] = hash
        }
    }

    // MARK: Reading replies and events without parsing them whole

    /// The decision's JSON is the last member of both a reply and an event, written identically in both.
    static func decisionHash(_ body: [UInt8]) -> UInt64? {
        guard let start = find(Array(#""decision":"#.utf8), in: body), body.count > start + 1 else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for b in body[start..<(body.count - 1)] {
            hash ^= UInt64(b)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    /// The index just after `needle`'s first occurrence.
    static func find(_ needle: [UInt8], in body: [UInt8]) -> Int? {
        guard body.count >= needle.count else { return nil }
        var i = 0
        outer: while i <= body.count - needle.count {
            for k in 0..<needle.count where body[i + k] != needle[k] {
                i += 1
                continue outer
            }
            return i + needle.count
        }
        return nil
    }

    static func number(after key: String, in body: [UInt8]) -> Int? {
        guard let start = find(Array(key.utf8), in: body) else { return nil }
        var value = 0, digits = 0
        var i = start
        while i < body.count, body[i] >= 0x30, body[i] <= 0x39 {
            value = value * 10 + Int(body[i] - 0x30)
            i += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    static func string(after key: String, in body: [UInt8]) -> String? {
        guard let start = find(Array(key.utf8), in: body), let end = body[start...].firstIndex(of: 0x22) else { return nil }
        return String(decoding: body[start..<end], as: UTF8.self)
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

// A simulation is handed to the one thread that runs it and used only there.
extension Simulation: @unchecked Sendable {}
