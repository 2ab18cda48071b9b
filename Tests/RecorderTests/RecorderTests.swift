import Foundation
import GRDB
import Logging
import TestSupport
import Testing
@testable import Engine
import EventFeed
@testable import Recorder
import Routing
import Wire
import ZeroMQ

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func temporaryFolder(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// An event as the engine publishes it: a real decision, encoded by the real encoder, decoded as the feed does.
func event(_ seq: UInt64, comment: String = "Угроза расторжения", call: String? = nil) -> FeedEvent {
    let decision = Decision(action: .transfer, target: .init(id: "retention", address: "cti:retention", via: .cti, mode: .blind), case: nil,
                            procedure: nil, reason: nil, rule: "termination.insists", phrases: ["Фраза"], comment: comment, checks: [],
                            validUntil: nil, validUntilOffset: 0, trace: [])
    let at = Timestamp.parse("2026-11-23T12:00:00+03:00")!
    let published = DecisionEvent(seq: seq, eventID: "j-\(seq)", at: at.instant, atOffset: at.offsetSeconds, callID: call ?? "c-\(seq)",
                                  table: "retention-ru", tableVersion: "v1", decision: decision)
    var w = JSONWriter()
    published.encode(into: &w)
    return FeedEvent(try! Wire.DecodedEvent(json: w.bytes))
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct CommentStoreTests {
    @Test func storesOnceAndRemembersTheLastSeq() throws {
        let dir = temporaryFolder("store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.sqlite").path
        let store = try CommentStore(path: path)
        #expect(try store.lastSeq() == 0)
        try store.store((1...100).map { event($0) })
        try store.store((50...120).map { event($0) })  // overlapping: replayed after a crash
        #expect(try store.lastSeq() == 120)
        let counts = try store.counts()
        #expect(counts.rows == 120 && counts.distinctEvents == 120 && counts.distinctSeqs == 120)
        // A new process (a new connection) sees the same.
        let reopened = try CommentStore(path: path)
        #expect(try reopened.lastSeq() == 120)
    }

    @Test func masksCommentsBeforeStoring() throws {
        let dir = temporaryFolder("store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CommentStore(path: dir.appendingPathComponent("c.sqlite").path)
        try store.store([event(1, comment: "карта 5500 0000 0000 0004, код из SMS 4821", call: "x")])
        var rows: [CommentStore.Row] = []
        try store.comments(callID: "x") { rows.append($0) }
        #expect(rows.count == 1)
        let comment = rows[0].fields.first { $0.0 == "comment" }?.1
        #expect(comment == .string("карта **** **** **** 0004, код из SMS ****"))
        #expect(rows[0].fields.first { $0.0 == "phrases" }?.1 == .array([.string("Фраза")]))
    }

    @Test func usesWALAndFullSync() throws {
        let dir = temporaryFolder("store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try CommentStore(path: dir.appendingPathComponent("c.sqlite").path)
        let pragmas = try store.pragmas()
        #expect(pragmas.journalMode == "wal")
        #expect(pragmas.synchronous == 2)  // FULL
    }

    /// A file a recorder made before v2 (four B-trees a row) is moved to the table keyed by `seq`: every row,
    /// the last `seq` and the call index kept; storing replayed events again changes nothing.
    @Test func aVersionOneFileIsMigratedWithEveryRow() throws {
        let dir = temporaryFolder("store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.sqlite").path
        do {
            let v1 = try DatabaseQueue(path: path)
            try CommentStore.migrator.migrate(v1, upTo: "v1: comments and progress")
            try v1.write { db in
                for e in (1...50).map({ RecordedEvent(event($0, comment: "карта **** **** **** 0004", call: $0 % 2 == 0 ? "even" : "odd").event) }) {
                    try db.execute(sql: "INSERT INTO comment (\(CommentColumns.names.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: CommentColumns.names.count).joined(separator: ", ")))",
                                   arguments: StatementArguments(CommentColumns.values(e, storedAt: "2026-11-23T12:00:00.000Z")))
                }
                try db.execute(sql: "UPDATE progress SET last_seq = 50")
            }
            #expect(try v1.read { try String.fetchOne($0, sql: "SELECT name FROM pragma_table_info('comment') WHERE pk = 1") } == "event_id")
        }
        let store = try CommentStore(path: path)
        #expect(try store.lastSeq() == 50)
        var evens: [Value] = []
        try store.comments(callID: "even") { row in evens.append(row.fields.first { $0.0 == "seq" }!.1) }
        #expect(evens == stride(from: 2, through: 50, by: 2).map { .number(Double($0)) })
        let schema = try DatabaseQueue(path: path).read { db in
            (try String.fetchOne(db, sql: "SELECT name FROM pragma_table_info('comment') WHERE pk = 1"),
             try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list('comment') ORDER BY name"))
        }
        #expect(schema.0 == "seq")
        #expect(schema.1 == ["comment_on_call_id", "sqlite_autoindex_comment_1"])  // call_id, and event_id unique
        try store.store((40...60).map { event($0) })  // replayed over the migrated rows
        let counts = try store.counts()
        #expect(counts.rows == 60 && counts.distinctEvents == 60 && counts.distinctSeqs == 60)
        #expect(try store.lastSeq() == 60)
    }
}

/// The feed against a real engine on loopback.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EventFeedTests {
    final class Harness: @unchecked Sendable {  // the engine is thread-safe; the context too
        let tables = temporaryFolder("tables")
        let data = temporaryFolder("data")
        let engine: Engine
        let context = try! Context()

        init() throws {
            try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("routing-tables/retention-ru.yaml"),
                                             to: tables.appendingPathComponent("retention-ru.yaml"))
            var c = EngineConfiguration()
            c.tablesDirectory = tables.path
            c.dataDirectory = data.path
            for kp in [\EngineConfiguration.queryEndpoint, \.eventsEndpoint, \.replayEndpoint, \.controlEndpoint] { c[keyPath: kp] = "tcp://127.0.0.1:*" }
            c.heartbeatInterval = .milliseconds(100)
            var logger = Logger(label: "test")
            logger.logLevel = .error
            engine = try Engine(configuration: c, logger: logger)
            try engine.start()
        }

        func decide(_ count: Int, from: Int = 0) throws {
            let dealer = try Socket(context, .dealer)
            try dealer.set(.linger, Int32(0))
            try dealer.set(.receiveTimeout, Int32(10_000))
            try dealer.connect(engine.snapshot.queryEndpoint)
            for n in from..<(from + count) {
                try dealer.send(#"{"id":\#(n),"table":"retention-ru","call":{"call_id":"f-\#(n)","topic":"termination","facts":{"insists":true}}}"#)
            }
            for _ in 0..<count { _ = try dealer.receiveMultipart() }
            dealer.close()
        }

        var feedConfiguration: EventFeed.Configuration {
            var f = EventFeed.Configuration()
            f.eventsEndpoint = engine.snapshot.eventsEndpoint
            f.replayEndpoint = engine.snapshot.replayEndpoint
            f.replayBatch = 37  // several replay rounds
            return f
        }

        deinit {
            engine.stop()
            engine.wait()
            try? FileManager.default.removeItem(at: tables)
            try? FileManager.default.removeItem(at: data)
        }
    }

    /// Runs a feed on its own thread until `until` says stop, collecting what it delivers.
    func collect(_ h: Harness, after: UInt64, until: @escaping @Sendable ([UInt64]) -> Bool, failFirst: Bool = false,
                 catchUpBatch: Int = 1, seen: Seen = Seen()) throws -> [UInt64] {
        var logger = Logger(label: "feed")
        logger.logLevel = .critical
        var configuration = h.feedConfiguration
        configuration.catchUpBatch = catchUpBatch
        let feed = EventFeed(configuration: configuration, after: after, logger: logger)
        let thread = Thread {
            try? feed.run { batch in
                if failFirst && seen.failOnce() { throw CancellationError() }
                seen.add(batch.map(\.seq))
                if until(seen.all) { feed.stop() }
            }
            seen.finish()
        }
        thread.start()
        #expect(seen.wait(seconds: 30), "the feed did not finish; got \(seen.all.count) events")
        feed.stop()
        return seen.all
    }

    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var seqs: [UInt64] = []
        private var sizes: [Int] = []
        /// The size of each batch delivered.
        var batchSizes: [Int] { lock.lock(); defer { lock.unlock() }; return sizes }
        private var failed = false
        private let done = DispatchSemaphore(value: 0)
        var all: [UInt64] { lock.lock(); defer { lock.unlock() }; return seqs }
        func add(_ s: [UInt64]) { lock.lock(); seqs += s; sizes.append(s.count); lock.unlock() }
        func failOnce() -> Bool { lock.lock(); defer { lock.unlock() }; if failed { return false }; failed = true; return true }
        func finish() { done.signal() }
        func wait(seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
    }

    @Test func catchesUpFromTheJournalThenFollowsLive() throws {
        let h = try Harness()
        try h.decide(300)
        let background = Thread { try? h.decide(200, from: 300) }
        background.start()
        let seqs = try collect(h, after: 0) { $0.count >= 500 }
        #expect(seqs == Array(1...500))
    }

    @Test func resumesAfterTheLastSeqHandled() throws {
        let h = try Harness()
        try h.decide(100)
        let seqs = try collect(h, after: 60) { $0.count >= 40 }
        #expect(seqs == Array(61...100))
    }

    /// Replies of 37 events each, gathered into batches of up to 200 while catching up; nothing lost or repeated.
    @Test func catchingUpGathersRepliesIntoLargerBatches() throws {
        let h = try Harness()
        try h.decide(450)
        let seen = Seen()
        let seqs = try collect(h, after: 0, until: { $0.count >= 450 }, catchUpBatch: 200, seen: seen)
        #expect(seqs == Array(1...450))
        #expect(seen.batchSizes.max() ?? 0 > 37 && seen.batchSizes.max() ?? 0 <= 200 + 37, "\(seen.batchSizes)")
    }

    @Test func aFailedBatchIsOfferedAgain() throws {
        let h = try Harness()
        try h.decide(50)
        let seqs = try collect(h, after: 0, until: { $0.count >= 50 }, failFirst: true)
        #expect(seqs == Array(1...50))
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct CommentStoreConcurrencyTests {
    /// The recorder and `switchboard comments` open (and migrate) the same file at once: neither fails.
    @Test func concurrentOpensWaitForEachOther() throws {
        let dir = temporaryFolder("concurrent")
        defer { try? FileManager.default.removeItem(at: dir) }
        for round in 0..<20 {
            let path = dir.appendingPathComponent("c-\(round).sqlite").path
            let failures = Failures()
            let group = DispatchGroup()
            for _ in 0..<4 {
                group.enter()
                Thread {
                    do {
                        let store = try CommentStore(path: path)
                        try store.store([event(1)])
                    } catch {
                        failures.add("\(error)")
                    }
                    group.leave()
                }.start()
            }
            group.wait()
            #expect(failures.all.isEmpty, "round \(round): \(failures.all)")
        }
    }

    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []
        func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
    }
}
