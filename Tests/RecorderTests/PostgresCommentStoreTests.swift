import Foundation
import LocalPostgres
import Postgres
import Routing
import TestSupport
import Testing
@testable import Recorder
import Wire

/// The recorder's PostgreSQL store against a real server each suite starts itself (tools/pg-local): the same
/// rows and the same exactly-once promise as the SQLite store.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct PostgresCommentStoreTests {
    let server: LocalPostgresServer

    init() throws { server = try LocalPostgresServer() }

    /// A database of its own per test, so tests share the server but nothing else.
    func database() throws -> String {
        let name = "rec_" + UUID().uuidString.prefix(8).lowercased()
        try PostgresConnection(server.url).execute("CREATE DATABASE \(name)")
        return server.url.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
    }

    @Test func storesOnceAndRemembersTheLastSeq() throws {
        let url = try database()
        let store = try PostgresCommentStore(url: url)
        #expect(try store.lastSeq() == 0)
        try store.store((1...100).map { event($0) })
        try store.store((50...120).map { event($0) })  // overlapping: replayed after a crash
        try store.store((1...10).map { event($0) })  // an old batch again: last_seq does not go back
        #expect(try store.lastSeq() == 120)
        let counts = try store.counts()
        #expect(counts.rows == 120 && counts.distinctEvents == 120 && counts.distinctSeqs == 120)
        // A new process (a new connection, the schema already there) sees the same.
        let reopened = try PostgresCommentStore(url: url)
        #expect(try reopened.lastSeq() == 120)
    }

    /// The rows `comments` prints are the SQLite store's, field for field (but `stored_at`).
    @Test func theSameRowsAsSQLite() throws {
        let pg = try PostgresCommentStore(url: try database())
        let dir = temporaryFolder("same-rows")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sqlite = try CommentStore(path: dir.appendingPathComponent("c.sqlite").path)
        let batch = [event(1, comment: "карта 5500 0000 0000 0004, код из SMS 4821", call: "x"), event(2, call: "y"), event(3, call: "x")]
        try pg.store(batch)
        try sqlite.store(batch)
        func rows(_ s: any CommentStorage, _ call: String?) throws -> [[String]] {
            var out: [[String]] = []
            try s.comments(callID: call) { row in out.append(row.fields.filter { $0.0 != "stored_at" }.map { "\($0.0)=\($0.1)" }) }
            return out
        }
        #expect(try rows(pg, nil) == rows(sqlite, nil))
        #expect(try rows(pg, "x") == rows(sqlite, "x"))
        #expect(try rows(pg, "x").count == 2)
        #expect(try rows(pg, nil)[0].contains("comment=\(Value.string("карта **** **** **** 0004, код из SMS ****"))"))
    }

    /// Two recorders on one database at once (say, a standby started too early): each comment once.
    @Test func twoRecordersAtOnceStoreEachCommentOnce() throws {
        let url = try database()
        let group = DispatchGroup()
        let failures = CommentStoreConcurrencyTests.Failures()
        for _ in 0..<2 {
            group.enter()
            Thread {
                do {
                    let store = try PostgresCommentStore(url: url)
                    for start in stride(from: 1, through: 1000, by: 100) { try store.store((UInt64(start)...UInt64(start + 99)).map { event($0) }) }
                } catch {
                    failures.add("\(error)")
                }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(failures.all.isEmpty, "\(failures.all)")
        let store = try PostgresCommentStore(url: url)
        let counts = try store.counts()
        #expect(counts.rows == 1000 && counts.distinctEvents == 1000)
        #expect(try store.lastSeq() == 1000)
    }

    /// The server restarted under the recorder: the batch in flight fails, the next try reconnects and stores it.
    @Test func aLostConnectionIsReopened() throws {
        let store = try PostgresCommentStore(url: try database())
        try store.store([event(1)])
        server.stop()
        #expect(throws: (any Error).self) { try store.store([event(2)]) }
        try server.start()
        try store.store([event(2)])
        #expect(try store.lastSeq() == 2 && store.counts().rows == 2)
    }
}

@Suite(.ownThreads)
struct PostgresLocationTests {
    @Test func theLocationHidesThePassword() {
        #expect(PostgresCommentStore.redacted("postgres://rec:s3cret@db.example/crm") == "postgres://rec:***@db.example/crm")
        #expect(PostgresCommentStore.redacted("postgres://rec@db.example/crm") == "postgres://rec@db.example/crm")
    }
}
