import Foundation
import Logging
import Routing
import Synchronization
import Wire
import ZeroMQ

/// The routing engine over ZeroMQ: answers queries, journals and publishes every decision, replays the
/// journal, and takes control commands.
///
/// All sockets live on one thread of the engine's own, so evaluation, journalling and publishing happen
/// in order without locks; nothing blocks on Swift's cooperative pool.
///
/// ```swift
/// let engine = try Engine(configuration: config, logger: logger)
/// try engine.start()          // binds, then serves on its own thread
/// engine.stop(); engine.wait() // drains, flushes the journal
/// ```
public final class Engine: @unchecked Sendable {
    // @unchecked: after `start()` the mutable state below is touched only by the engine thread;
    // other threads use `stopRequested`, `state` (behind `lock`) and the immutable configuration.
    public let configuration: EngineConfiguration
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    private let lock = NSLock()
    private var stateForOthers = Snapshot()
    private let started = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var startError: Error?
    private var thread: Thread?

    // Engine-thread state.
    private var tables: TableSet
    private var journal: Journal
    private var operations: Operations
    /// Playbook sessions: changed by evaluation, persisted in `sessionFile` before the answers leave.
    private var sessions: SessionBook
    private let sessionFile: SessionFile
    private var counters = Counters()
    private var pending: [(topic: [UInt8], event: [UInt8])] = []
    private var pendingHead = 0
    private let startedAt = Date()

    /// What other threads may read: the endpoints bound and the counters, as of the last loop turn.
    public struct Snapshot: Sendable {
        public var queryEndpoint = ""
        public var eventsEndpoint = ""
        public var replayEndpoint = ""
        public var controlEndpoint = ""
        public var lastSeq: UInt64 = 0
    }

    struct Counters {
        var queries = 0
        var decisions = 0
        var errors: [String: Int] = [:]
        var published = 0
        var publishRetries = 0
        var publishDropped = 0
        var replays = 0
        var dropped = 0
        var reloads = 0
        var reloadsRejected = 0
    }

    /// Loads the tables and opens the journal; binds nothing yet.
    public init(configuration: EngineConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        do {
            tables = try TableSet.load(directory: configuration.tablesDirectory)
        } catch {
            throw EngineError("cannot load the tables in \(configuration.tablesDirectory):\n\(error)")
        }
        do {
            journal = try Journal(directory: configuration.dataDirectory, syncInterval: configuration.syncInterval,
                                  syncEvery: configuration.syncEvery, logger: logger)
        } catch {
            throw EngineError(error.description)
        }
        operations = Operations(ctiIncident: OperationsFile.load(directory: configuration.dataDirectory))
        do {
            sessionFile = try SessionFile(path: (configuration.dataDirectory as NSString).appendingPathComponent("sessions.jsonl"),
                                          now: Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)), logger: logger)
        } catch {
            throw EngineError(error.description)
        }
        sessions = sessionFile.loaded
        stateForOthers.lastSeq = journal.lastSeq
    }

    /// The endpoints as bound (with the ports the system chose for `:*`) and the latest `seq`.
    public var snapshot: Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return stateForOthers
    }

    /// Binds every endpoint and starts serving on the engine's thread.
    /// - Throws: when an endpoint cannot be bound; nothing is left running then.
    public func start() throws {
        let t = Thread { [self] in run() }
        t.name = "switchboard-engine"
        thread = t
        t.start()
        started.wait()
        if let startError { throw startError }
    }

    /// Asks the engine to drain and stop; returns at once.
    public func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Waits until the engine has stopped and flushed its journal.
    public func wait() {
        finished.wait()
        finished.signal()  // let every waiter through
    }

    // MARK: The loop

    private func run() {
        defer { finished.signal() }
        let context: Context
        let query, replay, control, events: Socket
        var zap: ZAPHandler?
        defer { zap?.stop() }
        do {
            context = try Context()
            if let curve = configuration.curve {
                // The handler must answer before any socket binds: an enforcing server refuses all without it.
                let logger = self.logger
                let handler = try ZAPHandler(allowedKeys: curve.allowedClientKeys) { key, admitted in
                    if admitted {
                        logger.debug("CURVE client admitted", metadata: ["key": "\(key)"])
                    } else {
                        logger.warning("CURVE client refused: key not on the allow-list", metadata: ["key": "\(key)"])
                    }
                }
                try handler.start(in: context)
                zap = handler
            }
            query = try Socket(context, .router)
            replay = try Socket(context, .router)
            control = try Socket(context, .router)
            events = try Socket(context, .xpub)
            for s in [query, replay, control] {
                try s.set(.linger, Int32(1000))
                try s.set(.maximumMessageSize, configuration.maximumMessageSize)
            }
            try events.set(.linger, Int32(0))
            try events.set(.xpubNoDrop, Int32(1))
            try events.set(.sendHighWaterMark, configuration.eventsHighWaterMark)
            // A subscriber that stops answering heartbeats is disconnected, so a dead one cannot hold events back.
            try events.set(.heartbeatInterval, Int32(1000))
            try events.set(.heartbeatTimeout, Int32(5000))
            if let curve = configuration.curve {
                for s in [query, events, replay, control] { try s.makeCurveServer(secretKey: curve.serverSecretKey) }
            }
            try query.bind(configuration.queryEndpoint)
            try events.bind(configuration.eventsEndpoint)
            try replay.bind(configuration.replayEndpoint)
            try control.bind(configuration.controlEndpoint)
        } catch {
            startError = EngineError("cannot start: \(error)")
            started.signal()
            return
        }
        lock.lock()
        stateForOthers.queryEndpoint = query.lastEndpoint
        stateForOthers.eventsEndpoint = events.lastEndpoint
        stateForOthers.replayEndpoint = replay.lastEndpoint
        stateForOthers.controlEndpoint = control.lastEndpoint
        lock.unlock()
        logger.info("serving", metadata: [
            "security": "\(configuration.curve == nil ? "plain text" : "CURVE, \(configuration.curve!.allowedClientKeys.count) client keys")",
            "query": "\(query.lastEndpoint)", "events": "\(events.lastEndpoint)", "replay": "\(replay.lastEndpoint)",
            "control": "\(control.lastEndpoint)", "tables": "\(tables.tables.keys.sorted().joined(separator: ","))",
            "journal_seq": "\(journal.lastSeq)",
        ])
        started.signal()

        var poller = Poller([query, replay, control, events])
        let clock = ContinuousClock()
        var nextHeartbeat = clock.now
        while !stopRequested.load(ordering: .acquiring) {
            let untilHeartbeat = max(0, (nextHeartbeat - clock.now).milliseconds)
            let timeout = hasPending ? 1 : min(100, untilHeartbeat)
            let ready: [Bool]
            do {
                ready = try poller.poll(timeoutMilliseconds: timeout)
            } catch {
                logger.error("poll failed: \(error)")
                break
            }
            if ready[0] { serveQueries(query, upTo: 512) }
            if ready[1] { drain(replay, upTo: 64, handleReplay) }
            if ready[2] { drain(control, upTo: 16, handleControl) }
            if ready[3] { drain(events, upTo: 1024) { _, _ in } }  // subscriptions: XPUB must be read
            flushPending(events)
            if clock.now >= nextHeartbeat {
                publishHeartbeat(events)
                nextHeartbeat = clock.now + configuration.heartbeatInterval
            }
            publishSnapshot()
        }
        // Drain: answer what has already arrived, publish what can be, and make the journal durable.
        while serveQueries(query, upTo: 512) == 512 {}
        let deadline = clock.now + .seconds(1)
        while hasPending && clock.now < deadline {
            flushPending(events)
            if hasPending { usleep(1000) }
        }
        journal.sync()
        logger.info("stopped", metadata: ["journal_seq": "\(journal.lastSeq)", "synced_seq": "\(journal.syncedSeq)",
                                          "unpublished": "\(pending.count - pendingHead)"])
        for s in [query, replay, control, events] { s.close() }
    }

    /// Handles up to `limit` waiting messages of a socket, so one busy socket cannot starve the others.
    private func drain(_ socket: Socket, upTo limit: Int, _ handle: (Socket, [[UInt8]]) -> Void) {
        var n = 0
        while n < limit {
            let frames: [[UInt8]]?
            do {
                frames = try socket.receiveMultipart(wait: false)
            } catch {
                logger.error("receive failed: \(error)")
                return
            }
            guard let frames else { return }
            handle(socket, frames)
            n += 1
        }
    }

    private func publishSnapshot() {
        lock.lock()
        stateForOthers.lastSeq = journal.lastSeq
        lock.unlock()
    }

    // MARK: Query

    /// One answer of a batch, kept until the batch's events are journalled.
    private enum Answer {
        case refused(envelope: ArraySlice<[UInt8]>, id: Value, error: InputError)
        case decided(envelope: ArraySlice<[UInt8]>, id: Value, decisionJSON: [UInt8], topic: [UInt8], event: [UInt8])
    }

    /// Answers up to `limit` waiting queries. Their events are journalled with one write before any
    /// reply leaves, so nothing answered can be lost, and the replies keep the order of arrival.
    /// - Returns: how many messages were taken.
    @discardableResult
    private func serveQueries(_ socket: Socket, upTo limit: Int) -> Int {
        var answers: [Answer] = []
        var events: [[UInt8]] = []
        var taken = 0
        var nextSeq = journal.lastSeq + 1
        let now = Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        while taken < limit {
            let frames: [[UInt8]]?
            do {
                frames = try socket.receiveMultipart(wait: false)
            } catch {
                logger.error("receive failed: \(error)")
                break
            }
            guard let frames else { break }
            taken += 1
            counters.queries += 1
            guard let answer = answer(frames, seq: nextSeq, now: now) else { continue }
            if case .decided(_, _, _, _, let event) = answer {
                events.append(event)
                nextSeq += 1
            }
            answers.append(answer)
        }
        var journalled = true
        // Sessions first: a step answered must find its session advanced after a crash. If the journal
        // write then fails, the answers are refused and the sessions rolled back in memory; the session
        // file may then hold a step nobody was told (a disk-full corner, logged).
        let changed = sessions.pendingChanges
        if !changed.isEmpty {
            do {
                try sessionFile.append(changed)
            } catch {
                logger.error("\(error)")
                journalled = false
            }
        }
        if journalled {
            do {
                try journal.append(contentsOf: events)
            } catch {
                // A decision that cannot be journalled is not given: nothing answered may be lost.
                logger.error("\(error)")
                journalled = false
            }
        }
        if journalled { sessions.commit() } else { sessions.rollBack() }
        for answer in answers {
            switch answer {
            case .refused(let envelope, let id, let error):
                reply(socket, envelope, id: id, error: error)
            case .decided(let envelope, let id, _, _, _) where !journalled:
                reply(socket, envelope, id: id, error: InputError(.unavailable, "the engine cannot record decisions right now; try again."))
            case .decided(let envelope, let id, let decisionJSON, let topic, let event):
                counters.decisions += 1
                var r = JSONWriter(capacity: decisionJSON.count + 64)
                Wire.encodeReply(id: id, decisionJSON: decisionJSON, into: &r)
                send(socket, envelope, r.bytes)
                pending.append((topic, event))
            }
        }
        return taken
    }

    /// Decides one query message, numbering its event `seq` if it is a decision.
    private func answer(_ frames: [[UInt8]], seq: UInt64, now: Instant) -> Answer? {
        guard let (envelope, body) = split(frames) else { return nil }
        guard body.count == 1 else {
            return .refused(envelope: envelope, id: .null, error: InputError(.badRequest, "a query is one frame of JSON after the envelope; got \(body.count) frames."))
        }
        let (id, decoded) = QueryRequest.decode(body[body.startIndex])
        let request: QueryRequest
        switch decoded {
        case .failure(let error): return .refused(envelope: envelope, id: id, error: error)
        case .success(let r): request = r
        }
        guard let table = tables.tables[request.table] else {
            return .refused(envelope: envelope, id: id, error: InputError(.unknownTable, "table \"\(request.table)\" is not served here; expected one of: \(tables.tables.keys.sorted().joined(separator: ", ")).", field: "table"))
        }
        let instant = request.at ?? now
        let decision: Decision
        do {
            decision = try table.evaluate(request.call, at: instant, operations: operations, sessions: &sessions)
        } catch {
            return .refused(envelope: envelope, id: id, error: error)
        }
        let event = DecisionEvent(seq: seq, eventID: "\(journal.journalID)-\(seq)", at: instant, atOffset: table.zone.offset(at: instant),
                                  callID: request.call.callID, table: table.name, tableVersion: table.version, call: request.call, decision: decision)
        var d = JSONWriter(capacity: 2048)
        Wire.encode(decision, into: &d)
        var w = JSONWriter(capacity: d.bytes.count + 256)
        event.encode(into: &w, decisionJSON: d.bytes)
        return .decided(envelope: envelope, id: id, decisionJSON: d.bytes, topic: Array(event.topic.utf8), event: w.bytes)
    }

    /// Splits a ROUTER message into its envelope (identity, and the empty delimiter a REQ client adds) and body.
    private func split(_ frames: [[UInt8]]) -> (envelope: ArraySlice<[UInt8]>, body: ArraySlice<[UInt8]>)? {
        guard frames.count >= 2 else {
            counters.dropped += 1
            logger.warning("dropped a message without an envelope")
            return nil
        }
        let bodyStart = frames.count >= 3 && frames[1].isEmpty ? 2 : 1
        return (frames[0..<bodyStart], frames[bodyStart...])
    }

    private func reply(_ socket: Socket, _ envelope: ArraySlice<[UInt8]>, id: Value, error: InputError) {
        counters.errors[error.code.rawValue, default: 0] += 1
        var w = JSONWriter(capacity: 256)
        Wire.encodeReply(id: id, error: error, into: &w)
        send(socket, envelope, w.bytes)
    }

    private func send(_ socket: Socket, _ envelope: ArraySlice<[UInt8]>, _ payload: [UInt8]) {
        do {
            // A ROUTER drops replies to peers that are gone or full; never block the loop on one client.
            _ = try socket.send(multipart: Array(envelope) + [payload], wait: false)
        } catch {
            logger.warning("reply not sent: \(error)")
        }
    }

    // MARK: Events

    private var hasPending: Bool { pendingHead < pending.count }

    /// Publishes queued events in order without waiting; a full subscriber leaves the rest for the next turn.
    private func flushPending(_ events: Socket) {
        while pendingHead < pending.count {
            let item = pending[pendingHead]
            do {
                guard try events.send(item.topic, more: true, wait: false) else {
                    counters.publishRetries += 1
                    break
                }
                try events.send(item.event)
            } catch {
                logger.error("publish failed: \(error)")
                break
            }
            pendingHead += 1
            counters.published += 1
        }
        let queued = pending.count - pendingHead
        if queued > configuration.maximumPendingEvents {
            let excess = queued - configuration.maximumPendingEvents
            pendingHead += excess
            counters.publishDropped += excess
            logger.warning("a subscriber is not keeping up: \(excess) events left to replay")
        }
        if pendingHead > 4096 && pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    private func publishHeartbeat(_ events: Socket) {
        // Heartbeats only matter when nothing else flows: skip one rather than queue it.
        guard !hasPending else { return }
        let body = Wire.encodeHeartbeat(seq: journal.lastSeq, at: Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)))
        do {
            if try events.send(Array("heartbeat".utf8), more: true, wait: false) { try events.send(body) }
        } catch {
            logger.warning("heartbeat not published: \(error)")
        }
    }

    // MARK: Replay

    private func handleReplay(_ socket: Socket, _ frames: [[UInt8]]) {
        counters.replays += 1
        guard let (envelope, body) = split(frames) else { return }
        guard body.count == 1 else {
            reply(socket, envelope, error: InputError(.badRequest, "a replay request is one frame of JSON after the envelope; got \(body.count) frames."))
            return
        }
        do {
            let (from, max) = try Wire.decodeReplayRequest(try JSONReader.parse(body[body.startIndex]), maximum: configuration.maximumReplay)
            let events = journal.read(from: from, max: max)
            send(socket, envelope, Wire.encodeReplay(events: events, nextSeq: from + UInt64(events.count)))
        } catch {
            reply(socket, envelope, error: error)
        }
    }

    /// An error reply without an id (replay and control requests carry none).
    private func reply(_ socket: Socket, _ envelope: ArraySlice<[UInt8]>, error: InputError) {
        counters.errors[error.code.rawValue, default: 0] += 1
        var w = JSONWriter(capacity: 256)
        Wire.encode(error, into: &w)
        send(socket, envelope, w.bytes)
    }

    // MARK: Control

    private func handleControl(_ socket: Socket, _ frames: [[UInt8]]) {
        guard let (envelope, body) = split(frames) else { return }
        guard body.count == 1 else {
            reply(socket, envelope, error: InputError(.badRequest, "a control command is one frame of JSON after the envelope; got \(body.count) frames."))
            return
        }
        let command: Value
        do {
            command = try JSONReader.parse(body[body.startIndex])
        } catch {
            reply(socket, envelope, error: error)
            return
        }
        guard case .string(let name)? = command["cmd"] else {
            reply(socket, envelope, error: InputError(.missingField, "cmd is required: one of reload, cti_incident, health.", field: "cmd"))
            return
        }
        switch name {
        case "reload": reload(socket, envelope)
        case "cti_incident":
            guard case .bool(let on)? = command["on"] else {
                reply(socket, envelope, error: InputError(.badType, "on must be true or false.", field: "on"))
                return
            }
            operations.ctiIncident = on
            OperationsFile.save(ctiIncident: on, directory: configuration.dataDirectory, logger: logger)
            logger.notice("CTI mass incident \(on ? "declared: transfers go by number" : "cleared: transfers go through CTI")")
            send(socket, envelope, ok { $0.member("cti_incident") { $0.bool(on) } })
        case "health": send(socket, envelope, health())
        default:
            reply(socket, envelope, error: InputError(.init(rawValue: "unknown_command"), "cmd \"\(name)\" is not a command; expected one of: reload, cti_incident, health.", field: "cmd"))
        }
    }

    private func reload(_ socket: Socket, _ envelope: ArraySlice<[UInt8]>) {
        do {
            let fresh = try TableSet.load(directory: configuration.tablesDirectory)
            tables = fresh
            counters.reloads += 1
            logger.notice("reloaded tables", metadata: ["tables": "\(fresh.tables.values.map { "\($0.name)@\($0.version)" }.sorted().joined(separator: ","))"])
            send(socket, envelope, ok { o in o.member("tables") { self.writeTables(&$0) } })
        } catch {
            counters.reloadsRejected += 1
            logger.error("reload rejected; the previous tables keep serving:\n\(error)")
            var w = JSONWriter(capacity: 1024)
            w.object { o in
                o.member("error") { w in
                    w.object { o in
                        o.member("code") { $0.string("invalid_table") }
                        o.member("message") { $0.string("the tables were not reloaded; the previous ones keep serving. \(error.errors.count) problem(s): \(error.errors.first?.description ?? "")") }
                        o.member("field") { $0.null() }
                    }
                }
                o.member("errors") { $0.strings(error.errors.map(\.description)) }
            }
            send(socket, envelope, w.bytes)
        }
    }

    private func ok(_ body: (inout JSONWriter.ObjectWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.object { o in
            o.member("ok") { $0.bool(true) }
            body(&o)
        }
        return w.bytes
    }

    private func writeTables(_ w: inout JSONWriter) {
        w.object { o in
            for table in tables.tables.values.sorted(by: { $0.name < $1.name }) {
                o.member(dynamic: table.name) { w in
                    w.object { o in
                        o.member("version") { $0.string(table.version) }
                        o.member("topics") { $0.number(Int64(table.topics.count)) }
                    }
                }
            }
        }
    }

    private func health() -> [UInt8] {
        ok { o in
            o.member("uptime_s") { $0.number(Date().timeIntervalSince(self.startedAt).rounded()) }
            o.member("tables") { self.writeTables(&$0) }
            o.member("cti_incident") { $0.bool(self.operations.ctiIncident) }
            o.member("sessions") { w in
                let all = self.sessions.sessions.values
                w.object { o in
                    o.member("open") { $0.number(Int64(all.filter { !$0.done }.count)) }
                    o.member("finished") { $0.number(Int64(all.filter(\.done).count)) }
                }
            }
            o.member("journal") { w in
                w.object { o in
                    o.member("seq") { $0.number(Int64(self.journal.lastSeq)) }
                    o.member("synced_seq") { $0.number(Int64(self.journal.syncedSeq)) }
                    o.member("journal_id") { $0.string(self.journal.journalID) }
                }
            }
            o.member("counters") { w in
                let c = self.counters
                w.object { o in
                    o.member("queries") { $0.number(Int64(c.queries)) }
                    o.member("decisions") { $0.number(Int64(c.decisions)) }
                    o.member("errors") { w in
                        w.object { o in for (code, n) in c.errors.sorted(by: { $0.key < $1.key }) { o.member(dynamic: code) { $0.number(Int64(n)) } } }
                    }
                    o.member("published") { $0.number(Int64(c.published)) }
                    o.member("publish_pending") { $0.number(Int64(self.pending.count - self.pendingHead)) }
                    o.member("publish_retries") { $0.number(Int64(c.publishRetries)) }
                    o.member("publish_dropped") { $0.number(Int64(c.publishDropped)) }
                    o.member("replays") { $0.number(Int64(c.replays)) }
                    o.member("dropped_messages") { $0.number(Int64(c.dropped)) }
                    o.member("reloads") { $0.number(Int64(c.reloads)) }
                    o.member("reloads_rejected") { $0.number(Int64(c.reloadsRejected)) }
                }
            }
        }
    }
}

/// A failure to start or run the engine, in words for the operator.
public struct EngineError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The CTI-incident flag survives restarts: an engine restarted during an incident must not go back to CTI.
enum OperationsFile {
    static func path(_ directory: String) -> String { (directory as NSString).appendingPathComponent("operations.json") }

    static func load(directory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path(directory)), let value = try? JSONReader.parse(Array(data)),
              case .bool(let on)? = value["cti_incident"] else { return false }
        return on
    }

    static func save(ctiIncident: Bool, directory: String, logger: Logger) {
        do {
            try Data(#"{"cti_incident":\#(ctiIncident)}"#.utf8).write(to: URL(fileURLWithPath: path(directory)), options: .atomic)
        } catch {
            logger.error("cannot save the CTI-incident flag: \(error.localizedDescription)")
        }
    }
}

extension Duration {
    var milliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
