internal import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// One connection to a PostgreSQL server through libpq, used synchronously from one thread.
///
/// libpq is blocking and a connection is not thread-safe, like a libzmq socket: it belongs to the thread
/// that uses it (the engine's own thread), never to Swift's cooperative pool. Statements are sent with
/// their parameters apart (`$1`, `$2`, text format), so values are never spliced into SQL.
///
/// ```swift
/// let db = try PostgresConnection("postgres://switchboard@db.example/switchboard")
/// try db.transaction { db in
///     try db.execute("INSERT INTO t (k, v) VALUES ($1, $2)", ["a", nil])
/// }
/// let rows = try db.execute("SELECT v FROM t WHERE k = $1", ["a"])
/// ```
public final class PostgresConnection {
    private var handle: OpaquePointer?
    private let connectionString: String
    private let settings: [(String, String)]

    /// Connects.
    /// - Parameters:
    ///   - connectionString: a `postgres://` (or `postgresql://`) URL or a keyword string
    ///     (`host=/run/pg dbname=switchboard`), as libpq reads them.
    ///   - settings: libpq keywords (`connect_timeout`, `tcp_user_timeout`, `application_name`, …) used
    ///     where the connection string does not name them itself: the string wins.
    /// - Throws: ``PostgresError`` of kind `.connection` with libpq's reason.
    public init(_ connectionString: String, settings: [String: String] = [:]) throws(PostgresError) {
        self.connectionString = connectionString
        self.settings = settings.sorted { $0.key < $1.key }
        try open()
    }

    deinit { close() }

    /// Closes the connection; ``reconnect()`` opens it again.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Whether the connection is open and libpq has not seen it fail.
    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Drops the connection, if any, and connects again with the same string and settings.
    public func reconnect() throws(PostgresError) {
        close()
        try open()
    }

    /// The server's version as libpq reports it: 150018 for 15.18.
    public var serverVersion: Int {
        guard let handle else { return 0 }
        return Int(PQserverVersion(handle))
    }

    /// Runs one statement.
    ///
    /// With parameters, exactly one statement; without, several separated by `;` may be sent at once
    /// (schema scripts), and the last one's rows are returned.
    /// - Parameters:
    ///   - sql: the statement, with `$1`, `$2`, … for parameters.
    ///   - parameters: values in PostgreSQL's text format; nil is SQL NULL.
    /// - Returns: the rows, in text format.
    /// - Throws: ``PostgresError``: `.query` with SQLSTATE when the server refused it, `.connection` when
    ///   the connection is gone (the statement's effect is then unknown unless it ran in a transaction).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        guard let handle else { throw PostgresError(.connection, message: "not connected") }
        let result: OpaquePointer?
        if parameters.isEmpty {
            result = PQexec(handle, sql)
        } else {
            result = Self.withCStrings(parameters) { values in
                PQexecParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
            }
        }
        guard let result else { throw connectionError(handle) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(of: result)
        default:
            throw error(of: result, handle)
        }
    }

    /// Runs `body` inside `BEGIN … COMMIT`; any error it throws rolls back and is rethrown.
    ///
    /// The commit's own failure is thrown too: then nothing of `body` happened, except when the
    /// connection was lost during `COMMIT` itself (``PostgresError/isConnectionLost``), when the outcome is
    /// unknown and the caller must find out (for example by reading back a key it wrote).
    /// - Parameter isolation: `READ COMMITTED` (PostgreSQL's default), `REPEATABLE READ` or `SERIALIZABLE`.
    public func transaction<T>(isolation: String? = nil, _ body: (PostgresConnection) throws -> T) throws -> T {
        try execute(isolation.map { "BEGIN ISOLATION LEVEL \($0)" } ?? "BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            if isConnected { _ = try? execute("ROLLBACK") }
            throw error
        }
        try execute("COMMIT")
        return value
    }

    // MARK: Private

    private func open() throws(PostgresError) {
        // Settings first and the string last: libpq lets later keywords override earlier ones, and the
        // string ("dbname", expanded) is what the operator wrote.
        let keywords = settings.map(\.0) + ["dbname"]
        let values = settings.map(\.1) + [connectionString]
        let connection = Self.withCStrings(keywords) { k in
            Self.withCStrings(values) { v in
                var k = k.map { UnsafePointer($0) } + [nil]
                var v = v.map { UnsafePointer($0) } + [nil]
                return PQconnectdbParams(&k, &v, 1)
            }
        }
        guard let connection else { throw PostgresError(.client, message: "out of memory while connecting") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let failure = connectionError(connection)
            PQfinish(connection)
            throw failure
        }
        // NOTICEs ("relation already exists, skipping") would go to stderr otherwise.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        handle = connection
    }

    private func connectionError(_ connection: OpaquePointer) -> PostgresError {
        PostgresError(.connection, message: Self.firstLine(PQerrorMessage(connection)) ?? "connection failed")
    }

    private func error(of result: OpaquePointer, _ connection: OpaquePointer) -> PostgresError {
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
        let message = primary ?? Self.firstLine(PQresultErrorMessage(result)) ?? "statement failed"
        if PQstatus(connection) != CONNECTION_OK { return PostgresError(.connection, sqlState: sqlState, message: message) }
        return PostgresError(sqlState == nil ? .client : .query, sqlState: sqlState, message: message)
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for r in 0..<rowCount {
            rows.append((0..<columnCount).map { c in
                PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c))
            })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, rows: rows, affectedRows: affected)
    }

    private static func firstLine(_ text: UnsafePointer<CChar>?) -> String? {
        guard let text else { return nil }
        let line = String(cString: text).split(separator: "\n").first.map(String.init)
        return line?.isEmpty == false ? line : nil
    }

    /// Lends C strings for `values` (nil stays NULL) for the duration of `body`.
    private static func withCStrings<R>(_ values: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies = values.map { $0.map { strdup($0)! } }
        defer { copies.forEach { free($0) } }
        return body(copies.map { $0.map { UnsafePointer($0) } })
    }

    private static func withCStrings<R>(_ values: [String], _ body: ([UnsafeMutablePointer<CChar>]) -> R) -> R {
        let copies = values.map { strdup($0)! }
        defer { copies.forEach { free($0) } }
        return body(copies)
    }
}

/// A connection belongs to one thread: libpq connections are not thread-safe.
@available(*, unavailable)
extension PostgresConnection: Sendable {}
