import EventFeed
import Foundation
import GRDB
import GRDBSQLite
import Routing
import Wire

/// The interaction comments, one row per decision (`event_id`), in a SQLite file.
///
/// WAL journal, `synchronous = FULL`: a batch is on disk when ``store(_:)`` returns. The last `seq`
/// stored is written in the same transaction as the rows, so after any crash the store knows exactly
/// where to resume, and inserting an event twice changes nothing (`ON CONFLICT DO NOTHING`).
public final class CommentStore: Sendable {
    private let database: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        var configuration = Configuration()
        // The recorder writes while `switchboard comments` (another process) opens the same file: wait for
        // a lock held elsewhere instead of failing with SQLITE_BUSY.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        // Switching a new file to WAL needs it to itself, and SQLite answers BUSY at once rather than
        // waiting when another process is opening it too: try again for a few seconds.
        for attempt in 0... {
            do {
                _ = try database.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
                break
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 500 {
                usleep(10_000)
            }
        }
        // Another process (the recorder, or `comments`) may be migrating the same file at the same moment: the
        // migrator reads what is applied before its transactions, so the later one runs a migration the other
        // has just committed and fails (a table that exists, or the migration's own row in grdb_migrations),
        // its transaction rolled back. Read again and apply what is still missing. Other errors (a lock held
        // past the busy timeout) are not retried.
        for attempt in 0... {
            do {
                try CommentStore.migrator.migrate(database)
                break
            } catch {
                if try database.read({ try CommentStore.migrator.hasCompletedMigrations($0) }) { break }
                let concurrent = (error as? DatabaseError).map { $0.resultCode == .SQLITE_ERROR || $0.resultCode == .SQLITE_CONSTRAINT } ?? false
                guard concurrent, attempt < 20 else { throw error }
                usleep(50_000)
            }
        }
    }

    private static let insertSQL = "INSERT INTO comment (\(CommentColumns.names.joined(separator: ", "))) VALUES ("
        + Array(repeating: "?", count: CommentColumns.names.count).joined(separator: ", ") + ") ON CONFLICT DO NOTHING"

    /// Never edit a shipped migration: add the next one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: comments and progress") { db in
            try db.create(table: "comment") { t in
                t.column("event_id", .text).primaryKey()
                t.column("seq", .integer).notNull().unique()
                t.column("call_id", .text).notNull().indexed()
                t.column("at", .text).notNull()
                t.column("table_name", .text).notNull()
                t.column("table_version", .text).notNull()
                t.column("action", .text).notNull()
                t.column("target", .text)
                t.column("case_id", .text)
                t.column("rule", .text).notNull()
                t.column("comment", .text).notNull()
                t.column("phrases", .text).notNull()  // a JSON array
                t.column("stored_at", .text).notNull()
            }
            try db.create(table: "progress") { t in
                t.column("id", .integer).primaryKey().check { $0 == 1 }
                t.column("last_seq", .integer).notNull()
            }
            try db.execute(sql: "INSERT INTO progress (id, last_seq) VALUES (1, 0)")
        }
        // v1 kept four B-trees a row: the table by rowid, `event_id`'s primary key index, `seq`'s unique index
        // and `call_id`'s. With `seq` as the table's key (SQLite's rowid) one descent less a row; `event_id`
        // stays unique. Existing rows are copied in the same transaction.
        m.registerMigration("v2: comments keyed by seq") { db in
            try db.create(table: "comment_v2") { t in
                t.column("seq", .integer).primaryKey()
                t.column("event_id", .text).notNull().unique()
                t.column("call_id", .text).notNull()
                t.column("at", .text).notNull()
                t.column("table_name", .text).notNull()
                t.column("table_version", .text).notNull()
                t.column("action", .text).notNull()
                t.column("target", .text)
                t.column("case_id", .text)
                t.column("rule", .text).notNull()
                t.column("comment", .text).notNull()
                t.column("phrases", .text).notNull()  // a JSON array
                t.column("stored_at", .text).notNull()
            }
            let columns = CommentColumns.names.joined(separator: ", ")
            try db.execute(sql: "INSERT INTO comment_v2 (\(columns)) SELECT \(columns) FROM comment ORDER BY seq")
            try db.drop(table: "comment")
            try db.rename(table: "comment_v2", to: "comment")
            try db.create(index: "comment_on_call_id", on: "comment", columns: ["call_id"])
        }
        return m
    }

    /// The last `seq` stored; 0 when none.
    public func lastSeq() throws -> UInt64 {
        try database.read { db in UInt64(try Int64.fetchOne(db, sql: "SELECT last_seq FROM progress WHERE id = 1") ?? 0) }
    }

    /// Stores a contiguous batch of events and its last `seq` in one transaction, masking sensitive data.
    ///
    /// One transaction a batch: with `synchronous = FULL` each commit waits for the disk, so the size of the
    /// batches the recorder hands over (up to 10,000 events, merged by `BatchWriter`) makes the rows a second.
    /// The comment is masked here unless the event says it already is (``RecordedEvent/commentIsMasked``).
    public func store(_ events: [RecordedEvent]) throws {
        guard let last = events.last else { return }
        let now = Timestamp.format(Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)), offsetSeconds: 0)
        try database.write { db in
            let insert = try db.cachedStatement(sql: CommentStore.insertSQL)
            // Bound through the C API: GRDB's `StatementArguments` built from the row's thirteen values
            // was a sixth of the recorder's time (key paths and boxing per value; PERFORMANCE.md).
            let statement = insert.sqliteStatement
            for e in events {
                sqlite3_reset(statement)
                for (index, value) in CommentColumns.values(e, storedAt: now).enumerated() {
                    let column = Int32(index + 1)
                    // The table's key (the rowid) takes an integer, not text that looks like one.
                    let bound: Int32
                    if index == CommentColumns.seqIndex {
                        bound = sqlite3_bind_int64(statement, column, Int64(e.seq))
                    } else if var value {
                        bound = value.withUTF8 { text in
                            sqlite3_bind_text(statement, column, text.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                                              Int32(text.count), CommentStore.transient)
                        }
                    } else {
                        bound = sqlite3_bind_null(statement, column)
                    }
                    // A failed bind (a value too big, no memory) would leave the last row's value in place.
                    guard bound == SQLITE_OK else { throw CommentStore.error(bound, db) }
                }
                let code = sqlite3_step(statement)
                guard code == SQLITE_DONE else { throw CommentStore.error(code, db) }
            }
            sqlite3_reset(statement)
            try db.execute(sql: "UPDATE progress SET last_seq = max(last_seq, ?) WHERE id = 1", arguments: [Int64(last.seq)])
        }
    }

    private static func error(_ code: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: insertSQL)
    }

    /// SQLite copies the bound text (`SQLITE_TRANSIENT`): the row's strings live only for the bind call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// One stored comment, as `switchboard comments` prints it.
    public struct Row: Sendable {
        public let fields: [(String, Value)]
    }

    /// The stored comments in `seq` order, of one call or all.
    public func comments(callID: String? = nil, _ body: (Row) -> Void) throws {
        try database.read { db in
            let sql = "SELECT event_id, seq, call_id, at, table_name, table_version, action, target, case_id, rule, comment, phrases, stored_at FROM comment"
                + (callID == nil ? "" : " WHERE call_id = ?") + " ORDER BY seq"
            let cursor = try GRDB.Row.fetchCursor(db, sql: sql, arguments: callID.map { [$0] } ?? [])
            while let r = try cursor.next() {
                let phrases = (try? JSONReader.parse(r["phrases"] as String, limits: .trusted)) ?? .array([])
                func text(_ column: String) -> Value { (r[column] as String?).map(Value.string) ?? .null }
                body(Row(fields: [
                    ("event_id", text("event_id")), ("seq", .number(Double(r["seq"] as Int64))), ("call_id", text("call_id")),
                    ("at", text("at")), ("table", text("table_name")), ("table_version", text("table_version")),
                    ("action", text("action")), ("target", text("target")), ("case", text("case_id")), ("rule", text("rule")),
                    ("comment", text("comment")), ("phrases", phrases), ("stored_at", text("stored_at")),
                ]))
            }
        }
    }

    /// The journal mode and synchronous level in force (`wal`, 2 for FULL).
    public func pragmas() throws -> (journalMode: String, synchronous: Int) {
        try database.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
        }
    }

    /// How many comments are stored, and how many distinct `event_id`s and `seq`s among them.
    public func counts() throws -> (rows: Int, distinctEvents: Int, distinctSeqs: Int) {
        try database.read { db in
            let row = try GRDB.Row.fetchOne(db, sql: "SELECT count(*), count(DISTINCT event_id), count(DISTINCT seq) FROM comment")!
            return (row[0], row[1], row[2])
        }
    }
}
