import EngineCore
import Foundation
import Routing
import Wire
import ZeroMQ

extension Engine {
    /// The core thread's loop: takes what the socket thread handed over, decides and journals it through the
    /// ``EngineCore`` (holding `coreTurn`), and hands the replies and events back, waking the socket thread
    /// through an inproc PAIR socket. Installs reloads between batches.
    ///
    /// Ends when the socket thread has drained and asks it to, after syncing the journal.
    func runCore(context: Context, wakeEndpoint: String) {
        defer { coreFinished.signal() }
        let wake: Socket
        do {
            wake = try Socket(context, .pair)
            try wake.set(.linger, Int32(0))
            try wake.connect(wakeEndpoint)
        } catch {
            // Cannot happen short of running out of file descriptors; the socket thread then stops serving.
            logger.critical("the core thread cannot reach the socket thread: \(error)")
            coreFailed.store(true, ordering: .releasing)
            return
        }
        defer { wake.close() }
        while true {
            let items = inbound.take(upTo: 512)
            if !items.isEmpty {
                hand(coreTurn.withLock { _ in process(items) }, wake: wake)
            }
            if let reply = installReload() {
                hand(reply, wake: wake)
            }
            if items.isEmpty {
                if coreStopRequested.load(ordering: .acquiring) { break }
                inbound.waitForItems(timeout: .milliseconds(100))
            }
        }
        coreTurn.withLock { _ in
            do {
                try core.journal.sync()
            } catch {
                logger.critical("journal not synced at shutdown: \(error)")
            }
            logger.info("stopped", metadata: ["journal_seq": "\(core.journal.lastSeq)", "synced_seq": "\(core.journal.syncedSeq)"])
        }
    }

    /// Hands a batch's outcome to the socket thread, waking it when it may be asleep in `poll`.
    private func hand(_ outbound: Pipeline.Outbound, wake: Socket) {
        if outbound.replies.isEmpty && outbound.events.isEmpty && outbound.messages == 0 { return }
        if self.outbound.append(contentsOf: [outbound]) {
            // A full pipe means wake-ups are already waiting; one is enough.
            _ = try? wake.send([], wait: false)
        }
    }

    /// Decides a batch of messages: the queries among them in one ``EngineCore/handle(_:now:)`` (one journal
    /// write), the rest answered in place, each reply at its message's position. The caller holds `coreTurn`.
    func process(_ items: [Pipeline.Inbound]) -> Pipeline.Outbound {
        var bodies: [[UInt8]] = []
        bodies.reserveCapacity(items.count)
        var out = Pipeline.Outbound(lastSeq: 0)
        for item in items {
            switch item.kind {
            case .query(let body): bodies.append(body)
            case .refused: break
            default: continue
            }
            // Queries decided or refused are both counted in `meters.queries`, and so in the histogram.
            out.timed += 1
            if out.oldestTaken == nil { out.oldestTaken = item.taken }
        }
        let batch = bodies.isEmpty ? nil : core.handle(bodies, now: .now)
        var decided = 0
        out.replies.reserveCapacity(items.count)
        for item in items {
            let reply: (Pipeline.Outbound.Destination, [UInt8])?
            switch item.kind {
            case .query:
                reply = (.query, batch!.replies[decided])
                decided += 1
            case .refused(let body):
                meters.queries.increment()
                reply = (.query, core.errorReply(id: QueryRequest.decodeKeepingID(body).id, overloaded))
            case .malformedQuery(let count):
                reply = (.query, core.errorReply(id: .null, InputError(.badRequest, "a query is one frame of JSON after the envelope; got \(count) frames.")))
            case .control(let body):
                reply = control(body, envelope: item.envelope).map { (.control, $0) }
            case .malformedControl(let count):
                reply = (.control, core.errorReply(InputError(.badRequest, "a request is one frame of JSON after the envelope; got \(count) frames.")))
            }
            if let (destination, payload) = reply {
                out.replies.append(.init(destination: destination, envelope: item.envelope, payload: payload))
            }
        }
        out.messages = items.count
        out.queries = decided
        out.events = batch?.events ?? []
        out.lastSeq = core.journal.lastSeq
        if batch != nil { meters.journalSeq.set(Int(out.lastSeq)) }
        shared.withLock { $0.snapshot.lastSeq = out.lastSeq }
        return out
    }

    /// The refusal of a query that found the pipeline full; the client retries (with its key) later.
    private var overloaded: InputError {
        InputError(.unavailable, "the engine is overloaded: \(configuration.queryQueueCapacity) queries are already waiting to be decided; nothing was decided, try again shortly with the same idempotency key.")
    }

    // MARK: Control

    /// Answers a control command, or starts a reload whose reply comes later.
    private func control(_ body: [UInt8], envelope: ArraySlice<[UInt8]>) -> [UInt8]? {
        switch core.control(body, now: .now) {
        case .reply(let reply): return reply
        case .health: return healthReply()
        case .reload(let allowRemovals):
            startLoading(allowRemovals: allowRemovals, envelope: Array(envelope))
            return nil
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
            o.member("overloaded") { $0.number(Int64(m.overloaded.count)) }
            o.member("queries_in_flight") { $0.number(Int64(m.queriesInFlight.level)) }
            o.member("subscriptions") { $0.number(Int64(m.subscriptions.level)) }
            o.member("events_endpoint_resets") { $0.number(Int64(m.eventsEndpointResets.count)) }
        }
    }

    /// Parses the tables on a thread of its own; the core thread installs them between two batches.
    func startLoading(allowRemovals: Bool, envelope: [[UInt8]]?) {
        Thread { [self] in
            let result = Result { () throws(TableErrors) in try TableSet.load(directory: configuration.tablesDirectory) }
            shared.withLock { $0.loaded = (result, allowRemovals, envelope) }
            inbound.wake()
        }.start()
    }

    /// Installs tables a loading thread has finished, and starts a reload SIGHUP asked for. Takes the core's
    /// turn only when there is one of them: an idle core thread never holds it, so a lone query is always
    /// decided in place.
    /// - Returns: the reply for the operator who asked for the finished reload, with the journal's last seq.
    private func installReload() -> Pipeline.Outbound? {
        let (loaded, signalled) = shared.withLock { s in
            defer { s.loaded = nil; s.reloadRequested = false }
            return (s.loaded, s.reloadRequested)
        }
        guard loaded != nil || signalled else { return nil }
        return coreTurn.withLock { _ in
            var reply: Pipeline.Outbound.Reply?
            if let (result, allowRemovals, envelope) = loaded {
                let payload = core.finishReload(result, allowRemovals: allowRemovals, now: .now, wallClock: .now)
                if let envelope { reply = .init(destination: .control, envelope: envelope[...], payload: payload) }
            }
            if signalled {
                if let refusal = core.beginReload(now: .now) {
                    logger.warning("SIGHUP: reload not started: \(refusal.message)")
                } else {
                    logger.notice("SIGHUP: reloading the tables")
                    startLoading(allowRemovals: false, envelope: nil)
                }
            }
            return reply.map { Pipeline.Outbound(replies: [$0], lastSeq: core.journal.lastSeq) }
        }
    }
}
