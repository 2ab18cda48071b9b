import Foundation
import Logging
import Metrics
import Routing
import Synchronization
import Wire
import ZeroMQ

/// A decision event as a subscriber receives it: the event, decoded and typed.
public struct FeedEvent: Sendable, Hashable {
    public let event: Wire.DecodedEvent

    public init(_ event: Wire.DecodedEvent) { self.event = event }

    public var seq: UInt64 { event.seq }
    public var eventID: String { event.eventID }
}

/// Every decision the engine journals, in `seq` order, each exactly once, whatever was missed.
///
/// Subscribes to `decision.` and `heartbeat` on the events endpoint and remembers the next `seq` it
/// expects. At start, and whenever an event or a heartbeat shows a gap, it asks the replay endpoint for the
/// missing range (the zguide's Clone pattern). The handler gets contiguous batches; the feed moves past a
/// batch only once the handler has returned, so a subscriber that commits a batch together with its last
/// `seq` loses and repeats nothing across crashes.
///
/// Subscribers filter by action themselves: subscribing to a narrower prefix would make `seq` gaps normal
/// and hide real ones.
public final class EventFeed {
    public struct Configuration: Sendable {
        public var eventsEndpoint = Endpoints.default.events
        public var replayEndpoint = Endpoints.default.replay
        /// CURVE: the engine's public key and this subscriber's key pair.
        public var curve: (serverKey: String, keys: CurveKeyPair)?
        /// Events asked for per replay request.
        public var replayBatch = 1000
        /// How long a replay request may take before it is asked again on a fresh connection.
        public var replayTimeout: Duration = .seconds(5)
        /// The subscriber's name in `switchboard_subscriber_seq{subscriber}` and
        /// `switchboard_subscriber_lag_events{subscriber}` (`--metrics`); nil: not metered.
        public var meteredAs: String?

        public init() {}
    }

    public let configuration: Configuration
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    /// The next `seq` wanted.
    public private(set) var next: UInt64 {
        didSet { lag?.report(handled: next - 1) }
    }
    private let lag: LagGauges?

    /// - Parameter lastSeq: the last `seq` this subscriber has handled (0 for none).
    public init(configuration: Configuration, after lastSeq: UInt64, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        next = lastSeq + 1
        lag = configuration.meteredAs.map(LagGauges.init(subscriber:))
        lag?.report(handled: lastSeq)
    }

    /// Asks ``run(_:)`` to return after the batch in hand.
    public func stop() { stopping.store(true, ordering: .releasing) }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Receives and hands over events until ``stop()``. Call it on a thread of its own: it blocks.
    /// - Parameter deliver: gets each contiguous batch, in order. When it throws, the batch is offered
    ///   again (through replay) a second later.
    public func run(_ deliver: ([FeedEvent]) throws -> Void) throws {
        let context = try Context()
        let sub = try Socket(context, .sub)
        try sub.set(.linger, Int32(0))
        try sub.set(.receiveHighWaterMark, Int32(100_000))
        if let curve = configuration.curve { try sub.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
        try sub.subscribe("decision.")
        try sub.subscribe("heartbeat")
        try sub.connect(configuration.eventsEndpoint)
        var replay = try replaySocket(context)
        defer {
            sub.close()
            replay.close()
        }
        // Catch up from the journal first; live events that arrive meanwhile wait in the SUB queue.
        var needsReplay = true
        var poller = Poller([sub])
        // The highest seq the live stream has shown, and whether a journal reset has been reported (once per episode).
        var streamHigh: UInt64 = 0
        var resetReported = false
        // The highest seq the replay endpoint has confirmed the journal holds, so an old heartbeat is checked once.
        var confirmed: UInt64 = 0
        while !isStopping {
            if needsReplay {
                do {
                    needsReplay = try catchUp(&replay, context: context, deliver: deliver) == false
                } catch let error as DeliveryFailed {
                    if isStopping { return }  // the subscriber gave up its batch to stop
                    logger.error("the subscriber could not take events; retrying in a second: \(error.underlying)")
                    Thread.sleep(forTimeInterval: 1)
                    continue
                }
                if needsReplay { continue }
            }
            guard try poller.poll(timeoutMilliseconds: 200)[0] else { continue }
            var batch: [FeedEvent] = []
            var gap = false
            for _ in 0..<1000 {
                guard let frames = try sub.receiveMultipart(wait: false), frames.count == 2 else { break }
                if frames[0] == Array("heartbeat".utf8) {
                    guard let seq = try? Wire.decodeHeartbeat(frames[1]) else {
                        logger.warning("ignored a heartbeat without a seq")
                        continue
                    }
                    defer {
                        streamHigh = max(streamHigh, seq)
                        lag?.report(head: streamHigh)
                    }
                    let expected = next + UInt64(batch.count)
                    if seq >= expected {
                        gap = true  // events up to `seq` exist that this subscriber has not seen
                        resetReported = false
                    } else if seq + 1 == expected {
                        resetReported = false
                    } else if !resetReported, expected - 1 > confirmed || seq < streamHigh {
                        switch try journalEnds(before: expected - 1, heartbeat: seq, streamHigh: streamHigh, &replay, context: context) {
                        case true?:
                            logger.warning("the engine's journal ends at seq \(seq), before this subscriber's \(expected - 1): was it reset?")
                            resetReported = true
                        case false?: confirmed = expected - 1
                        case nil: break
                        }
                    }
                    continue
                }
                let event: Wire.DecodedEvent
                do {
                    event = try Wire.DecodedEvent(json: frames[1])
                } catch {
                    // Not skipped silently: the gap it leaves is replayed, and replay says the same if the journal does.
                    logger.warning("ignored an event that does not decode: \(error)")
                    continue
                }
                streamHigh = max(streamHigh, event.seq)
                lag?.report(head: streamHigh)
                let expected = next + UInt64(batch.count)
                if event.seq < expected { continue }  // already handled (replay and live overlap)
                if event.seq > expected {
                    gap = true
                    break
                }
                batch.append(FeedEvent(event))
            }
            if !batch.isEmpty {
                do {
                    try deliver(batch)
                    next += UInt64(batch.count)
                } catch {
                    if isStopping { return }
                    logger.error("the subscriber could not take events; retrying in a second: \(error)")
                    Thread.sleep(forTimeInterval: 1)
                    needsReplay = true
                    continue
                }
            }
            if gap { needsReplay = true }
        }
    }

    private struct DeliveryFailed: Error {
        let underlying: Error
    }

    /// Replays from `next` until the journal has nothing more.
    /// - Returns: false when the replay endpoint did not answer in time (try again later).
    private func catchUp(_ replay: inout Socket, context: Context, deliver: ([FeedEvent]) throws -> Void) throws -> Bool {
        while !isStopping {
            try replay.send(multipart: [[], Array(#"{"from_seq":\#(next),"max":\#(configuration.replayBatch)}"#.utf8)])
            guard let frames = try replay.receiveMultipart(), let body = frames.last else {
                // No answer: a fresh connection, so a lost request cannot leave the socket waiting for ever.
                replay.close()
                replay = try replaySocket(context)
                logger.warning("replay did not answer; retrying", metadata: ["from_seq": "\(next)"])
                return false
            }
            let reply = try JSONReader.parse(body, limits: .trusted)
            guard case .array(let items)? = reply["events"] else {
                logger.error("replay refused: \(reply["error"].map { "\($0)" } ?? "no events")")
                Thread.sleep(forTimeInterval: 1)
                return false
            }
            if items.isEmpty { return true }
            var batch: [FeedEvent] = []
            for item in items {
                let event: Wire.DecodedEvent
                do {
                    event = try Wire.DecodedEvent(value: item)
                } catch {
                    logger.error("replay returned an event that does not decode; retrying: \(error)", metadata: ["from_seq": "\(next + UInt64(batch.count))"])
                    break
                }
                guard event.seq == next + UInt64(batch.count) else { break }
                batch.append(FeedEvent(event))
            }
            guard !batch.isEmpty else {
                Thread.sleep(forTimeInterval: 1)  // not a busy loop against a journal that keeps answering the same
                return false
            }
            do {
                try deliver(batch)
            } catch {
                throw DeliveryFailed(underlying: error)
            }
            next += UInt64(batch.count)
            logger.debug("replayed", metadata: ["through_seq": "\(next - 1)"])
        }
        return true
    }

    /// Whether a heartbeat below what this subscriber has handled means the journal really ends before `last`.
    ///
    /// Usually it does not: a heartbeat queued on the live stream while a replay caught up past it is merely
    /// old. The stream's own order settles it when it can (a heartbeat is never below an event or heartbeat
    /// published before it, unless the journal went back); otherwise the replay endpoint is asked for `last`.
    /// - Returns: nil when the replay endpoint did not answer (nothing known, nothing said).
    private func journalEnds(before last: UInt64, heartbeat: UInt64, streamHigh: UInt64, _ replay: inout Socket, context: Context) throws -> Bool? {
        if heartbeat < streamHigh { return true }
        try replay.send(multipart: [[], Array(#"{"from_seq":\#(last),"max":1}"#.utf8)])
        guard let frames = try replay.receiveMultipart(), let body = frames.last else {
            replay.close()
            replay = try replaySocket(context)
            return nil
        }
        guard case .array(let events)? = (try? JSONReader.parse(body, limits: .trusted))?["events"] else { return nil }
        return events.isEmpty
    }

    private func replaySocket(_ context: Context) throws -> Socket {
        let s = try Socket(context, .dealer)
        try s.set(.linger, Int32(0))
        try s.set(.receiveTimeout, Int32(configuration.replayTimeout.components.seconds * 1000))
        if let curve = configuration.curve { try s.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
        try s.connect(configuration.replayEndpoint)
        return s
    }
}

/// How far a subscriber is behind the journal's head: the highest `seq` the live stream has shown (an event,
/// or the heartbeat's about once a second) minus the last `seq` handed to the subscriber and taken. While a
/// subscriber catches up by replay it reads no live stream, so the head is the one seen before.
private final class LagGauges {
    private let seq: Gauge
    private let lag: Gauge
    private var head: UInt64 = 0
    private var handled: UInt64 = 0

    init(subscriber: String) {
        seq = Gauge(label: "switchboard_subscriber_seq", dimensions: [("subscriber", subscriber)])
        lag = Gauge(label: "switchboard_subscriber_lag_events", dimensions: [("subscriber", subscriber)])
    }

    func report(head: UInt64) {
        guard head > self.head else { return }
        self.head = head
        lag.record(Int64(head > handled ? head - handled : 0))
    }

    func report(handled: UInt64) {
        self.handled = handled
        seq.record(Int64(handled))
        if handled > head { head = handled }
        lag.record(Int64(head - handled))
    }
}

// `stop()`, the one method meant for other threads, touches only the atomic flag; the sockets and `next`
// belong to the thread that calls `run`.
extension EventFeed: @unchecked Sendable {}
