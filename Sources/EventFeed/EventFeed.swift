import Foundation
import Logging
import Metrics
import Routing
import Synchronization
import Wire
import ZeroMQ

/// What a feed hands its subscriber for each event: whatever the subscriber reads from the event's JSON,
/// as long as it knows the event's `seq`. ``FeedEvent`` decodes the whole event; a subscriber that needs a
/// few columns (the recorder) reads only those.
public protocol FeedRecord: Sendable {
    /// Reads one event's JSON (from the live stream, or an element of a replay reply).
    /// - Throws: when the event cannot be read; the feed logs it and leaves the gap to replay.
    init(eventJSON: UnsafeBufferPointer<UInt8>.SubSequence) throws
    var seq: UInt64 { get }
}

/// A decision event as a subscriber receives it: the event, decoded and typed.
public struct FeedEvent: FeedRecord, Hashable {
    public let event: Wire.DecodedEvent

    public init(_ event: Wire.DecodedEvent) { self.event = event }

    public init(eventJSON: UnsafeBufferPointer<UInt8>.SubSequence) throws {
        let value = try JSONReader.parse(UnsafeBufferPointer(rebasing: eventJSON), limits: .trusted)
        event = try Wire.DecodedEvent(value: value)
    }

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
        /// While catching up, replay replies are gathered until this many events (or the journal's end)
        /// before they are handed over; 1 hands over each reply as it comes. A subscriber that commits each
        /// batch (the recorder) sets it high: fewer, larger transactions. Bounds the events held in memory.
        public var catchUpBatch = 1
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
        try run(as: FeedEvent.self, deliver)
    }

    /// Receives and hands over events, each read as `Record`, until ``stop()``.
    public func run<Record: FeedRecord>(as _: Record.Type, _ deliver: ([Record]) throws -> Void) throws {
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
            var batch: [Record] = []
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
                let event: Record
                do {
                    event = try frames[1].withUnsafeBufferPointer { try Record(eventJSON: $0[...]) }
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
                batch.append(event)
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
    private func catchUp<Record: FeedRecord>(_ replay: inout Socket, context: Context, deliver: ([Record]) throws -> Void) throws -> Bool {
        while !isStopping {
            // Replies gathered into one delivery, up to `catchUpBatch` events: a subscriber that commits each
            // batch to disk pays that per batch, not per reply.
            var batch: [Record] = []
            /// Set when this catch-up ends after the batch in hand: true caught up, false to try again later.
            var outcome: Bool?
            gather: while batch.count < max(1, configuration.catchUpBatch) {
                let from = next + UInt64(batch.count)
                try replay.send(multipart: [[], Array(#"{"from_seq":\#(from),"max":\#(configuration.replayBatch)}"#.utf8)])
                guard let frames = try replay.receiveMultipart(), let body = frames.last else {
                    // No answer: a fresh connection, so a lost request cannot leave the socket waiting for ever.
                    replay.close()
                    replay = try replaySocket(context)
                    logger.warning("replay did not answer; retrying", metadata: ["from_seq": "\(from)"])
                    outcome = false
                    break gather
                }
                let items: [Record]
                var unreadable = false
                switch readReplay(body, as: Record.self) {
                case .events(let events):
                    if events.isEmpty {
                        outcome = true
                        break gather
                    }
                    items = events
                case .refused(let error):
                    logger.error("replay refused: \(error)")
                    if batch.isEmpty { Thread.sleep(forTimeInterval: 1) }
                    outcome = false
                    break gather
                case .undecodable(let read, let error):
                    logger.error("replay returned an event that does not decode; retrying: \(error)", metadata: ["from_seq": "\(from + UInt64(read.count))"])
                    items = read
                    unreadable = true
                }
                var taken = 0
                for event in items {
                    guard event.seq == from + UInt64(taken) else { break }
                    batch.append(event)
                    taken += 1
                }
                if taken == 0 {
                    // Not a busy loop against a journal that keeps answering the same.
                    if batch.isEmpty { Thread.sleep(forTimeInterval: 1) }
                    outcome = false
                    break gather
                }
                // What is contiguous goes now; the rest is asked for again.
                if unreadable || taken < items.count { break gather }
            }
            if !batch.isEmpty {
                do {
                    try deliver(batch)
                } catch {
                    throw DeliveryFailed(underlying: error)
                }
                next += UInt64(batch.count)
                logger.debug("replayed", metadata: ["through_seq": "\(next - 1)"])
            }
            if let outcome { return outcome }
        }
        return true
    }

    private enum ReplayReply<Record> {
        case events([Record])
        /// The events before the first that could not be read, and why it could not.
        case undecodable([Record], Error)
        /// An error reply, or not a reply at all.
        case refused(String)
    }

    /// Reads a replay reply `{"events": [...], "next_seq"}` event by event, without parsing it whole.
    private func readReplay<Record: FeedRecord>(_ body: [UInt8], as _: Record.Type) -> ReplayReply<Record> {
        body.withUnsafeBufferPointer { buffer in
            var records: [Record] = []
            var failure: Error?
            var scanner = JSONScanner(buffer)
            var sawEvents = false
            do {
                try scanner.members { key, scanner in
                    guard JSONScanner.equal(key, "events") else { try scanner.skipValue(); return }
                    sawEvents = true
                    try scanner.elements { scanner in
                        let range = try scanner.skipValue()
                        guard failure == nil else { return }
                        do {
                            records.append(try Record(eventJSON: buffer[range]))
                        } catch {
                            failure = error
                        }
                    }
                }
            } catch {
                return .refused("the reply is not JSON as expected (\(error))")
            }
            if let failure { return .undecodable(records, failure) }
            if sawEvents { return .events(records) }
            let error = (try? JSONReader.parse(body, limits: .trusted))?["error"]
            return .refused(error.map { "\($0)" } ?? "no events")
        }
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
