import EngineCore
import Foundation
import LocalPostgres
import Logging
import PostgresStore
import Routing
import Storage
import TestSupport
import Testing
import Wire

/// Several engine cores on one PostgreSQL store (a real server each test starts itself): one `seq`, keys,
/// sessions and the CTI incident shared, the database's loss answered `unavailable`.
@Suite(.ownThreads, .timeLimit(.minutes(5))) struct SharedStoreTests {
    let server: LocalPostgresServer

    init() throws { server = try LocalPostgresServer() }

    final class Engine {
        let store: PostgresStore
        let core: EngineCore

        init(_ url: String) throws {
            var logger = Logger(label: "test.shared")
            logger.logLevel = .critical
            store = try PostgresStore(url: url, logger: logger)
            store.reconnectInterval = .milliseconds(50)
            let keys = try IdempotencyKeys(directory: nil, journalLastSeq: 0, now: Harness.now, logger: logger)
            core = EngineCore(tables: Harness.tables, store: store, keys: keys, logger: logger)
        }

        func ask(_ bodies: [String], now: Instant = Harness.now) -> (replies: [Value], events: [EngineCore.Published]) {
            let batch = core.handle(bodies.map { Array($0.utf8) }, now: now)
            return (batch.replies.map { try! JSONReader.parse($0) }, batch.events)
        }

        func control(_ body: String) -> Value? {
            guard case .reply(let bytes) = core.control(Array(body.utf8), now: .now) else { return nil }
            return try? JSONReader.parse(bytes)
        }

        /// What `control health` says of the CTI incident.
        var reportedIncident: Value? {
            (try? JSONReader.parse(core.health(uptimeSeconds: nil, now: Harness.now)))?["cti_incident"]
        }
    }

    /// Every event in the journal, through `engine`'s replay, page by page.
    func replayAll(_ engine: Engine) throws -> [Value] {
        var all: [Value] = []
        while true {
            let reply = try JSONReader.parse(engine.core.replay(Array(#"{"from_seq":\#(all.count + 1)}"#.utf8)), limits: .trusted)
            guard case .array(let events)? = reply["events"], !events.isEmpty else { return all }
            all += events
        }
    }

    @Test func seqIsOneSequenceAcrossEnginesAndReplayWorksFromAny() throws {
        let a = try Engine(server.url), b = try Engine(server.url)
        let first = a.ask([query(id: 1), query(id: 2)])
        let second = b.ask([query(id: 3), "not json", query(id: 4), query(id: 5)])
        let third = a.ask([query(id: 6)])
        #expect(first.replies.map { $0["seq"] } == [.number(1), .number(2)])
        #expect(second.replies.map { $0["seq"] } == [.number(3), nil, .number(4), .number(5)])
        #expect(third.replies.map { $0["seq"] } == [.number(6)])
        // One journal id for the deployment: event ids never collide between engines.
        #expect(a.store.journalID == b.store.journalID)
        #expect(second.replies[0]["event_id"] == .string("\(a.store.journalID)-3"))
        let published = (first.events + second.events + third.events).map { try! JSONReader.parse($0.event) }
        #expect(try replayAll(b) == published)
        #expect(try replayAll(a) == published)
    }

    @Test func aKeyAnsweredByOneEngineIsAnsweredIdenticallyByAnother() throws {
        let a = try Engine(server.url), b = try Engine(server.url)
        let original = a.ask([query(id: 1, key: "k-1")])
        let retried = b.ask([query(id: 7, key: "k-1", callID: "c-1")])
        #expect(retried.events.isEmpty)
        #expect(retried.replies[0]["id"] == .number(7))
        for field in ["seq", "event_id", "decision"] { #expect(retried.replies[0][field] == original.replies[0][field]) }
        let other = b.ask([query(id: 8, key: "k-1", callID: "c-1", insists: false)])
        #expect(other.replies[0]["error"]?["code"] == .string("idempotency_key_reused"))
        // Nothing was decided twice: one event in the journal.
        #expect(try replayAll(a).count == 1)
    }

    @Test func aPlaybookSessionAdvancedInTurnAcrossEnginesKeepsEveryStep() throws {
        let a = try Engine(server.url), b = try Engine(server.url)
        func alert(_ id: Int, _ outcome: String?) -> String {
            let reported = outcome.map { #","outcome":"\#($0)""# } ?? ""
            return #"{"id":\#(id),"table":"es-fraud-alerts","at":"2026-11-23T10:00:00+01:00","call":{"call_id":"out-\#(id)","topic":"alert","customer":{"id":"C1","landline":true,"office":"oficina"},"facts":{"alert_id":"A1","operation":"OP1"\#(reported)}}}"#
        }
        func step(_ r: (replies: [Value], events: [EngineCore.Published])) -> [Value?] {
            [r.replies[0]["decision"]?["playbook"]?["step"], r.replies[0]["decision"]?["playbook"]?["attempt"], r.replies[0]["decision"]?["playbook"]?["done"]]
        }
        #expect(step(a.ask([alert(1, nil)])) == [.string("contact"), .number(1), .bool(false)])
        #expect(step(b.ask([alert(2, "no_answer")])) == [.string("contact"), .number(2), .bool(false)])
        #expect(step(a.ask([alert(3, "no_answer")])) == [.string("contact"), .number(3), .bool(false)])
        #expect(step(b.ask([alert(4, "no_answer")])) == [.string("no_answer"), .number(1), .bool(true)])
        // A third engine started afterwards sees the finished session too.
        let c = try Engine(server.url)
        _ = c.ask([query(id: 9)])
        #expect(c.core.sessions.sessions.values.first?.history.map(\.outcome) == ["no_answer", "no_answer", "no_answer"])
    }

    @Test func aCTIIncidentDeclaredThroughOneEngineHoldsForAll() throws {
        let a = try Engine(server.url), b = try Engine(server.url)
        #expect(b.ask([query(id: 1)]).replies[0]["decision"]?["target"]?["via"] != .string("number"))
        #expect(a.control(#"{"cmd":"cti_incident","on":true}"#)?["cti_incident"] == .bool(true))
        // Health on the other engine says so before that engine has decided anything since.
        #expect(b.reportedIncident == .bool(true))
        #expect(b.ask([query(id: 2)]).replies[0]["decision"]?["target"]?["via"] == .string("number"))
        #expect(b.control(#"{"cmd":"cti_incident","on":false}"#)?["cti_incident"] == .bool(false))
        #expect(a.reportedIncident == .bool(false))
        #expect(a.ask([query(id: 3)]).replies[0]["decision"]?["target"]?["via"] != .string("number"))
    }

    /// At start-up an unreachable database is tried `startupAttempts` times, each failure but the last logged,
    /// before the store gives up with the connection's error (nothing listens on port 1 here).
    @Test func aStartNeverReachingTheDatabaseTriesAFewTimesThenFails() throws {
        let log = LogCapture()
        let started = ContinuousClock.now
        let error = #expect(throws: StorageError.self) {
            try PostgresStore(url: "postgresql://switchboard@127.0.0.1:1/switchboard?connect_timeout=2", logger: log.logger)
        }
        #expect(error?.code == .database && "\(error!)".contains("postgres connection error"), "\(String(describing: error))")
        let warnings = log.lines(atLeast: .warning)
        #expect(warnings.count == PostgresStore.startupAttempts - 1, "\(warnings)")
        #expect(warnings.allSatisfy { $0.contains("not reachable yet") })
        #expect(ContinuousClock.now - started >= .seconds(PostgresStore.startupAttempts - 1))
    }

    @Test func anUnreachableDatabaseIsAnsweredUnavailableAndRecoveredFromByItself() throws {
        let a = try Engine(server.url)
        #expect(a.ask([query(id: 1, key: "x-1")]).replies[0]["seq"] == .number(1))
        server.stop()
        let refused = a.ask([query(id: 2, key: "x-2"), query(id: 3)])
        #expect(refused.events.isEmpty)
        #expect(refused.replies.map { $0["error"]?["code"] } == [.string("unavailable"), .string("unavailable")])
        #expect(a.core.unavailableReason != nil)
        try server.start()
        var answered: (replies: [Value], events: [EngineCore.Published])?
        for _ in 0..<100 {
            let r = a.ask([query(id: 2, key: "x-2")])
            if r.replies[0]["seq"] != nil { answered = r; break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(answered?.replies[0]["seq"] == .number(2))
        #expect(a.core.unavailableReason == nil)
        #expect(try replayAll(a).count == 2)
    }

    @Test func enginesDecidingAtOnceNeverRepeatOrSkipASeq() throws {
        let url = server.url
        let engines = try (0..<3).map { _ in try Engine(url) }
        let seqs = ManagedSeqs()
        DispatchQueue.concurrentPerform(iterations: engines.count) { e in
            for batch in 0..<40 {
                let r = engines[e].ask((0..<5).map { query(id: e * 1000 + batch * 5 + $0) })
                seqs.add(r.events.map(\.seq))
            }
        }
        #expect(seqs.all.sorted() == Array(1...600))
        #expect(try replayAll(engines[0]).count == 600)
    }
}

/// Each engine is used by one thread at a time (the concurrent test gives each its own).
extension SharedStoreTests.Engine: @unchecked Sendable {}

/// Seqs collected from several threads.
final class ManagedSeqs: @unchecked Sendable {
    private let lock = NSLock()
    private var seqs: [UInt64] = []
    func add(_ more: [UInt64]) { lock.withLock { seqs += more } }
    var all: [UInt64] { lock.withLock { seqs } }
}
