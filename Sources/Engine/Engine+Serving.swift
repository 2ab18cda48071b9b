import EngineCore
import Foundation
import Routing
import Wire
import ZeroMQ

extension Engine {
    /// Takes up to `limit` waiting queries and hands them to the core thread in one go. A query finding
    /// ``Pipeline/InFlight/queryCapacity`` queries waiting is handed over to be refused (`unavailable`,
    /// counted as `overloaded`) unless `refusing` is false (draining at shutdown), when reading stops there.
    /// - Returns: whether the socket had no more messages waiting.
    @discardableResult
    func acceptQueries(_ query: Socket, upTo limit: Int = 512, inFlight: inout Pipeline.InFlight, refusing: Bool = true) -> Bool {
        let (items, exhausted) = takeQueries(query, upTo: limit, inFlight: &inFlight, refusing: refusing)
        inbound.append(contentsOf: items)
        return exhausted
    }

    /// Takes the waiting queries (as ``acceptQueries(_:upTo:inFlight:refusing:)`` does) and, when the pipeline
    /// was empty, the batch is small and the core thread is not deciding, decides them on this thread and
    /// sends their replies and events at once; otherwise hands them to the core thread.
    func acceptOrDecideQueries(_ sockets: Sockets, inFlight: inout Pipeline.InFlight, publishedSeq: inout UInt64) {
        let wasIdle = inFlight.isEmpty
        let (items, _) = takeQueries(sockets.query, inFlight: &inFlight)
        if decidesInPlace, wasIdle, !items.isEmpty, items.count <= Pipeline.decidedInPlaceLimit,
           let decided = coreTurn.withLockIfAvailable({ _ in process(items) }) {
            meters.decidedInPlace.increment(by: decided.queries)  // before the replies, which a reader may act on
            send(decided, sockets, inFlight: &inFlight, publishedSeq: &publishedSeq, now: .now)
            meters.queriesInFlight.set(inFlight.queries)
        } else {
            inbound.append(contentsOf: items)
        }
    }

    private func takeQueries(_ query: Socket, upTo limit: Int = 512, inFlight: inout Pipeline.InFlight,
                             refusing: Bool = true) -> (items: [Pipeline.Inbound], exhausted: Bool) {
        var items: [Pipeline.Inbound] = []
        var refused = 0
        let now = ContinuousClock.now
        let exhausted = receive(query, while: { items.count < limit && !inFlight.isFull && (refusing || inFlight.hasRoomForQuery) }) { message in
            switch message {
            case .request(let envelope, let body):
                if inFlight.admitQuery() {
                    items.append(.init(envelope: envelope, kind: .query(body), taken: now))
                } else {
                    refused += 1
                    items.append(.init(envelope: envelope, kind: .refused(body), taken: now))
                }
            case .malformed(let envelope, let count):
                inFlight.admitOther()
                items.append(.init(envelope: envelope, kind: .malformedQuery(bodyFrames: count), taken: now))
            }
        }
        if refused > 0 { meters.overloaded.increment(by: refused) }
        if overload.withLock({ $0.record(sent: refused == 0) }) {
            logger.warning("overloaded: \(inFlight.queryCapacity) queries waiting to be decided; further queries are answered unavailable (counted in health as overloaded), logged again only after the load falls")
        }
        meters.queriesInFlight.set(inFlight.queries)
        return (items, exhausted)
    }

    /// Takes up to `limit` waiting control commands for the core thread (which answers them between batches).
    func acceptControl(_ control: Socket, upTo limit: Int = 16, inFlight: inout Pipeline.InFlight) {
        var items: [Pipeline.Inbound] = []
        let now = ContinuousClock.now
        receive(control, while: { items.count < limit && !inFlight.isFull }) { message in
            inFlight.admitOther()
            switch message {
            case .request(let envelope, let body): items.append(.init(envelope: envelope, kind: .control(body), taken: now))
            case .malformed(let envelope, let count): items.append(.init(envelope: envelope, kind: .malformedControl(bodyFrames: count), taken: now))
            }
        }
        inbound.append(contentsOf: items)
    }

    /// Receives a ROUTER socket's waiting messages without blocking, while `more` holds.
    /// - Returns: whether the socket had no more messages waiting.
    @discardableResult
    private func receive(_ socket: Socket, while more: () -> Bool, _ take: (RouterMessage) -> Void) -> Bool {
        while more() {
            let frames: [[UInt8]]?
            do {
                frames = try socket.receiveMultipart(wait: false)
            } catch {
                logger.error("receive failed: \(error)")
                return false
            }
            guard let frames else { return true }
            if let message = RouterMessage(frames) {
                take(message)
            } else {
                logger.warning("dropped a message without an envelope: there is nobody to answer")
            }
        }
        return false
    }

    /// Sends what the core thread handed back: each batch's replies in arrival order, then its events.
    func deliver(_ sockets: Sockets, inFlight: inout Pipeline.InFlight, publishedSeq: inout UInt64) {
        // Wake-ups first, then the batches: a batch handed over after this is announced by a new wake-up.
        while ((try? sockets.wake.receiveMultipart(wait: false)) ?? nil) != nil {}
        let now = ContinuousClock.now
        for batch in outbound.take() {
            send(batch, sockets, inFlight: &inFlight, publishedSeq: &publishedSeq, now: now)
        }
        meters.queriesInFlight.set(inFlight.queries)
    }

    /// Sends one decided batch: its replies in arrival order, then its events.
    private func send(_ batch: Pipeline.Outbound, _ sockets: Sockets, inFlight: inout Pipeline.InFlight, publishedSeq: inout UInt64,
                      now: ContinuousClock.Instant) {
        for reply in batch.replies {
            switch reply.destination {
            case .query: send(sockets.query, reply.envelope, reply.payload, what: "reply")
            case .control: send(sockets.control, reply.envelope, reply.payload, what: "control reply")
            }
        }
        for event in batch.events { publish(sockets.events, event) }
        // Never backwards: a reload's reply, built under the core's turn before a query decided in place since,
        // carries an older last seq, and a heartbeat announcing it would look like a journal reset.
        publishedSeq = max(publishedSeq, batch.lastSeq)
        inFlight.answered(batch)
        if let oldest = batch.oldestTaken { meters.recordBatch(queries: batch.timed, duration: now - oldest) }
    }

    /// Sends a reply without waiting. With `ROUTER_MANDATORY`, a client that is gone or whose queue is
    /// full is reported, counted, and logged once per episode rather than per message.
    func send(_ socket: Socket, _ envelope: ArraySlice<[UInt8]>, _ payload: [UInt8], what: String) {
        var problem: String?
        do {
            if try !socket.send(multipart: Array(envelope) + [payload], wait: false) {
                problem = "the client's queue is full (it sends faster than it reads)"
            }
        } catch {
            problem = error.code == EHOSTUNREACH ? "the client is gone" : "\(error)"
        }
        if problem != nil { meters.repliesNotSent.increment() }
        if unsent.withLock({ $0.record(sent: problem == nil) }), let problem {
            logger.warning("\(what) not sent: \(problem); counted in health as replies_not_sent, logged again only after a reply gets through")
        }
    }

    /// Publishes one event. A plain XPUB never blocks: a subscriber that is full simply misses it.
    func publish(_ events: Socket, _ event: EngineCore.Published) {
        do {
            _ = try events.send(multipart: [event.topic, event.event], wait: false)
            meters.published.increment()
        } catch {
            logger.error("publish failed: \(error)")
        }
    }

    /// - Parameter seq: the last `seq` published, so a heartbeat never announces an event still on its way.
    func publishHeartbeat(_ events: Socket, seq: UInt64) {
        let body = Wire.encodeHeartbeat(seq: seq, at: .now)
        do {
            _ = try events.send(multipart: [Array("heartbeat".utf8), body], wait: false)
        } catch {
            logger.warning("heartbeat not published: \(error)")
        }
    }

    /// Reads subscription notifications (XPUB passes on each prefix's first subscription and last
    /// unsubscription) and counts the distinct prefixes.
    /// - Returns: false when there are more than `maximumSubscriptions`: the socket must be reset.
    func drainSubscriptions(_ events: Socket) -> Bool {
        for _ in 0..<1024 {
            guard let frames = (try? events.receiveMultipart(wait: false)) ?? nil, let frame = frames.first, let kind = frame.first else { break }
            let live = subscriptions.withLock { count in
                count += kind == 1 ? 1 : (kind == 0 && count > 0 ? -1 : 0)
                return count
            }
            meters.subscriptions.set(live)
            if live > configuration.maximumSubscriptions { return false }
        }
        return true
    }

    /// More distinct subscriptions than any real deployment makes (a runaway or hostile subscriber): libzmq
    /// keeps them in a trie that only closing the socket frees, and XPUB cannot tell which peer sent
    /// them. So the events socket is closed and bound again at the same address: every subscriber
    /// reconnects by itself, resubscribes, sees the `seq` gap and replays. Logged as it happens.
    func resetEvents(_ sockets: inout Sockets) {
        let endpoint = sockets.events.lastEndpoint
        let count = subscriptions.withLock { c in defer { c = 0 }; return c }
        meters.subscriptions.set(0)
        logger.error("more than \(configuration.maximumSubscriptions) distinct subscriptions (\(count)): resetting the events endpoint; subscribers reconnect and replay what they miss")
        meters.eventsEndpointResets.increment()
        sockets.events.close()
        do {
            sockets.events = try openEvents(sockets.context, endpoint: endpoint)
        } catch {
            logger.critical("cannot bind the events endpoint again at \(endpoint): \(error)")
        }
        trimMemory()
    }
}

/// Gives freed heap back to the system (glibc keeps it otherwise), after a burst that allocated a lot.
func trimMemory() { _ = glibcMallocTrim(0) }

// glibc's malloc_trim(3); its header (malloc.h) is not part of the Glibc module.
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32

extension Instant {
    /// The wall clock, as the engine's notion of "now" for calls without `at`.
    static var now: Instant { Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded())) }
}

/// A failure to start or run the engine, in words for the operator.
public struct EngineError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var milliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
