import Logging
import Routing
import Storage
import Wire

/// The engine without sockets: tables, playbook sessions, idempotency keys, operations state and the
/// journal, and what to answer to a query, a replay request or a control command.
///
/// A server owns the sockets and the thread; it hands the core the bodies of the messages that arrived
/// and sends what the core returns. The core keeps the durability order itself: a batch's sessions, keys
/// and events are written before ``handle(_:now:)`` returns any reply, and events are returned only for
/// decisions whose reply says they were made. Tested in memory, as swift-nio tests handlers on an
/// `EmbeddedChannel`.
///
/// ```swift
/// let core = try EngineCore(tables: set, journal: journal, keys: keys, logger: logger)
/// let batch = core.handle([queryBytes], now: Instant(milliseconds: …))
/// // send batch.replies[i] to the i-th sender, then publish batch.events in order
/// ```
///
/// Used by one thread at a time: not `Sendable`. (`Engine` lets its socket thread and its core thread take
/// turns with it under one lock, `coreTurn`.)
public final class EngineCore {
    public struct Configuration: Sendable {
        /// Most events one replay reply carries…
        public var maximumReplay = 10_000
        /// …and most bytes (at least one event is always sent).
        public var maximumReplayBytes = 256 << 10
        /// At most one reload this often: reloading parses every table and must not starve queries.
        public var minimumReloadInterval: Duration = .seconds(1)

        public init() {}
    }

    /// An event to publish: topic frame and JSON frame.
    public struct Published: Sendable, Hashable {
        public let seq: UInt64
        public let topic: [UInt8]
        public let event: [UInt8]
    }

    /// The outcome of a batch of queries: one reply per query, in order, and the events to publish, in `seq` order.
    public struct Batch: Sendable {
        public var replies: [[UInt8]]
        public var events: [Published]
    }

    public let configuration: Configuration
    public internal(set) var tables: TableSet
    public let journal: any EventJournal
    public let keys: IdempotencyKeys
    /// The state several engines share (PostgreSQL), also ``journal``; nil for the data folder's files.
    public let sharedStore: (any SharedStore)?
    public private(set) var sessions: SessionBook
    private let sessionFile: SessionFile?
    let operationsFile: OperationsFile?
    public internal(set) var operations: Operations
    let logger: Logger
    /// Where an event or a reply is written before its bytes are taken: one buffer, kept from one to the next
    /// (safe because the core is used by one thread at a time, and nothing written here is read after `bytes`).
    private var output = JSONWriter(capacity: 4096)
    /// The ids of this engine's events (its journal's).
    private let eventIDs: EventIDPrefix
    /// Why the last batch could not be written, until one is.
    public private(set) var writeFailure: StorageError?
    /// What `health` reports and `--metrics` exports, counted once.
    public let meters: EngineMeters
    var reloadRunning = false
    var lastReload: ContinuousClock.Instant?

    /// - Parameters:
    ///   - sessionFile: where playbook sessions are kept; nil keeps them in memory.
    ///   - operationsFile: where the CTI-incident flag is kept; nil keeps it in memory.
    ///   - meters: where the counts go; the server counts its own (publishing, replay) in the same.
    public init(tables: TableSet, journal: any EventJournal, keys: IdempotencyKeys, sessionFile: SessionFile? = nil,
                operationsFile: OperationsFile? = nil, configuration: Configuration = .init(), meters: EngineMeters = EngineMeters(),
                logger: Logger) throws(StorageError) {
        self.meters = meters
        self.tables = tables
        self.journal = journal
        eventIDs = EventIDPrefix(journalID: journal.journalID)
        self.sharedStore = nil
        self.keys = keys
        self.sessionFile = sessionFile
        self.sessions = sessionFile?.loaded ?? SessionBook()
        self.operationsFile = operationsFile
        self.operations = try operationsFile?.load() ?? Operations()
        self.configuration = configuration
        self.logger = logger
    }

    /// A core on a store shared with other engines: journal, keys, sessions and operations state all live
    /// there, and each batch is one of its transactions (``SharedStore``).
    /// - Parameter keys: an in-memory cache of answered keys (`directory: nil`); the store is asked for
    ///   every key a batch carries.
    public init(tables: TableSet, store: any SharedStore, keys: IdempotencyKeys, configuration: Configuration = .init(),
                meters: EngineMeters = EngineMeters(), logger: Logger) {
        self.meters = meters
        self.tables = tables
        self.journal = store
        eventIDs = EventIDPrefix(journalID: store.journalID)
        self.sharedStore = store
        self.keys = keys
        self.sessionFile = nil
        self.sessions = SessionBook()
        self.operationsFile = nil
        self.operations = Operations()
        self.configuration = configuration
        self.logger = logger
    }

    /// Logs what an operator must act on before it bites: holiday calendars that end within 90 days or have ended.
    public func warnAboutCalendars(now: Instant) {
        for expiry in tables.calendarExpiries(at: now) { logger.warning("\(expiry)") }
    }

    /// Why decisions are refused right now, or nil when the engine can keep what it decides.
    public var unavailableReason: StorageError? { journal.failure ?? writeFailure }

    // MARK: Queries

    private enum Answer {
        case final([UInt8])
        case decided(id: RequestID, seq: UInt64, eventIDJSON: ArraySlice<UInt8>, decisionJSON: ArraySlice<UInt8>, topic: [UInt8], event: [UInt8], counted: Counted)
        /// A repeat, within this batch, of the query at `index` (same key, same body).
        case sameAs(index: Int, id: RequestID)
    }

    /// The labels a decision is counted under.
    private struct Counted {
        let table: String
        let topic: String
        let action: String
    }

    /// Decides a batch of query bodies (the JSON frame of each, envelope removed).
    ///
    /// Order of effects: sessions (synced), then idempotency keys, then the events are written; only then
    /// are replies built. When any write fails, every decision of the batch is answered `unavailable`,
    /// sessions are rolled back, keys taken back, and no event is returned.
    /// - Parameter now: the wall clock, for calls without `at` and for the keys' retention.
    public func handle(_ bodies: [[UInt8]], now: Instant) -> Batch {
        var answers: [Answer] = []
        answers.reserveCapacity(bodies.count)
        var events: [[UInt8]] = []
        var published: [Published] = []
        var newKeys: [(key: String, entry: IdempotencyKeys.Entry)] = []
        var batchKeys: [String: (digest: RequestDigest, index: Int)] = [:]
        // With the tables, a call's facts and customer fields are read straight into its table's slots.
        let served = tables.tables
        let requests = bodies.map { QueryRequest.decodeKeepingID($0, tables: served) }
        // A failing sync refuses at once; a failing write is found by trying it, so each batch tries again
        // and deciding resumes by itself when space returns.
        var refusal = journal.failure.map(EngineCore.unavailable)
        keys.expire(now: now)
        var sharedBatchOpen = false
        if let sharedStore {
            // Before anything is decided: the seq lock, the keys as any engine answered them, the sessions
            // and operations state as other engines left them.
            let carried = requests.compactMap { (try? $0.1.get())?.idempotencyKey }
            do {
                let view = try sharedStore.beginBatch(keys: carried, now: now)
                sharedBatchOpen = true
                operations = view.operations
                sessions.absorb(view.sessions)
                keys.commit(view.keys.map { ($0.key, $0.value) })
            } catch {
                if writeFailure == nil { logger.critical("cannot reach the shared store; refusing decisions until it recovers: \(error)") }
                writeFailure = error
                refusal = EngineCore.unavailable(error)
            }
        }
        var nextSeq = journal.lastSeq + 1
        for (id, decoded) in requests {
            meters.queries.increment()
            let request: QueryRequest
            switch decoded {
            case .failure(let error):
                answers.append(.final(errorReply(id: id, error)))
                continue
            case .success(let r): request = r
            }
            var digest: RequestDigest?
            if let key = request.idempotencyKey {
                let d = RequestDigest(table: request.table, at: request.at, call: request.call)
                if let entry = keys[key] {
                    answers.append(.final(entry.digest == d ? repeatReply(id: id, seq: entry.seq) : errorReply(id: id, EngineCore.reused(key))))
                    continue
                }
                if let earlier = batchKeys[key] {
                    answers.append(earlier.digest == d ? .sameAs(index: earlier.index, id: id) : .final(errorReply(id: id, EngineCore.reused(key))))
                    continue
                }
                digest = d
            }
            if let refusal {
                answers.append(.final(errorReply(id: id, refusal)))
                continue
            }
            switch decide(request, id: id, seq: nextSeq, now: now) {
            case .failure(let error):
                answers.append(.final(errorReply(id: id, error)))
            case .success(let answer):
                if let key = request.idempotencyKey, let digest {
                    batchKeys[key] = (digest, answers.count)
                    newKeys.append((key, .init(digest: digest, seq: nextSeq, storedAt: now.milliseconds)))
                }
                if case .decided(_, let seq, _, _, let topic, let event, _) = answer {
                    events.append(event)
                    published.append(Published(seq: seq, topic: topic, event: event))
                }
                answers.append(answer)
                nextSeq += 1
            }
        }
        let journalled = sharedBatchOpen ? recordShared(events: events, keys: newKeys) : record(events: events, keys: newKeys)
        var replies: [[UInt8]] = []
        replies.reserveCapacity(answers.count)
        for answer in answers {
            switch answer {
            case .final(let bytes):
                replies.append(bytes)
            case .decided(let id, let seq, let eventIDJSON, let decisionJSON, _, _, let counted):
                replies.append(journalled ? decisionReply(id: id, seq: seq, eventIDJSON: eventIDJSON, decisionJSON: decisionJSON)
                                          : errorReply(id: id, EngineCore.unavailable(writeFailure)))
                if journalled { meters.decisions.increment(counted.table, counted.topic, counted.action) }
            case .sameAs(let index, let id):
                if journalled, case .decided(_, let seq, let eventIDJSON, let decisionJSON, _, _, _) = answers[index] {
                    meters.repeats.increment()
                    replies.append(decisionReply(id: id, seq: seq, eventIDJSON: eventIDJSON, decisionJSON: decisionJSON))
                } else {
                    replies.append(errorReply(id: id, EngineCore.unavailable(writeFailure)))
                }
            }
        }
        return Batch(replies: replies, events: journalled ? published : [])
    }

    private func decide(_ request: QueryRequest, id: RequestID, seq: UInt64, now: Instant) -> Result<Answer, InputError> {
        guard let table = request.servedTable ?? tables.tables[request.table] else {
            return .failure(InputError(.unknownTable, "table \"\(request.table)\" is not served here; expected one of: \(tables.tables.keys.sorted().joined(separator: ", ")).", field: "table"))
        }
        let instant = request.at ?? now
        let decision: Decision
        do {
            decision = try table.evaluate(request.call, at: instant, operations: operations, sessions: &sessions)
        } catch {
            return .failure(error)
        }
        // The event id and the decision are written once, in their places in the event; the reply takes both
        // from there.
        let written = DecisionEvent.write(seq: seq, eventIDs: eventIDs, at: instant, atOffset: table.zone.offset(at: instant),
                                          callID: request.call.callID, table: table.name, tableVersion: table.version, call: request.call,
                                          idempotencyKey: request.idempotencyKey, decision: decision, into: &output)
        return .success(.decided(id: id, seq: seq, eventIDJSON: written.eventIDJSON, decisionJSON: written.decisionJSON, topic: decision.eventTopicBytes,
                                 event: written.bytes, counted: Counted(table: table.name, topic: request.call.topic, action: decision.action.rawValue)))
    }

    /// Writes a batch in the durability order; on failure takes everything back.
    /// - Returns: whether the batch's decisions may be answered.
    private func record(events: [[UInt8]], keys new: [(key: String, entry: IdempotencyKeys.Entry)]) -> Bool {
        let changed = sessions.pendingChanges
        guard !events.isEmpty || !changed.isEmpty else { return true }
        var keysMark: Int64?
        do throws(StorageError) {
            // Sessions first: a step answered must find its session advanced after a crash. If a later write
            // fails, the file may hold a step nobody was told (logged); memory is rolled back.
            if let sessionFile, !changed.isEmpty { try sessionFile.append(changed) }
            keysMark = try keys.write(new)
            try journal.append(events)
        } catch {
            keys.takeBack(to: keysMark)
            sessions.rollBack()
            if writeFailure == nil { logger.critical("cannot record decisions; refusing them until storage recovers: \(error)") }
            writeFailure = error
            return false
        }
        sessions.commit()
        keys.commit(new)
        if writeFailure != nil {
            logger.notice("storage recovered: decisions are recorded again")
            writeFailure = nil
        }
        return true
    }

    /// Writes a batch to the shared store in its open transaction; on failure takes everything back.
    /// - Returns: whether the batch's decisions may be answered (the transaction committed).
    private func recordShared(events: [[UInt8]], keys new: [(key: String, entry: IdempotencyKeys.Entry)]) -> Bool {
        do throws(StorageError) {
            try sharedStore?.commitBatch(events: events, keys: new, sessions: sessions.pendingChanges)
        } catch {
            sessions.rollBack()
            if writeFailure == nil { logger.critical("cannot record decisions in the shared store; refusing them until it recovers: \(error)") }
            writeFailure = error
            return false
        }
        sessions.commit()
        keys.commit(new)
        if writeFailure != nil {
            logger.notice("shared store recovered: decisions are recorded again")
            writeFailure = nil
        }
        return true
    }

    /// The first reply of a key again: the journalled decision, its `seq` and `event_id`.
    private func repeatReply(id: RequestID, seq: UInt64) -> [UInt8] {
        do {
            guard let event = try journal.event(seq), let parts = EngineCore.replyParts(of: event) else {
                return errorReply(id: id, InputError(.unavailable, "the first answer to this idempotency key (seq \(seq)) cannot be read back from the journal; try again."))
            }
            meters.repeats.increment()
            return decisionReply(id: id, seq: seq, eventIDJSON: JSONString.literal(parts.eventID)[...], decisionJSON: parts.decision)
        } catch {
            return errorReply(id: id, EngineCore.unavailable(error))
        }
    }

    /// The `event_id` and the raw `decision` of a journalled event. `decision` is the event's last member,
    /// and `,"decision":` cannot occur inside a JSON string (its quote would be escaped), so the last
    /// occurrence is the member.
    static func replyParts(of event: ArraySlice<UInt8>) -> (eventID: String, decision: ArraySlice<UInt8>)? {
        let marker = Array(#","decision":"#.utf8)
        guard event.count > marker.count + 1, event.last == UInt8(ascii: "}") else { return nil }
        var i = event.endIndex - marker.count
        while i >= event.startIndex {
            if event[i] == marker[0], event[i..<(i + marker.count)].elementsEqual(marker) { break }
            i -= 1
        }
        guard i >= event.startIndex, case .string(let eventID)? = (try? JSONReader.parse(Array(event), limits: .trusted))?["event_id"] else { return nil }
        return (eventID, event[(i + marker.count)..<(event.endIndex - 1)])
    }

    private func decisionReply(id: RequestID, seq: UInt64, eventIDJSON: ArraySlice<UInt8>, decisionJSON: ArraySlice<UInt8>) -> [UInt8] {
        output.removeAll()
        Wire.encodeReply(id: id, seq: seq, eventIDJSON: eventIDJSON, decisionJSON: decisionJSON, into: &output)
        return output.bytes
    }

    /// A query's error reply, counted by code; for refusals the server makes itself (a malformed message).
    public func errorReply(id: RequestID, _ error: InputError) -> [UInt8] {
        meters.errors.increment(error.code.rawValue)
        var w = JSONWriter(capacity: 256)
        Wire.encodeReply(id: id, error: error, into: &w)
        return w.bytes
    }

    /// An error reply without an id (replay and control requests carry none), counted by code.
    public func errorReply(_ error: InputError) -> [UInt8] {
        meters.errors.increment(error.code.rawValue)
        var w = JSONWriter(capacity: 256)
        Wire.encode(error, into: &w)
        return w.bytes
    }

    static func unavailable(_ cause: StorageError?) -> InputError {
        InputError(.unavailable, "the engine cannot record decisions right now (\(cause.map { "\($0)" } ?? "storage failing")); nothing was decided, try again with the same idempotency key.")
    }

    static func reused(_ key: String) -> InputError {
        InputError(.idempotencyKeyReused, "idempotency_key \"\(key)\" already answered a different request; use a new key for a new request.", field: "idempotency_key")
    }

    // MARK: Replay

    /// Answers a replay request `{"from_seq", "max"?}`: the journalled events from `from_seq` on, bounded
    /// by count and bytes; a journal that cannot be read is an `unavailable` error, never an empty list.
    public func replay(_ body: [UInt8]) -> [UInt8] {
        meters.replays.increment()
        let answer = EngineCore.answerReplay(body, configuration: configuration) { seq, max, maxBytes throws(StorageError) in
            try journal.read(from: seq, max: max, maxBytes: maxBytes)
        }
        if let error = answer.error {
            meters.replayErrors.increment(error.code.rawValue)
            if error.code == .unavailable { logger.error("replay: \(error.message)") }
        }
        return answer.reply
    }

    /// The reply to a replay request, with the error it carries (for counting); the one definition of
    /// replay, used by ``replay(_:)`` and by a server that answers replays on a thread of its own.
    public static func answerReplay(_ body: [UInt8], configuration: Configuration,
                                    read: (UInt64, Int, Int) throws(StorageError) -> [ArraySlice<UInt8>]) -> (reply: [UInt8], error: InputError?) {
        do throws(InputError) {
            let (from, max) = try Wire.decodeReplayRequest(try JSONReader.parse(body), maximum: configuration.maximumReplay)
            let events: [ArraySlice<UInt8>]
            do {
                events = try read(from, max, configuration.maximumReplayBytes)
            } catch {
                throw InputError(.unavailable, "the journal cannot be read right now (\(error)); ask again later.")
            }
            return (Wire.encodeReplay(events: events, nextSeq: from + UInt64(events.count)), nil)
        } catch {
            var w = JSONWriter(capacity: 256)
            Wire.encode(error, into: &w)
            return (w.bytes, error)
        }
    }
}
