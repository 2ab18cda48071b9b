import EventFeed
import Foundation
import Postgres
import Routing
import Wire

/// The interaction comments in PostgreSQL, for a CRM to read: the same rows as ``CommentStore`` (schema
/// `recorder`, tables `comment` and `progress`), with the same promise.
///
/// A batch and its last `seq` are written in one transaction; `event_id` is the primary key and a repeated
/// event is skipped (`ON CONFLICT DO NOTHING`), and `last_seq` only rises (`GREATEST`). So a crash at any
/// point — of the recorder, or of the connection during `COMMIT`, when the outcome is unknown — is
/// repaired by storing the batch again, and two recorders writing the same database at once store each
/// comment once too.
///
/// ```swift
/// let store = try PostgresCommentStore(url: "postgres://recorder@db.example/crm")
/// try store.store(batch)
/// ```
public final class PostgresCommentStore {
    /// The connection string as given.
    public let url: String
    /// One connection, used under `lock` by one caller at a time (libpq connections are not thread-safe).
    private let connection: PostgresConnection
    private let lock = NSLock()

    /// Connects and brings the schema up to date.
    /// - Throws: ``PostgresError`` when the server cannot be reached or refuses the schema.
    public init(url: String) throws {
        self.url = url
        let db = try PostgresConnection(url, settings: ["connect_timeout": "10", "application_name": "switchboard-recorder"])
        try Self.migrate(db)
        connection = db
    }

    /// Never edit a shipped migration: add the next one.
    static let migrations: [(name: String, sql: String)] = [
        ("v1: comments and progress", """
            CREATE TABLE recorder.comment (
                event_id text PRIMARY KEY,
                seq bigint NOT NULL UNIQUE,
                call_id text NOT NULL,
                at text NOT NULL,
                table_name text NOT NULL,
                table_version text NOT NULL,
                action text NOT NULL,
                target text,
                case_id text,
                rule text NOT NULL,
                comment text NOT NULL,
                phrases jsonb NOT NULL,
                stored_at text NOT NULL
            );
            CREATE INDEX comment_call_id ON recorder.comment (call_id);
            CREATE TABLE recorder.progress (
                id integer PRIMARY KEY CHECK (id = 1),
                last_seq bigint NOT NULL
            );
            INSERT INTO recorder.progress (id, last_seq) VALUES (1, 0);
            """),
    ]

    /// Applies the migrations not yet applied, one transaction, serialised against other recorders starting.
    private static func migrate(_ db: PostgresConnection) throws {
        try db.transaction { db in
            try db.execute("SELECT pg_advisory_xact_lock(hashtext('switchboard.recorder.migrate'))")
            try db.execute("CREATE SCHEMA IF NOT EXISTS recorder")
            try db.execute("CREATE TABLE IF NOT EXISTS recorder.migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            let applied = Set(try db.execute("SELECT name FROM recorder.migration").rows.compactMap { $0[0] })
            for m in migrations where !applied.contains(m.name) {
                try db.execute(m.sql)
                try db.execute("INSERT INTO recorder.migration (name) VALUES ($1)", [m.name])
            }
        }
    }

    /// Runs `body` on the connection, connecting again first if it was lost (the caller's retry then works).
    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try lock.withLock {
            if !connection.isConnected { try connection.reconnect() }
            return try body(connection)
        }
    }

    /// The columns of a comment row, in the order of ``CommentColumns/names``.
    private static let columnList = CommentColumns.names.joined(separator: ", ")

    /// Rows per INSERT: 13 parameters each, well under PostgreSQL's 65,535.
    private static let rowsPerStatement = 500
}

extension PostgresCommentStore: CommentStorage {
    public var location: String { Self.redacted(url) }

    public func lastSeq() throws -> UInt64 {
        try withConnection { db in
            UInt64(try db.execute("SELECT last_seq FROM recorder.progress WHERE id = 1").rows.first?[0].flatMap { UInt64($0) } ?? 0)
        }
    }

    public func store(_ events: [RecordedEvent]) throws {
        guard let last = events.last else { return }
        let now = Timestamp.format(Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)), offsetSeconds: 0)
        let width = CommentColumns.names.count
        try withConnection { db in
            try db.transaction { db in
                var start = 0
                while start < events.count {
                    let chunk = events[start..<min(events.count, start + Self.rowsPerStatement)]
                    var parameters: [String?] = []
                    parameters.reserveCapacity(chunk.count * width)
                    var tuples: [String] = []
                    for (row, event) in chunk.enumerated() {
                        parameters += CommentColumns.values(event, storedAt: now)
                        let placeholders = (1...width).map { column -> String in
                            let n = row * width + column
                            return CommentColumns.names[column - 1] == "phrases" ? "$\(n)::jsonb" : "$\(n)"
                        }
                        tuples.append("(" + placeholders.joined(separator: ", ") + ")")
                    }
                    try db.execute("INSERT INTO recorder.comment (\(Self.columnList)) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT DO NOTHING", parameters)
                    start += chunk.count
                }
                try db.execute("UPDATE recorder.progress SET last_seq = GREATEST(last_seq, $1) WHERE id = 1", [String(last.seq)])
            }
        }
    }

    public func comments(callID: String?, _ body: (CommentStore.Row) -> Void) throws {
        let rows = try withConnection { db in
            try db.execute("SELECT \(Self.columnList) FROM recorder.comment" + (callID == nil ? "" : " WHERE call_id = $1") + " ORDER BY seq",
                           callID.map { [$0] } ?? [])
        }
        for i in rows.indices {
            body(CommentColumns.row { rows.value(i, $0) })
        }
    }

    public func counts() throws -> (rows: Int, distinctEvents: Int, distinctSeqs: Int) {
        try withConnection { db in
            let r = try db.execute("SELECT count(*), count(DISTINCT event_id), count(DISTINCT seq) FROM recorder.comment").rows[0]
            return (Int(r[0] ?? "") ?? 0, Int(r[1] ?? "") ?? 0, Int(r[2] ?? "") ?? 0)
        }
    }

    /// The URL with its password, if any, replaced by `***`, for logs.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@"),
              let colon = url[scheme.upperBound..<at].firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
}

// The connection is used only under the lock, by one caller at a time: the recorder's thread, the metrics
// thread, a `comments` reader.
extension PostgresCommentStore: @unchecked Sendable {}
