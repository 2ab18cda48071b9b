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

/// Every decision the engine journals, in `seq` order, each exactly once, whatever was missed — from one
/// engine or from several that share one journal.
///
/// Subscribes to `decision.` and `heartbeat` on every events endpoint (one SUB socket connected to all) and
/// remembers the next `seq` it expects. Events from several engines arrive interleaved and possibly twice
/// (each engine may publish only the `seq`s it assigned, or all of them): a bounded ``ReorderBuffer`` keeps
/// each `seq` once and hands out the contiguous run. At start, and whenever a `seq` at or below the head (the
/// highest `seq` any event or heartbeat has shown) stays missing for longer than `reorderWait`, it asks a
/// replay endpoint for the missing range (the zguide's Clone pattern), moving to the next engine when one
/// does not answer. With one engine the stream is in order, so a gap is replayed at once.
///
/// The handler gets contiguous batches; the feed moves past a batch only once the handler has returned, so a
/// subscriber that commits a batch together with its last `seq` loses and repeats nothing across crashes.
///
/// Subscribers filter by action themselves: subscribing to a narrower prefix would make `seq` gaps normal
/// and hide real ones.
public final class EventFeed {
    public struct Configuration: Sendable {
        /// Every engine's events endpoint; one SUB socket connects to all.
        public var eventsEndpoints = [Endpoints.default.events]
        /// Every engine's replay endpoint, asked one at a time.
        public var replayEndpoints = [Endpoints.default.replay]
        /// CURVE: the engines' public key and this subscriber's key pair.
        public var curve: (serverKey: String, keys: CurveKeyPair)?
        /// Events asked for per replay request.
        public var replayBatch = 1000
        /// While catching up, replay replies are gathered until this many events (or the journal's end)
        /// before they are handed over; 1 hands over each reply as it comes. A subscriber that commits each
        /// batch (the recorder) sets it high: fewer, larger transactions. Bounds the events held in memory.
        public var catchUpBatch = 1
        /// How long a replay request may take before the next engine is asked, on a fresh connection.
        public var replayTimeout: Duration = .seconds(5)
        /// The subscriber's name in `switchboard_subscriber_seq{subscriber}` and
        /// `switchboard_subscriber_lag_events{subscriber}` (`--metrics`); nil: not metered.
        public var meteredAs: String?
        /// Events held while a `seq` before them is missing; beyond it they are dropped and replayed
        /// (``EventFeedError/reorderBufferFull``, logged).
        public var reorderCapacity = 10_000
        /// With several events endpoints: how long a missing `seq` may stay missing while later ones arrive,
        /// before it is replayed (another engine may simply not have published it yet).
        public var reorderWait: Duration = .milliseconds(200)

        /// The first events endpoint; setting it makes it the only one.
        public var eventsEndpoint: String {
            get { eventsEndpoints[0] }
            set { eventsEndpoints = [newValue] }
        }

        /// The first replay endpoint; setting it makes it the only one.
        public var replayEndpoint: String {
            get { replayEndpoints[0] }
            set { replayEndpoints = [newValue] }
        }

        public init() {}
    }

    public let configuration: Configuration
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let overflows = Atomic<Int>(0)
    /// The next `seq` wanted; set by the thread in ``run(as:_:)`` as batches are taken.
    private var nextWanted: UInt64
    /// The next `seq` wanted.
    public var next: UInt64 { nextWanted }
    private let lag: LagGauges?

    /// - Parameter lastSeq: the last `seq` this subscriber has handled (0 for none).
    public init(configuration: Configuration, after lastSeq: UInt64, logger: Logger) {
        precondition(!configuration.eventsEndpoints.isEmpty && !configuration.replayEndpoints.isEmpty, "a feed needs an events and a replay endpoint")
        self.configuration = configuration
        self.logger = logger
        nextWanted = lastSeq + 1
        lag = configuration.meteredAs.map(LagGauges.init(subscriber:))
        lag?.report(handled: lastSeq)
    }

    /// Asks ``run(_:)`` to return after the batch in hand.
    public func stop() { stopping.store(true, ordering: .releasing) }

    /// Live events dropped because the reorder buffer was full (each recovered by replay).
    public var reorderOverflows: Int { overflows.load(ordering: .relaxed) }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Receives and hands over events until ``stop()``. Call it on a thread of its own: it blocks.
    /// - Parameter deliver: gets each contiguous batch, in order. When it throws, the batch is offered
    ///   again (through replay) a second later.
    public func run(_ deliver: ([FeedEvent]) throws -> Void) throws {
        try run(as: FeedEvent.self, deliver)
    }

    /// Receives and hands over events, each read as `Record`, until ``stop()``.
    public func run<Record: FeedRecord>(as _: Record.Type, _ deliver: ([Record]) throws -> Void) throws {
        var buffer = ReorderBuffer<Record>(after: nextWanted - 1, capacity: configuration.reorderCapacity)
        let context = try Context()
        let sub = try Socket(context, .sub)
        try sub.set(.linger, Int32(0))
        try sub.set(.receiveHighWaterMark, Int32(100_000))
        if let curve = configuration.curve { try sub.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
        try sub.subscribe("decision.")
        try sub.subscribe("heartbeat")
        for endpoint in configuration.eventsEndpoints { try sub.connect(endpoint) }
        let replay = ReplayClient(context: context, endpoints: configuration.replayEndpoints, timeout: configuration.replayTimeout, curve: configuration.curve)
        defer {
            sub.close()
            replay.close()
        }
        // One engine publishes in order, so anything out of order is a gap; several interleave.
        let severalEngines = configuration.eventsEndpoints.count > 1
        let reorderWait = severalEngines ? configuration.reorderWait : .zero
        let clock = ContinuousClock()
        // Catch up from the journal first; live events that arrive meanwhile wait in the SUB queue.
        var needsReplay = true
        var poller = Poller([sub])
        // Since when `next` has been missing while later seqs are known.
        var missingSince: ContinuousClock.Instant?
        // The highest seq the live stream has shown, and whether a journal reset has been reported (once per episode).
        var streamHigh: UInt64 = 0
        var resetReported = false
        var overflowReported = false
        // The highest seq the replay endpoint has confirmed the journal holds, so an old heartbeat is checked once.
        var confirmed: UInt64 = 0
        while !isStopping {
            if needsReplay {
                do {
                    needsReplay = try catchUp(replay, &buffer, deliver: deliver) == false
                } catch let error as DeliveryFailed {
                    if isStopping { return }  // the subscriber gave up its batch to stop
                    logger.error("the subscriber could not take events; retrying in a second: \(error.underlying)")
                    Thread.sleep(forTimeInterval: 1)
                    continue
                }
                if needsReplay { continue }
                missingSince = nil
                overflowReported = false
            }
            var timeout = 200
            if let since = missingSince {
                let left = reorderWait - (clock.now - since)
                timeout = max(0, min(timeout, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1))
            }
            if try poller.poll(timeoutMilliseconds: timeout)[0] {
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
                        buffer.sawHeartbeat(seq)
                        let expected = buffer.next
                        if seq + 1 >= expected {
                            resetReported = false
                        } else if !resetReported, expected - 1 > confirmed || (!severalEngines && seq < streamHigh) {
                            // Several engines' heartbeats differ, so only the journal (by replay) can say it was reset.
                            switch try journalEnds(before: expected - 1, heartbeat: seq, streamHigh: severalEngines ? 0 : streamHigh, replay) {
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
                    if buffer.admit(event) == .overflow {
                        overflows.add(1, ordering: .relaxed)
                        if !overflowReported {
                            logger.warning("\(EventFeedError.reorderBufferFull(capacity: buffer.capacity, waitingFor: buffer.next))")
                            overflowReported = true
                        }
                        needsReplay = true  // what was dropped is in the journal
                    }
                }
            }
            while case let batch = buffer.ready(limit: 1000), !batch.isEmpty {
                do {
                    try deliver(batch)
                    handedOut(batch.count, &buffer)
                } catch {
                    if isStopping { return }
                    logger.error("the subscriber could not take events; retrying in a second: \(error)")
                    Thread.sleep(forTimeInterval: 1)
                    needsReplay = true
                    break
                }
            }
            if buffer.isMissingNext {
                let since = missingSince ?? clock.now
                missingSince = since
                if clock.now - since >= reorderWait { needsReplay = true }
            } else {
                missingSince = nil
            }
        }
    }

    private struct DeliveryFailed: Error {
        let underlying: Error
    }

    /// Moves past `count` events the subscriber has taken.
    private func handedOut<Record>(_ count: Int, _ buffer: inout ReorderBuffer<Record>) {
        buffer.handedOut(count)
        nextWanted = buffer.next
        lag?.report(handled: nextWanted - 1)
    }

    /// Replays from `next` until the journal has nothing more.
    /// - Returns: false when no replay endpoint answered with events this time (try again: the next one).
    private func catchUp<Record: FeedRecord>(_ replay: ReplayClient, _ buffer: inout ReorderBuffer<Record>,
                                             deliver: ([Record]) throws -> Void) throws -> Bool {
        while !isStopping {
            // Replies gathered into one delivery, up to `catchUpBatch` events: a subscriber that commits each
            // batch to disk pays that per batch, not per reply.
            var batch: [Record] = []
            /// Set when this catch-up ends after the batch in hand: true caught up, false to try again.
            var outcome: Bool?
            gather: while batch.count < max(1, configuration.catchUpBatch) {
                let from = buffer.next + UInt64(batch.count)
                let items: [Record]
                var unreadable = false
                switch try replay.request(fromSeq: from, max: configuration.replayBatch, as: Record.self) {
                case .events(let events):
                    if events.isEmpty {
                        outcome = true
                        break gather
                    }
                    items = events
                case .undecodable(let read, let error):
                    logger.error("replay returned an event that does not decode; retrying: \(error)", metadata: ["from_seq": "\(from + UInt64(read.count))"])
                    items = read
                    unreadable = true
                case .unanswered(let endpoint):
                    logger.warning("replay did not answer; asking the next engine", metadata: ["from_seq": "\(from)", "endpoint": "\(endpoint)"])
                    outcome = false
                    break gather
                case .refused(let endpoint, let reason):
                    logger.error("replay refused: \(reason)", metadata: ["endpoint": "\(endpoint)"])
                    // Another engine may answer at once; when every one refuses, not a busy loop.
                    if batch.isEmpty && replay.everyEndpointFailed { Thread.sleep(forTimeInterval: 1) }
                    outcome = false
                    break gather
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
                handedOut(batch.count, &buffer)
                logger.debug("replayed", metadata: ["through_seq": "\(buffer.next - 1)"])
            }
            if let outcome { return outcome }
        }
        return true
    }

    /// Whether a heartbeat below what this subscriber has handled means the journal really ends before `last`.
    ///
    /// Usually it does not: a heartbeat queued on the live stream while a replay caught up past it is merely
    /// old, and with several engines one engine's heartbeat may trail another's events. One engine's stream
    /// settles it when it can (a heartbeat is never below an event or heartbeat published before it, unless
    /// the journal went back); otherwise the replay endpoint is asked for `last`.
    /// - Returns: nil when no replay endpoint answered (nothing known, nothing said).
    private func journalEnds(before last: UInt64, heartbeat: UInt64, streamHigh: UInt64, _ replay: ReplayClient) throws -> Bool? {
        if heartbeat < streamHigh { return true }
        guard case .events(let events) = try replay.request(fromSeq: last, max: 1, as: SeqOnly.self) else { return nil }
        return events.isEmpty
    }
}

/// An event read only as far as its `seq`: enough to learn whether the journal holds it.
private struct SeqOnly: FeedRecord {
    let seq: UInt64

    init(eventJSON: UnsafeBufferPointer<UInt8>.SubSequence) throws {
        var seq: Int64?
        var scanner = JSONScanner(UnsafeBufferPointer(rebasing: eventJSON))
        try scanner.members { key, scanner in
            if JSONScanner.equal(key, "seq") { seq = try scanner.integer() } else { try scanner.skipValue() }
        }
        guard let seq, let unsigned = UInt64(exactly: seq) else { throw JSONScanner.Failure(offset: 0, expected: "an event with a seq") }
        self.seq = unsigned
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

// `stop()` and `reorderOverflows`, the members meant for other threads, touch only atomics; the sockets,
// the buffer and `next` belong to the thread that calls `run`.
extension EventFeed: @unchecked Sendable {}
