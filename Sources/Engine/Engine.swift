import EngineCore
import Foundation
import Logging
import PostgresStore
import Routing
import Storage
import Synchronization
import Wire
import ZeroMQ

/// The routing engine over ZeroMQ: a thread that owns the sockets and hands what arrives to an
/// ``EngineCore``, then sends the core's replies and publishes its events.
///
/// All sockets live on the engine's own thread, so nothing blocks on Swift's cooperative pool. Reloads
/// parse the tables on a thread of their own and are installed between two batches, so they never
/// hold queries up.
///
/// ```swift
/// let engine = try Engine(configuration: config, logger: logger)
/// try engine.start()          // binds, then serves on its own thread
/// engine.stop(); engine.wait() // drains, syncs the journal
/// ```
public final class Engine: Sendable {
    public let configuration: EngineConfiguration
    let logger: Logger
    let shared = Mutex(Shared())
    /// Whether replies are failing to be queued right now (to log once per episode; counted in `meters`).
    let unsent = Mutex(UnsentReplies())
    /// Distinct subscription prefixes live on the events socket (also `meters.subscriptions`).
    let subscriptions = Mutex(0)
    /// What `health` reports and `--metrics` exports, shared with the core.
    public let meters = EngineMeters()
    private let started = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Handed to the engine thread at `start()`; never touched by another thread after that.
    nonisolated(unsafe) let core: EngineCore
    /// Held for the engine's life: one engine per data folder.
    private nonisolated(unsafe) let lock: DirectoryLock
    let access: OperatorAccess
    let startedAt = ContinuousClock.now
    let replays: ReplayServer

    /// What other threads may read or ask for.
    struct Shared {
        var snapshot = Snapshot()
        var stopRequested = false
        var reloadRequested = false
        var startError: EngineError?
        /// Tables loaded off the engine thread, waiting to be installed.
        var loaded: (Result<TableSet, TableErrors>, allowRemovals: Bool, envelope: [[UInt8]]?)?
    }

    /// The endpoints as bound (with the ports the system chose for `:*`) and the latest `seq`.
    public struct Snapshot: Sendable {
        public var queryEndpoint = ""
        public var eventsEndpoint = ""
        public var replayEndpoint = ""
        public var controlEndpoint = ""
        public var lastSeq: UInt64 = 0
    }

    /// Locks the data folder, loads the tables and opens the journal, sessions, keys and operations
    /// state; binds nothing yet.
    /// - Throws: ``EngineError`` saying what to fix, e.g. another engine holding the data folder.
    public init(configuration: EngineConfiguration, logger: Logger) throws(EngineError) {
        self.configuration = configuration
        self.logger = logger
        let data = configuration.dataDirectory
        do {
            lock = try DirectoryLock(directory: data)
        } catch {
            throw EngineError("cannot take the data folder: \(error)")
        }
        let tables: TableSet
        do {
            tables = try TableSet.load(directory: configuration.tablesDirectory)
        } catch {
            throw EngineError("cannot load the tables in \(configuration.tablesDirectory):\n\(error)")
        }
        let now = Instant.now
        let retention = Int64(configuration.idempotencyRetention.components.seconds) * 1000
        let read: ReplayServer.Reader
        do {
            if let url = configuration.store {
                // Shared with other engines: the data folder keeps only the lock and the control keys.
                let store = try PostgresStore(url: url, retentionMilliseconds: retention, logger: logger)
                let keys = try IdempotencyKeys(directory: nil, retentionMilliseconds: retention, capacity: configuration.idempotencyCapacity,
                                               journalLastSeq: store.lastSeq, now: now, logger: logger)
                core = EngineCore(tables: tables, store: store, keys: keys, configuration: configuration.core, meters: meters, logger: logger)
                let reader = store.makeReader()
                read = { seq, max, maxBytes throws(StorageError) in try reader.read(from: seq, max: max, maxBytes: maxBytes) }
            } else {
                let journal = try FileJournal(directory: data, syncInterval: configuration.syncInterval, syncEvery: configuration.syncEvery, logger: logger)
                let keys = try IdempotencyKeys(directory: data, retentionMilliseconds: retention,
                                               capacity: configuration.idempotencyCapacity, journalLastSeq: journal.lastSeq, now: now, logger: logger)
                if let log = keys.log { journal.syncFirst(log) }
                core = try EngineCore(tables: tables, journal: journal, keys: keys,
                                      sessionFile: try SessionFile(path: FileIO.join(data, "sessions.jsonl"), now: now, logger: logger),
                                      operationsFile: OperationsFile(directory: data), configuration: configuration.core, meters: meters, logger: logger)
                read = journal.reader
            }
        } catch {
            throw EngineError("\(error)")
        }
        do {
            access = try OperatorAccess(dataDirectory: data, curve: configuration.curve, extraKeys: configuration.operatorKeys)
        } catch {
            throw EngineError("cannot set up the control endpoint's keys: \(error)")
        }
        replays = ReplayServer(read: read, configuration: configuration.core, meters: meters, logger: logger)
        core.warnAboutCalendars(now: now)
        shared.withLock { $0.snapshot.lastSeq = core.journal.lastSeq }
    }

    public var snapshot: Snapshot { shared.withLock { $0.snapshot } }

    /// Where an operator's credentials for the control endpoint are (`DATA/operator.key`).
    public var operatorCredentialsPath: String { access.credentialsPath }

    /// Binds every endpoint and starts serving on the engine's thread.
    /// - Throws: when an endpoint cannot be bound; nothing is left running then.
    public func start() throws(EngineError) {
        let t = Thread { [self] in run() }
        t.name = "switchboard-engine"
        t.start()
        started.wait()
        if let error = shared.withLock({ $0.startError }) { throw error }
    }

    /// Asks the engine to drain and stop; returns at once.
    public func stop() { shared.withLock { $0.stopRequested = true } }

    /// Asks for a reload of the tables, as `{"cmd":"reload"}` does (SIGHUP); returns at once.
    public func requestReload() { shared.withLock { $0.reloadRequested = true } }

    /// Waits until the engine has stopped and synced its journal.
    public func wait() {
        finished.wait()
        finished.signal()  // let every waiter through
    }

    // MARK: The loop

    struct Sockets {
        let context: Context
        let query, replay, control: Socket
        var events: Socket
        let zap: ZAPHandler
    }

    /// The events socket: a plain XPUB (no NODROP) with bounded queues and subscriptions.
    func openEvents(_ context: Context, endpoint: String) throws -> Socket {
        let events = try Socket(context, .xpub)
        try events.set(.linger, Int32(0))
        // No XPUB_NODROP: a subscriber whose queue is full misses events (it sees the seq gap and replays)
        // instead of holding back every other subscriber.
        try events.set(.sendHighWaterMark, configuration.eventsHighWaterMark)
        // Subscriptions arrive through the receive side: a longer one drops its sender's connection before
        // it is stored, and few may wait to be processed.
        try events.set(.maximumMessageSize, Int64(configuration.maximumSubscriptionSize))
        try events.set(.receiveHighWaterMark, Int32(100))
        // A subscriber that stops answering heartbeats is disconnected.
        try events.set(.heartbeatInterval, Int32(1000))
        try events.set(.heartbeatTimeout, Int32(5000))
        if let curve = configuration.curve { try events.makeCurveServer(secretKey: curve.serverSecretKey) }
        // Right after a reset the old listener may still be closing: try again briefly.
        for _ in 0..<50 {
            let inUse: Bool
            do {
                try events.bind(endpoint)
                return events
            } catch {
                inUse = error.code == EADDRINUSE
            }
            guard inUse else { break }
            usleep(20_000)
        }
        try events.bind(endpoint)  // the last try, whose error is the one reported
        return events
    }

    private func open() throws -> Sockets {
        let context = try Context()
        let logger = self.logger
        // The handler answers before any socket binds: an enforcing server refuses all without it.
        var lists = [ZAPHandler.operatorDomain: access.allowedKeys]
        if let curve = configuration.curve { lists[ZAPHandler.clientDomain] = curve.allowedClientKeys }
        let zap = try ZAPHandler(allowedKeys: lists) { domain, key, admitted in
            if admitted {
                logger.debug("CURVE client admitted", metadata: ["domain": "\(domain)", "key": "\(key)"])
            } else {
                logger.warning("CURVE client refused: key not on the \(domain) allow-list", metadata: ["key": "\(key)"])
            }
        }
        try zap.start(in: context)
        let query = try Socket(context, .router)
        let replay = try Socket(context, .router)
        let control = try Socket(context, .router)
        for s in [query, replay, control] {
            try s.set(.linger, Int32(1000))
            try s.set(.maximumMessageSize, configuration.maximumMessageSize)
            // A reply that cannot be queued is reported (EAGAIN, EHOSTUNREACH), not dropped silently.
            try s.set(.routerMandatory, Int32(1))
        }
        try query.set(.sendHighWaterMark, configuration.replyHighWaterMark)
        // A requester that does not read its replays holds at most this many replies.
        try replay.set(.sendHighWaterMark, Int32(4))
        if let curve = configuration.curve {
            for s in [query, replay] { try s.makeCurveServer(secretKey: curve.serverSecretKey) }
        }
        try control.makeCurveServer(secretKey: access.serverSecretKey, domain: ZAPHandler.operatorDomain)
        try query.bind(configuration.queryEndpoint)
        let events = try openEvents(context, endpoint: configuration.eventsEndpoint)
        try replay.bind(configuration.replayEndpoint)
        try control.bind(configuration.controlEndpoint)
        return Sockets(context: context, query: query, replay: replay, control: control, events: events, zap: zap)
    }

    private func run() {
        defer { finished.signal() }
        var sockets: Sockets
        do {
            sockets = try open()
        } catch {
            shared.withLock { $0.startError = EngineError("cannot start: \(error)") }
            started.signal()
            return
        }
        replays.start(sockets.replay)
        defer {
            replays.stop()
            for s in [sockets.query, sockets.control, sockets.events] { s.close() }
            sockets.zap.stop()
        }
        shared.withLock { s in
            s.snapshot.queryEndpoint = sockets.query.lastEndpoint
            s.snapshot.eventsEndpoint = sockets.events.lastEndpoint
            s.snapshot.replayEndpoint = sockets.replay.lastEndpoint
            s.snapshot.controlEndpoint = sockets.control.lastEndpoint
        }
        logger.info("serving", metadata: [
            "security": "\(configuration.curve == nil ? "plain text" : "CURVE, \(configuration.curve!.allowedClientKeys.count) client keys")",
            "query": "\(sockets.query.lastEndpoint)", "events": "\(sockets.events.lastEndpoint)", "replay": "\(sockets.replay.lastEndpoint)",
            "control": "\(sockets.control.lastEndpoint) (operators: \(access.credentialsPath))",
            "tables": "\(core.tables.tables.keys.sorted().joined(separator: ","))", "journal_seq": "\(core.journal.lastSeq)",
        ])
        started.signal()

        var poller = Poller([sockets.query, sockets.control, sockets.events])
        let clock = ContinuousClock()
        var nextHeartbeat = clock.now
        while !shared.withLock({ $0.stopRequested }) {
            let timeout = max(0, min(100, (nextHeartbeat - clock.now).milliseconds))
            let ready: [Bool]
            do {
                ready = try poller.poll(timeoutMilliseconds: timeout)
            } catch {
                logger.error("poll failed: \(error)")
                break
            }
            if ready[0] { serveQueries(sockets, upTo: 512) }
            if ready[1] { drain(sockets.control, upTo: 16) { self.control(sockets.control, envelope: $0, body: $1) } }
            if ready[2] && !drainSubscriptions(sockets.events) {
                resetEvents(&sockets)
                poller = Poller([sockets.query, sockets.control, sockets.events])
            }
            installReload(sockets.control)
            if clock.now >= nextHeartbeat {
                publishHeartbeat(sockets.events)
                nextHeartbeat = clock.now + configuration.heartbeatInterval
            }
            shared.withLock { $0.snapshot.lastSeq = core.journal.lastSeq }
        }
        // Drain: answer what has already arrived, and make the journal durable.
        while serveQueries(sockets, upTo: 512) == 512 {}
        do {
            try core.journal.sync()
        } catch {
            logger.critical("journal not synced at shutdown: \(error)")
        }
        logger.info("stopped", metadata: ["journal_seq": "\(core.journal.lastSeq)", "synced_seq": "\(core.journal.syncedSeq)"])
        lock.release()
    }

    /// Handles up to `limit` waiting messages of a socket, so one busy socket cannot starve the others.
    /// Messages without an envelope and one body frame get a `bad_request` error.
    private func drain(_ socket: Socket, upTo limit: Int, _ handle: (ArraySlice<[UInt8]>, [UInt8]) -> Void) {
        for _ in 0..<limit {
            let frames: [[UInt8]]?
            do {
                frames = try socket.receiveMultipart(wait: false)
            } catch {
                logger.error("receive failed: \(error)")
                return
            }
            guard let frames else { return }
            switch RouterMessage(frames) {
            case .request(let envelope, let body): handle(envelope, body)
            case .malformed(let envelope, let count):
                send(socket, envelope, core.errorReply(InputError(.badRequest, "a request is one frame of JSON after the envelope; got \(count) frames.")), what: "error reply")
            case nil: logger.warning("dropped a request without an envelope")
            }
        }
    }
}
