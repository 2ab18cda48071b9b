import Foundation
import LocalPostgres
import Postgres
import Routing
import TestSupport
import Testing
import Wire

/// `switchboard serve --store postgres://…` as separate processes sharing one real PostgreSQL server.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct SharedStoreProcessTests {
    func keyed(_ id: Int, key: String) -> String {
        #"{"id":\#(id),"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","idempotency_key":"\#(key)","call":{"call_id":"shared-1","topic":"termination","facts":{"insists":true}}}"#
    }

    /// Engine A is killed with SIGKILL under load; everything it answered is in the shared journal, engine B
    /// answers A's key with A's decision, A comes back, and `seq` is one sequence without gap or repeat.
    @Test func killNineOnOneEngineLosesNothingAndAnotherAnswersItsKeys() throws {
        let server = try LocalPostgresServer()
        let folderA = temporaryFolder(), folderB = temporaryFolder()
        defer { for f in [folderA, folderB] { try? FileManager.default.removeItem(at: f) } }
        // The engine's 3 s connect timeout is for a network cut; here a CI machine running the whole suite once took
        // longer than that to accept a local connection at start-up, and the test is about a kill, not a cut.
        let store = ["--store", server.url + "&connect_timeout=15"]
        var a: ServeProcess? = try ServeProcess(data: folderA, extra: store)
        let b = try ServeProcess(data: folderB, extra: store)

        let first = try #require(try askOnce(a!.endpoints["query"]!, keyed(1, key: "failover-1")))
        let answeredByA = try LoadClient.run(endpoint: a!.endpoints["query"]!, killAfter: 300) { a!.signal(SIGKILL) }
        #expect(a!.waitForExit() != nil)
        #expect(answeredByA.count >= 300)

        // The client's retry goes to B with the same key: A's answer, nothing decided again.
        // Patient: B may wait for PostgreSQL to notice A's connection is gone (the whole suite on two cores once
        // took longer than the usual 3 s); what is tested is the answer, not its speed.
        let retried = try #require(try askOnce(b.endpoints["query"]!, keyed(2, key: "failover-1"), timeout: 20_000))
        #expect(retried["id"] == .number(2))
        for field in ["seq", "event_id", "decision"] { #expect(retried[field] == first[field]) }
        let answeredByB = try LoadClient.run(endpoint: b.endpoints["query"]!, total: 100)
        #expect(answeredByB.count == 100)

        a = try ServeProcess(data: folderA, extra: store)
        let again = try LoadClient.run(endpoint: a!.endpoints["query"]!, total: 50)
        #expect(again.count == 50)
        for engine in [a!, b] { engine.signal(SIGTERM); #expect(engine.waitForExit() == 0) }

        let db = try PostgresConnection(server.url)
        let rows = try db.execute("SELECT seq, event FROM switchboard_events ORDER BY seq")
        let seqs = rows.map { Int($0[0] ?? "") ?? -1 }
        #expect(seqs == Array(1...seqs.count), "seq has a gap or a repeat")
        #expect(try db.execute("SELECT last_seq FROM switchboard_head").rows == [[String(seqs.count)]])
        // Killed mid-batch, A may have committed decisions it never answered; never fewer than answered.
        #expect(seqs.count >= 1 + answeredByA.count + 100 + 50)
        let events = rows.compactMap { try? JSONReader.parse(Array(($0[1] ?? "").utf8), limits: .trusted) }
        let keyed = events.filter { $0["idempotency_key"] == .string("failover-1") }
        #expect(keyed.count == 1)
        let journalled = Set(events.compactMap { $0["call_id"]?.text })
        #expect(answeredByA.isSubset(of: journalled), "answered by A but not journalled: \(answeredByA.subtracting(journalled).sorted().prefix(5))")
    }
}
