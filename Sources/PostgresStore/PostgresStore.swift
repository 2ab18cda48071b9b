import EngineCore
import Foundation
import Logging
import Postgres
import Routing
import Storage
import Wire

/// The journal, idempotency keys, playbook sessions and operations state in PostgreSQL, shared by every
/// engine pointed at the same database (`switchboard serve --store postgres://…`).
///
/// One connection, used by the engine's thread only (libpq is synchronous, like libzmq). Each query
/// batch is one transaction (``SharedStore``): `SELECT … FOR UPDATE` on the head row serialises the
/// batches of all engines, so `seq` is contiguous, a session is read and written by one batch at a time
/// (never forked), and keys are looked up while no other engine can be deciding them.
///
/// When the database cannot be reached, ``beginBatch(keys:now:)`` throws at once (the engine answers
/// `unavailable`), and reconnecting is tried at most every ``reconnectInterval``.
public final class PostgresStore: SharedStore {
    public let journalID: String
    public private(set) var lastSeq: UInt64 = 0
    public var syncedSeq: UInt64 { lastSeq }
    /// A commit is durable (synchronous_commit on): no failure outlives the batch that met it.
    public var failure: StorageError? { nil }

    private let db: PostgresConnection
    private let url: String
    private let logger: Logger
    private let retentionMilliseconds: Int64
    /// The `last_seq` this engine saw at its previous batch: sessions changed after it are read again.
    private var seenSeq: UInt64 = 0
    private var batchOpen = false
    private var lastReconnectAttempt: ContinuousClock.Instant?
    private var batchesSinceExpiry = 0
    public var reconnectInterval: Duration = .milliseconds(500)

    /// libpq settings for every engine connection, overridable in the URL. A cut network must turn into an
    /// error within seconds, not TCP's minutes, on both ends; and a session whose engine vanished
    /// mid-transaction must not hold the head lock for long.
    /// - The engine's end: `tcp_user_timeout` and keepalives (libpq's).
    /// - The server's end, asked for in `options`: a session idle in a transaction is ended after 5 s; and the
    ///   server's own keepalives and `tcp_user_timeout` end a session whose engine is gone whatever it was
    ///   doing. The first alone did not cover an engine cut off in the middle of a statement (its `Sync` or the
    ///   end of a large `Bind` never arriving): the session then waits in `ClientRead`, active, not idle, and
    ///   held the head lock for minutes (`aSessionCutOffMidStatementLetsGoOfItsLocks`).
    public static let connectionSettings: [String: String] = [
        "connect_timeout": "3",
        "tcp_user_timeout": "3000",
        "keepalives": "1", "keepalives_idle": "2", "keepalives_interval": "1", "keepalives_count": "2",
        "application_name": "switchboard-engine",
        "options": "-c idle_in_transaction_session_timeout=5000 -c lock_timeout=10000 -c synchronous_commit=on"
            + " -c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=2 -c tcp_user_timeout=3000",
    ]

    /// How many times an engine tries its first connection, a second apart, before it gives up starting.
    /// `connect_timeout` (3 s) is sized for a network cut while serving; at start-up a database that is busy
    /// (engines and their database started together, a CI machine running the whole suite) once took longer
    /// to accept a connection, and an engine that exits on the first try would need a supervisor to start it.
    public static let startupAttempts = 5

    /// Connects, creates the schema if needed and reads the journal's id and last `seq`.
    /// - Parameter url: a `postgres://` URL or libpq keyword string.
    /// - Throws: ``StorageError`` of code `.database` when the database cannot be reached (after
    ///   ``startupAttempts`` tries, each logged) or refuses.
    public init(url: String, retentionMilliseconds: Int64 = IdempotencyKeys.defaultRetentionMilliseconds, logger: Logger) throws(StorageError) {
        self.url = url
        self.logger = logger
        self.retentionMilliseconds = retentionMilliseconds
        do {
            db = try Self.connect(url, logger: logger)
            journalID = try PostgresSchema.prepare(db, newJournalID: (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined())
            lastSeq = try UInt64(db.execute("SELECT last_seq FROM switchboard_head WHERE id = 1").rows[0][0] ?? "0") ?? 0
        } catch {
            throw Self.storageError(error)
        }
    }

    private static func connect(_ url: String, logger: Logger) throws(PostgresError) -> PostgresConnection {
        var attempt = 1
        while true {
            do {
                return try PostgresConnection(url, settings: Self.connectionSettings)
            } catch where error.kind == .connection && attempt < startupAttempts {
                logger.warning("shared store not reachable yet; trying again in 1 s", metadata: [
                    "attempt": "\(attempt) of \(startupAttempts)", "error": "\(error)"])
                attempt += 1
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    // MARK: SharedStore

    public func beginBatch(keys: [String], now: Instant) throws(StorageError) -> SharedStoreView {
        precondition(!batchOpen, "a batch is already open")
        do {
            try connectIfNeeded()
            try db.execute("BEGIN")
            batchOpen = true
            let head = try db.execute("""
                SELECT h.last_seq, o.cti_incident FROM switchboard_head h, switchboard_operations o
                WHERE h.id = 1 AND o.id = 1 FOR UPDATE OF h
                """)
            lastSeq = UInt64(head.value(0, "last_seq") ?? "0") ?? 0
            let operations = Operations(ctiIncident: head.value(0, "cti_incident") == "t")
            var found: [String: IdempotencyKeys.Entry] = [:]
            let unique = Array(Set(keys))
            if !unique.isEmpty {
                let oldest = now.milliseconds - retentionMilliseconds
                let placeholders = (0..<unique.count).map { "$\($0 + 2)" }.joined(separator: ",")
                let rows = try db.execute("SELECT key, digest, seq, stored_at FROM switchboard_keys WHERE stored_at >= $1 AND key IN (\(placeholders))",
                                          [String(oldest)] + unique)
                for row in rows {
                    guard let key = row[0], let digest = row[1].flatMap(RequestDigest.init(hex:)), let seq = row[2].flatMap(UInt64.init),
                          let at = row[3].flatMap(Int64.init) else { continue }
                    found[key] = IdempotencyKeys.Entry(digest: digest, seq: seq, storedAt: at)
                }
            }
            var sessions: [Session] = []
            if lastSeq > seenSeq || seenSeq == 0 {
                let rows = try db.execute("SELECT session FROM switchboard_sessions WHERE revision > $1 ORDER BY revision", [String(seenSeq)])
                for row in rows {
                    guard let text = row[0], let value = try? JSONReader.parse(Array(text.utf8), limits: .trusted), let session = Session(value: value) else {
                        throw PostgresError(.client, message: "a row of switchboard_sessions is not a session")
                    }
                    sessions.append(session)
                }
            }
            return SharedStoreView(operations: operations, keys: found, sessions: sessions)
        } catch {
            abandon()
            throw Self.storageError(error)
        }
    }

    public func commitBatch(events: [[UInt8]], keys: [(key: String, entry: IdempotencyKeys.Entry)], sessions: [Session]) throws(StorageError) {
        guard batchOpen else { throw StorageError(.database, path: "postgres", errno: 0, "no batch is open") }
        defer { batchOpen = false }
        if events.isEmpty && keys.isEmpty && sessions.isEmpty {
            // Read-only: release the head lock.
            do { try db.execute("COMMIT") } catch { throw Self.storageError(error) }
            seenSeq = lastSeq
            return
        }
        let newLast = lastSeq + UInt64(events.count)
        do {
            var sessionRows: [[String?]] = []
            for session in sessions {
                var w = JSONWriter(capacity: 512)
                w.value(session.value)
                sessionRows.append([session.key, String(newLast), String(decoding: w.bytes, as: UTF8.self)])
            }
            try insert("INSERT INTO switchboard_sessions (key, revision, session) VALUES", sessionRows,
                       suffix: " ON CONFLICT (key) DO UPDATE SET revision = excluded.revision, session = excluded.session")
            try insert("INSERT INTO switchboard_keys (key, digest, seq, stored_at) VALUES",
                       keys.map { [$0.key, $0.entry.digest.description, String($0.entry.seq), String($0.entry.storedAt)] })
            try insert("INSERT INTO switchboard_events (seq, event) VALUES",
                       events.enumerated().map { [String(lastSeq + UInt64($0.offset) + 1), String(decoding: $0.element, as: UTF8.self)] })
            try db.execute("UPDATE switchboard_head SET last_seq = $1 WHERE id = 1", [String(newLast)])
            try db.execute("COMMIT")
        } catch {
            abandon()
            throw Self.storageError(error)
        }
        // Sessions this batch wrote are already in the engine's memory; others' were read at begin.
        lastSeq = newLast
        seenSeq = newLast
        expireKeysNow()
    }

    public func saveOperations(_ operations: Operations) throws(StorageError) {
        do {
            try connectIfNeeded()
            try db.execute("UPDATE switchboard_operations SET cti_incident = $1 WHERE id = 1", [operations.ctiIncident ? "true" : "false"])
        } catch {
            throw Self.storageError(error)
        }
    }

    public func loadOperations() throws(StorageError) -> Operations {
        do {
            try connectIfNeeded()
            let row = try db.execute("SELECT cti_incident FROM switchboard_operations WHERE id = 1")
            return Operations(ctiIncident: row.value(0, "cti_incident") == "t")
        } catch {
            throw Self.storageError(error)
        }
    }

    // MARK: EventJournal

    /// Writes events alone, as one batch of their own (the engine writes through ``commitBatch``).
    public func append(_ events: [[UInt8]]) throws(StorageError) {
        _ = try beginBatch(keys: [], now: Self.wallClock)
        try commitBatch(events: events, keys: [], sessions: [])
    }

    public func read(from seq: UInt64, max: Int, maxBytes: Int) throws(StorageError) -> [ArraySlice<UInt8>] {
        do {
            try connectIfNeeded()
            return try Self.read(db, from: seq, max: max, maxBytes: maxBytes)
        } catch {
            throw Self.storageError(error)
        }
    }

    public func sync() throws(StorageError) {}

    /// A reader for another thread (the replay server), on a connection of its own.
    public func makeReader() -> PostgresJournalReader { PostgresJournalReader(url: url) }

    // MARK: Private

    static func read(_ db: PostgresConnection, from seq: UInt64, max: Int, maxBytes: Int) throws -> [ArraySlice<UInt8>] {
        let rows = try db.execute("SELECT event FROM switchboard_events WHERE seq >= $1 ORDER BY seq LIMIT $2", [String(seq), String(max)])
        var out: [ArraySlice<UInt8>] = []
        var bytes = 0
        for row in rows {
            let event = Array((row[0] ?? "").utf8)
            if !out.isEmpty && bytes + event.count > maxBytes { break }
            bytes += event.count
            out.append(event[...])
        }
        return out
    }

    /// Rows as one multi-row `INSERT` per chunk (PostgreSQL takes at most 65,535 parameters a statement).
    private func insert(_ prefix: String, _ rows: [[String?]], suffix: String = "") throws {
        guard let width = rows.first?.count else { return }
        let perStatement = 60_000 / width
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + perStatement)]
            var sql = prefix
            sql.reserveCapacity(prefix.count + chunk.count * width * 6 + suffix.count)
            var n = 0
            for (i, _) in chunk.enumerated() {
                sql += i == 0 ? " (" : ", ("
                for c in 0..<width {
                    n += 1
                    sql += c == 0 ? "$\(n)" : ", $\(n)"
                }
                sql += ")"
            }
            try db.execute(sql + suffix, chunk.flatMap { $0 })
            start += chunk.count
        }
    }

    private func connectIfNeeded() throws {
        guard !db.isConnected else { return }
        let now = ContinuousClock.now
        if let last = lastReconnectAttempt, now - last < reconnectInterval {
            throw PostgresError(.connection, message: "the database connection is lost; reconnecting")
        }
        lastReconnectAttempt = now
        do {
            try db.reconnect()
        } catch {
            throw error
        }
        logger.notice("store: reconnected to the database")
    }

    private func abandon() {
        if batchOpen, db.isConnected { _ = try? db.execute("ROLLBACK") }
        batchOpen = false
    }

    /// Deletes keys past the retention window now and then (lookups ignore them meanwhile).
    private func expireKeysNow() {
        batchesSinceExpiry += 1
        guard batchesSinceExpiry >= 1000 else { return }
        batchesSinceExpiry = 0
        let oldest = Self.wallClock.milliseconds - retentionMilliseconds
        do {
            try db.execute("DELETE FROM switchboard_keys WHERE stored_at < $1", [String(oldest)])
        } catch {
            logger.warning("store: expired idempotency keys not deleted this time: \(error)")
        }
    }

    private static var wallClock: Instant { Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded())) }

    static func storageError(_ error: any Error) -> StorageError {
        if let error = error as? StorageError { return error }
        return StorageError(.database, path: "postgres", errno: 0, "\(error)")
    }
}
