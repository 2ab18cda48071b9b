import LocalPostgres
import Postgres
import TestSupport
import Testing

/// Against a real PostgreSQL server each test starts itself (tools/pg-local).
@Suite(.ownThreads, .timeLimit(.minutes(5))) struct PostgresConnectionTests {
    let server: LocalPostgresServer

    init() throws { server = try LocalPostgresServer() }

    @Test func parametersTravelApartFromTheStatementAndNullStaysNull() throws {
        let db = try PostgresConnection(server.url)
        try db.execute("CREATE TABLE t (k text PRIMARY KEY, v text)")
        let tricky = "'); DROP TABLE t; -- «ж» 😀"
        #expect(try db.execute("INSERT INTO t VALUES ($1, $2), ($3, $4)", ["a", tricky, "b", nil]).affectedRows == 2)
        let rows = try db.execute("SELECT k, v FROM t ORDER BY k")
        #expect(rows.columns == ["k", "v"])
        #expect(rows.rows == [["a", tricky], ["b", nil]])
        #expect(rows.value(0, "v") == tricky)
        #expect(rows.value(1, "v") == nil)
        #expect(rows.value(0, "missing") == nil)
    }

    @Test func aKeywordStringConnectsToo() throws {
        // postgres://postgres@/postgres?host=DIR&port=N → host=DIR port=N user=postgres dbname=postgres
        let query = server.url.split(separator: "?")[1].split(separator: "&").map { $0.replacingOccurrences(of: "=", with: "='") + "'" }
        let db = try PostgresConnection((query + ["user=postgres", "dbname=postgres"]).joined(separator: " "))
        #expect(try db.execute("SELECT 1 + 1 AS two").value(0, "two") == "2")
        #expect(db.serverVersion >= 130000)
    }

    @Test func theConnectionStringWinsOverDefaultSettings() throws {
        let db = try PostgresConnection(server.url + "&application_name=from-url", settings: ["application_name": "default", "connect_timeout": "3"])
        #expect(try db.execute("SHOW application_name").rows == [["from-url"]])
        let other = try PostgresConnection(server.url, settings: ["application_name": "default"])
        #expect(try other.execute("SHOW application_name").rows == [["default"]])
    }

    @Test func refusalsCarryTheirSQLSTATE() throws {
        let db = try PostgresConnection(server.url)
        try db.execute("CREATE TABLE u (k int PRIMARY KEY)")
        try db.execute("INSERT INTO u VALUES ($1)", ["1"])
        let duplicate = #expect(throws: PostgresError.self) { try db.execute("INSERT INTO u VALUES ($1)", ["1"]) }
        #expect(duplicate?.kind == .query)
        #expect(duplicate?.isUniqueViolation == true)
        #expect(duplicate?.isConnectionLost == false)
        #expect(duplicate?.message.contains("duplicate key") == true)
        let syntax = #expect(throws: PostgresError.self) { try db.execute("SELEKT 1") }
        #expect(syntax?.sqlState == "42601")
        let badValue = #expect(throws: PostgresError.self) { try db.execute("INSERT INTO u VALUES ($1)", ["one"]) }
        #expect(badValue?.sqlState == "22P02")
        // The connection is still good after refusals.
        #expect(try db.execute("SELECT count(*) FROM u").rows == [["1"]])
    }

    @Test func aTransactionCommitsOrRollsBackAsAWhole() throws {
        let db = try PostgresConnection(server.url)
        try db.execute("CREATE TABLE v (k int PRIMARY KEY)")
        struct Abandon: Error {}
        #expect(throws: Abandon.self) {
            try db.transaction { db in
                try db.execute("INSERT INTO v VALUES (1)")
                throw Abandon()
            }
        }
        #expect(throws: PostgresError.self) {
            try db.transaction { db in
                try db.execute("INSERT INTO v VALUES (2)")
                try db.execute("INSERT INTO v VALUES (2)")
            }
        }
        let n = try db.transaction(isolation: "SERIALIZABLE") { db in
            try db.execute("INSERT INTO v VALUES (3)")
            return try db.execute("SELECT count(*) FROM v").rows[0][0]
        }
        #expect(n == "1")
        #expect(try db.execute("SELECT k FROM v").rows == [["3"]])
    }

    @Test func aLostServerIsAConnectionErrorAndReconnectRecovers() throws {
        let db = try PostgresConnection(server.url)
        try db.execute("CREATE TABLE w (k int)")
        server.stop()
        let lost = #expect(throws: PostgresError.self) { try db.execute("INSERT INTO w VALUES (1)") }
        #expect(lost?.isConnectionLost == true)
        #expect(!db.isConnected)
        #expect(throws: PostgresError.self) { try db.reconnect() }
        try server.start()
        try db.reconnect()
        #expect(db.isConnected)
        try db.execute("INSERT INTO w VALUES (1)")
        #expect(try db.execute("SELECT count(*) FROM w").rows == [["1"]])
    }

    @Test func noServerIsAConnectionErrorNamingTheReason() throws {
        let url = server.url
        server.stop()
        let error = #expect(throws: PostgresError.self) { try PostgresConnection(url, settings: ["connect_timeout": "2"]) }
        #expect(error?.kind == .connection)
        #expect(error?.isConnectionLost == true)
        #expect(error?.message.isEmpty == false)
    }
}
