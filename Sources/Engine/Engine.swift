import EngineCore
import Foundation
import Logging
import PostgresStore
import Routing
import ServiceThread
import Storage
import Synchronization
import Wire
import ZeroMQ

/// The routing engine over ZeroMQ, on two threads: a socket thread that moves bytes (and decides a lone query in
/// place), and a core thread that decides.
///
/// The socket thread owns every socket: it takes queries and control commands, hands them to the core
/// thread in arrival order (``Pipeline/Inbound``), sends the replies and publishes the events the core
/// thread hands back (``Pipeline/Outbound``), and publishes heartbeats. The core thread decodes, decides,
/// writes the journal once per batch and encodes through the ``EngineCore``, so a reply is never handed back
/// before its decision is written, and replies keep the order their queries arrived in. When nothing is in
/// flight and a batch is small (``Pipeline/decidedInPlaceLimit``), the socket thread takes the core's turn
/// and decides it in place, sparing a lone query two thread wake-ups; `coreTurn` keeps the two threads
/// from ever using the ``EngineCore`` at once.
/// What is in flight between the two is bounded (``EngineConfiguration/queryQueueCapacity``): a query
/// beyond it is answered `unavailable` and counted (`overloaded`). Reloads parse the tables on a thread of
/// their own and are installed between two batches, so they never hold queries up.
///
/// ```swift
/// let engine = try Engine(configuration: config, logger: logger)
/// try engine.start()          // binds, then serves on its own threads
/// engine.stop(); engine.wait() // drains, syncs the journal
/// ```
public final class Engine: Sendable {
    public let configuration: EngineConfiguration
    let logger: Logger
    let shared = Mutex(Shared())
    /// Whether replies are failing to be queued right now (to log once per episode; counted in `meters`).
    let unsent = Mutex(UnsentReplies())
    /// Whether queries are being refused for overload right now (to log once per episode; counted in `meters`).
    let overload = Mutex(UnsentReplies())
    /// Distinct subscription prefixes live on the events socket (also `meters.subscriptions`).
    let subscriptions = Mutex(0)
    /// What `health` reports and `--metrics` exports, shared with the core.
    public let meters = EngineMeters()
    private let started = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Used, once serving, only by the thread holding `coreTurn`: the core thread, or the socket thread
    /// deciding a small batch in place.
    nonisolated(unsafe) let core: EngineCore
    let coreTurn = Mutex(())
    /// Not with a PostgreSQL store: its write is a network round trip that a stalled database can hold for
    /// seconds, and on the socket thread that would stop heartbeats and subscriptions meanwhile.
    var decidesInPlace: Bool { configuration.store == nil }
    /// Messages from the socket thread to the core thread, and what the core thread hands back.
    let inbound = HandOff<Pipeline.Inbound>()
    let outbound = HandOff<Pipeline.Outbound>()
    /// Set by the socket thread once it has drained; the core thread then syncs the journal and ends.
    let coreStopRequested = Atomic<Bool>(false)
    /// The core thread could not start; the socket thread stops serving.
    let coreFailed = Atomic<Bool>(false)
    let coreFinished = DispatchSemaphore(value: 0)
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
        Thread { [self] in
            nameCurrentThread("engine-sockets")
            run()
        }.start()
        started.wait()
        if let error = shared.withLock({ $0.startError }) { throw error }
    }

    /// Asks the engine to drain and stop; returns at once.
    public func stop() { shared.withLock { $0.stopRequested = true } }

    /// Asks for a reload of the tables, as `{"cmd":"reload"}` does (SIGHUP); returns at once.
    public func requestReload() {
        shared.withLock { $0.reloadRequested = true }
        inbound.wake()
    }

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
        /// Bound at ``coreWakeEndpoint``: the core thread's PAIR says here that replies are waiting.
        let wake: Socket
        let zap: ZAPHandler
    }

    /// Inproc, in the engine's own context: one per engine.
    static let coreWakeEndpoint = "inproc://switchboard-core-wake"

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
        let wake = try Socket(context, .pair)
        try wake.set(.linger, Int32(0))
        try wake.bind(Engine.coreWakeEndpoint)
        return Sockets(context: context, query: query, replay: replay, control: control, events: events, wake: wake, zap: zap)
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
            for s in [sockets.query, sockets.control, sockets.events, sockets.wake] { s.close() }
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
        var publishedSeq = shared.withLock { $0.snapshot.lastSeq }
        let context = sockets.context
        Thread { [self] in
            nameCurrentThread("engine-core")
            runCore(context: context, wakeEndpoint: Engine.coreWakeEndpoint)
        }.start()
        started.signal()

        var inFlight = Pipeline.InFlight(queryCapacity: configuration.queryQueueCapacity)
        var pollers = SocketPollers(sockets)
        let clock = ContinuousClock()
        var nextHeartbeat = clock.now
        while !shared.withLock({ $0.stopRequested }) && !coreFailed.load(ordering: .acquiring) {
            let timeout = max(0, min(100, (nextHeartbeat - clock.now).milliseconds))
            let ready: SocketPollers.Ready
            do {
                // While the pipeline is full, queries and control commands wait in libzmq (see Pipeline.InFlight).
                ready = try pollers.poll(readingRequests: !inFlight.isFull, timeoutMilliseconds: timeout)
            } catch {
                logger.error("poll failed: \(error)")
                break
            }
            if ready.wake { deliver(sockets, inFlight: &inFlight, publishedSeq: &publishedSeq) }
            if ready.query { acceptOrDecideQueries(sockets, inFlight: &inFlight, publishedSeq: &publishedSeq) }
            if ready.control { acceptControl(sockets.control, inFlight: &inFlight) }
            if ready.events && !drainSubscriptions(sockets.events) {
                resetEvents(&sockets)
                pollers = SocketPollers(sockets)
            }
            if clock.now >= nextHeartbeat {
                publishHeartbeat(sockets.events, seq: publishedSeq)
                nextHeartbeat = clock.now + configuration.heartbeatInterval
            }
        }
        // Drain: every query that has already arrived is decided, journalled and answered; nothing is refused now.
        var arriving = true
        var waitForReplies = Poller([sockets.wake])
        while (arriving || !inFlight.isEmpty) && !coreFailed.load(ordering: .acquiring) {
            if arriving && inFlight.hasRoomForQuery {
                arriving = !acceptQueries(sockets.query, inFlight: &inFlight, refusing: false)
            }
            if !inFlight.isEmpty, (try? waitForReplies.poll(timeoutMilliseconds: 100))?[0] == true {
                deliver(sockets, inFlight: &inFlight, publishedSeq: &publishedSeq)
            }
        }
        coreStopRequested.store(true, ordering: .releasing)
        inbound.wake()
        coreFinished.wait()
        lock.release()
    }

    /// The socket thread's two ways of waiting: for everything, or, while the pipeline is full, only for
    /// replies to send and subscriptions.
    struct SocketPollers: ~Copyable {
        struct Ready {
            var wake = false, query = false, control = false, events = false
        }

        private var all: Poller
        private var repliesOnly: Poller

        init(_ sockets: borrowing Sockets) {
            all = Poller([sockets.wake, sockets.query, sockets.control, sockets.events])
            repliesOnly = Poller([sockets.wake, sockets.events])
        }

        mutating func poll(readingRequests: Bool, timeoutMilliseconds: Int) throws(ZMQError) -> Ready {
            if readingRequests {
                let r = try all.poll(timeoutMilliseconds: timeoutMilliseconds)
                return Ready(wake: r[0], query: r[1], control: r[2], events: r[3])
            }
            let r = try repliesOnly.poll(timeoutMilliseconds: timeoutMilliseconds)
            return Ready(wake: r[0], events: r[1])
        }
    }

}
