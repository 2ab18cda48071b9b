import Foundation
import Logging
import Synchronization
import TestSupport
import Testing
import EventFeed
@testable import Recorder
import Routing

/// A real SQLite store whose `store` is held or made to fail by the test, to see what the writer does then.
private final class HeldStore: CommentStorage, @unchecked Sendable {
    let inner: CommentStore
    /// Calls of `store` that throw before one goes through.
    let failuresLeft = Mutex(0)
    let calls = Mutex<[ClosedRange<UInt64>]>([])
    let gate = DispatchSemaphore(value: 0)
    let held: Bool

    init(_ inner: CommentStore, failures: Int = 0, held: Bool = false) {
        self.inner = inner
        self.held = held
        failuresLeft.withLock { $0 = failures }
    }

    var location: String { inner.location }
    func lastSeq() throws -> UInt64 { try inner.lastSeq() }
    func comments(callID: String?, _ body: (CommentStore.Row) -> Void) throws { try inner.comments(callID: callID, body) }
    func counts() throws -> (rows: Int, distinctEvents: Int, distinctSeqs: Int) { try inner.counts() }
    func store(_ events: [RecordedEvent]) throws {
        calls.withLock { $0.append(events.first!.seq...events.last!.seq) }
        if held { gate.wait() }
        let fail = failuresLeft.withLock { left in
            defer { left = max(0, left - 1) }
            return left > 0
        }
        if fail { throw CocoaError(.fileWriteOutOfSpace) }
        try inner.store(events)
    }
}

private func batch(_ seqs: ClosedRange<UInt64>, comment: String = "Угроза расторжения") -> [RecordedEvent] {
    seqs.map { RecordedEvent(event($0, comment: comment).event) }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct BatchWriterTests {
    let dir = temporaryFolder("writer")
    var logger: Logger { Logger(label: "test") }

    @Test func storesEveryBatchInOrderBeforeFinishReturns() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = HeldStore(try CommentStore(path: dir.appendingPathComponent("c.sqlite").path))
        let writer = BatchWriter(store: store, depth: 2, logger: logger)
        for start in stride(from: UInt64(1), through: 991, by: 10) { try writer.submit(batch(start...start + 9)) }
        writer.finish()
        #expect(try store.lastSeq() == 1000)
        #expect(try store.counts().rows == 1000)
        #expect(store.calls.withLock { $0 } == stride(from: UInt64(1), through: 991, by: 10).map { $0...$0 + 9 })
    }

    @Test func aFailedBatchIsStoredAgainOnceAndNothingAfterItIsLost() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = HeldStore(try CommentStore(path: dir.appendingPathComponent("c.sqlite").path), failures: 2)
        let writer = BatchWriter(store: store, depth: 1, retryInterval: 0.05, logger: logger)
        try writer.submit(batch(1...5))
        try writer.submit(batch(6...10))
        writer.finish()
        // Tried three times (two failures), then the next batch: each row once.
        #expect(store.calls.withLock { $0 } == [1...5, 1...5, 1...5, 6...10])
        let counts = try store.counts()
        #expect(counts.rows == 10 && counts.distinctSeqs == 10)
        #expect(try store.lastSeq() == 10)
    }

    @Test func masksTheCommentOnceWhereverItIsMasked() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = HeldStore(try CommentStore(path: dir.appendingPathComponent("c.sqlite").path))
        let writer = BatchWriter(store: store, logger: logger)
        let clear = batch(1...1, comment: "карта 5500 0000 0000 0004")
        #expect(!clear[0].commentIsMasked)
        let masked = clear.map { $0.maskingComment() }
        #expect(masked[0].commentIsMasked && masked[0].comment == "карта **** **** **** 0004")
        try writer.submit(masked)
        try writer.submit(batch(2...2, comment: "карта 5500 0000 0000 0004"))  // not masked before: the store masks it
        writer.finish()
        var comments: [Value] = []
        try store.comments(callID: nil) { row in comments.append(row.fields.first { $0.0 == "comment" }!.1) }
        #expect(comments == [.string("карта **** **** **** 0004"), .string("карта **** **** **** 0004")])
    }

    @Test func boundedCloseFreesAWaitingFeedAndWhatWaitsIsLeftToReplay() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = HeldStore(try CommentStore(path: dir.appendingPathComponent("c.sqlite").path), held: true)
        let writer = BatchWriter(store: store, depth: 2, logger: logger)
        let submitted = Mutex(0)
        let feedDone = DispatchSemaphore(value: 0)
        let feed = Thread {
            for start in stride(from: UInt64(1), through: 91, by: 10) {
                do { try writer.submit(batch(start...start + 9)) } catch { break }
                submitted.withLock { $0 += 1 }
            }
            feedDone.signal()
        }
        feed.start()
        // The first batch is in the (held) store and the second waits: depth 2 counts both, so the third blocks.
        let deadline = Date().addingTimeInterval(10)
        while submitted.withLock({ $0 }) < 2, Date() < deadline { usleep(10_000) }
        usleep(200_000)
        #expect(submitted.withLock { $0 } == 2)
        writer.close()
        #expect(feedDone.wait(timeout: .now() + 10) == .success)  // the blocked submit threw Closed
        #expect(submitted.withLock { $0 } == 2)
        // Released, the held batch and the one waiting are stored; nothing after them was taken.
        for _ in 0..<2 { store.gate.signal() }
        writer.finish()
        #expect(try store.lastSeq() == 20)
        #expect(try store.counts().rows == 20)
    }

    @Test func aStoreFailingWhileClosingEndsTheWriterWithTheRestUnstored() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = HeldStore(try CommentStore(path: dir.appendingPathComponent("c.sqlite").path), failures: 1_000_000)
        let writer = BatchWriter(store: store, depth: 2, retryInterval: 0.05, logger: logger)
        try writer.submit(batch(1...5))
        try writer.submit(batch(6...10))
        writer.finish()  // returns although the store never succeeds
        #expect(try store.lastSeq() == 0)
        #expect(throws: BatchWriter.Closed.self) { try writer.submit(batch(11...12)) }
    }
}
