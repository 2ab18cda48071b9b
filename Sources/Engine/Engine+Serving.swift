import EngineCore
import Foundation
import Routing
import Wire
import ZeroMQ

extension Engine {
    /// Answers up to `limit` waiting queries as one batch: the core journals their events before any
    /// reply is built; replies go out in order of arrival, then the events are published.
    /// - Returns: how many messages were taken.
    @discardableResult
    func serveQueries(_ sockets: Sockets, upTo limit: Int) -> Int {
        var envelopes: [ArraySlice<[UInt8]>] = []
        var bodies: [[UInt8]] = []
        var taken = 0
        while taken < limit {
            let frames: [[UInt8]]?
            do {
                frames = try sockets.query.receiveMultipart(wait: false)
            } catch {
                logger.error("receive failed: \(error)")
                break
            }
            guard let frames else { break }
            taken += 1
            switch RouterMessage(frames) {
            case .request(let envelope, let body):
                envelopes.append(envelope)
                bodies.append(body)
            case .malformed(let envelope, let count):
                send(sockets.query, envelope, core.errorReply(id: .null, InputError(.badRequest, "a query is one frame of JSON after the envelope; got \(count) frames.")), what: "reply")
            case nil:
                logger.warning("dropped a query without an envelope")
            }
        }
        guard !bodies.isEmpty else { return taken }
        let started = ContinuousClock.now
        let batch = core.handle(bodies, now: .now)
        for (envelope, reply) in zip(envelopes, batch.replies) { send(sockets.query, envelope, reply, what: "reply") }
        for event in batch.events { publish(sockets.events, event) }
        meters.journalSeq.set(Int(core.journal.lastSeq))
        meters.recordBatch(queries: batch.replies.count, duration: ContinuousClock.now - started)
        return taken
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

    func publishHeartbeat(_ events: Socket) {
        let body = Wire.encodeHeartbeat(seq: core.journal.lastSeq, at: .now)
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

    // MARK: Control

    func control(_ socket: Socket, envelope: ArraySlice<[UInt8]>, body: [UInt8]) {
        switch core.control(body, now: .now) {
        case .reply(let reply): send(socket, envelope, reply, what: "control reply")
        case .health: send(socket, envelope, healthReply(), what: "control reply")
        case .reload(let allowRemovals):
            startLoading(allowRemovals: allowRemovals, envelope: Array(envelope))
        }
    }

    func healthReply() -> [UInt8] {
        let seconds = Double((ContinuousClock.now - startedAt).components.seconds)
        let m = meters
        return core.health(uptimeSeconds: seconds, now: .now) { o in
            o.member("replays") { $0.number(Int64(m.replays.count)) }
            o.member("replay_errors") { EngineCore.writeCounts(m.replayErrors, into: &$0) }
            o.member("replays_not_sent") { $0.number(Int64(m.replaysNotSent.count)) }
            o.member("published") { $0.number(Int64(m.published.count)) }
            o.member("replies_not_sent") { $0.number(Int64(m.repliesNotSent.count)) }
            o.member("subscriptions") { $0.number(Int64(m.subscriptions.level)) }
            o.member("events_endpoint_resets") { $0.number(Int64(m.eventsEndpointResets.count)) }
        }
    }

    /// Parses the tables on a thread of its own; the loop installs them between two batches.
    func startLoading(allowRemovals: Bool, envelope: [[UInt8]]?) {
        Thread { [self] in
            let result = Result { () throws(TableErrors) in try TableSet.load(directory: configuration.tablesDirectory) }
            shared.withLock { $0.loaded = (result, allowRemovals, envelope) }
        }.start()
    }

    /// Installs tables a loading thread has finished, and starts a reload SIGHUP asked for.
    func installReload(_ control: Socket) {
        let (loaded, signalled) = shared.withLock { s in
            defer { s.loaded = nil; s.reloadRequested = false }
            return (s.loaded, s.reloadRequested)
        }
        if let (result, allowRemovals, envelope) = loaded {
            let reply = core.finishReload(result, allowRemovals: allowRemovals, now: .now, wallClock: .now)
            if let envelope { send(control, envelope[...], reply, what: "control reply") }
        }
        if signalled {
            if let refusal = core.beginReload(now: .now) {
                logger.warning("SIGHUP: reload not started: \(refusal.message)")
            } else {
                logger.notice("SIGHUP: reloading the tables")
                startLoading(allowRemovals: false, envelope: nil)
            }
        }
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
