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
    /// While true, each `store` waits for a `gate` signal.
    let held: Mutex<Bool>

    init(_ inner: CommentStore, failures: Int = 0, held: Bool = false) {
        self.inner = inner
        self.held = Mutex(held)
        failuresLeft.withLock { $0 = failures }
    }

    var location: String { inner.location }
    func lastSeq() throws -> UInt64 { try inner.lastSeq() }
    func comments(callID: String?, _ body: (CommentStore.Row) -> Void) throws { try inner.comments(callID: callID, body) }
    func counts() throws -> (rows: Int, distinctEvents: Int, distinctSeqs: Int) { try inner.counts() }
    func store(_ events: [RecordedEvent]) throws {
        calls.withLock { $0.append(events.first!.seq...events.last!.seq) }
        if held.withLock({ $0 }) { gate.wait() }
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
        // Each store call continues the last, whatever batches were merged into it.
        let calls = store.calls.withLock { $0 }
        #expect(calls.first?.lowerBound == 1 && calls.last?.upperBound == 1000)
        #expect(zip(calls, calls.dropFirst()).allSatisfy { $0.upperBound + 1 == $1.lowerBound })
    }

    /// Batches handed over while the store is busy join the one waiting (group commit), up to the merge limit;
    /// a batch waits `commitDelay` for company before it is stored.
    @Test func batchesArrivingDuringACommitShareTheNext() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = HeldStore(try CommentStore(path: dir.appendingPathComponent("c.sqlite").path), held: true)
        let writer = BatchWriter(store: store, depth: 2, mergeLimit: 25, commitDelay: 0, logger: logger)
        try writer.submit(batch(1...1))
        let deadline = Date().addingTimeInterval(10)
        while store.calls.withLock({ $0.isEmpty }), Date() < deadline { usleep(1_000) }  // 1...1 is in the store's hands
        // 2...26 (25 events) merge into the batch waiting; 27 finds two batches held and waits for the store.
        let submitted = Mutex<UInt64>(1)
        let feedDone = DispatchSemaphore(value: 0)
        Thread {
            for seq in UInt64(2)...40 {
                try? writer.submit(batch(seq...seq))
                submitted.withLock { $0 = seq }
            }
            feedDone.signal()
        }.start()
        while submitted.withLock({ $0 }) < 26, Date() < deadline { usleep(1_000) }
        usleep(200_000)
        #expect(submitted.withLock { $0 } == 26)
        // 1...1 goes; 2...26 is then held in the store while 27...40 all join the next batch.
        store.gate.signal()
        #expect(feedDone.wait(timeout: .now() + 10) == .success)
        store.held.withLock { $0 = false }
        store.gate.signal()
        writer.finish()
        #expect(store.calls.withLock { $0 } == [1...1, 2...26, 27...40])
        #expect(try store.lastSeq() == 40)

        // Without a held store: single events a millisecond apart, 50 ms of commit delay, fewer commits than events.
        let second = HeldStore(try CommentStore(path: dir.appendingPathComponent("d.sqlite").path))
        let grouping = BatchWriter(store: second, commitDelay: 0.05, logger: logger)
        for seq in UInt64(1)...100 {
            try grouping.submit(batch(seq...seq))
            usleep(1_000)
        }
        grouping.finish()
        #expect(try second.lastSeq() == 100)
        #expect(second.calls.withLock { $0.count } < 50, "\(second.calls.withLock { $0 })")
    }

    @Test func aFailedBatchIsStoredAgainOnceAndNothingAfterItIsLost() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = HeldStore(try CommentStore(path: dir.appendingPathComponent("c.sqlite").path), failures: 2)
        let writer = BatchWriter(store: store, depth: 2, mergeLimit: 100, retryInterval: 0.05, logger: logger)
        try writer.submit(batch(1...5))
        let deadline = Date().addingTimeInterval(10)
        while store.calls.withLock({ $0.isEmpty }), Date() < deadline { usleep(1_000) }
        try writer.submit(batch(6...10))  // does not join the batch being retried
        while (try? store.lastSeq()) != 10, Date() < deadline { usleep(5_000) }  // (finish would end the retries)
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
        let writer = BatchWriter(store: store, depth: 2, mergeLimit: 10, logger: logger)
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
