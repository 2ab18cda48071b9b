import EventFeed
import Foundation
import Logging
import ServiceThread

/// Stores batches on a thread of its own, in order, so the feed reads and masks the next batch while the
/// store commits this one: reading and storing each take about half of a recorder's time, and one thread
/// doing both left the second core idle (docs/PERFORMANCE.md, "The recorder on two threads").
///
/// Bounded: at most `depth` batches are held, the one being stored among them, each of at most `mergeLimit`
/// events unless the feed handed over a larger one (a batch handed over joins the last one waiting while
/// it fits); ``submit(_:)`` blocks the feed until one is stored, so a slow disk slows the feed (which then
/// catches up by replay) instead of growing memory. Nothing is acknowledged from here: the store's own last
/// `seq`, written with each batch, is where a restarted recorder resumes, so batches still held when the
/// process dies are replayed, never lost.
final class BatchWriter: @unchecked Sendable {
    private let store: any CommentStorage
    private let logger: Logger
    private let depth: Int
    /// A batch handed over while another is being stored joins the one waiting, up to this many events, so
    /// live events arriving one by one share a commit (each waits for `fdatasync`) instead of one each.
    private let mergeLimit: Int
    /// How long a batch smaller than `mergeLimit` waits for more before it is stored: group commit. Live
    /// events come one by one, and a commit each (with its `fdatasync`) was most of the recorder's CPU at
    /// 2,000 events a second; the journal holds them meanwhile, so waiting loses nothing.
    private let commitDelay: TimeInterval
    /// How long a failed batch waits before it is stored again.
    private let retryInterval: TimeInterval
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var waiting: [[RecordedEvent]] = []
    /// Whether `waiting.first` is in the store's hands (and must not grow).
    private var storing = false
    private var closed = false
    private var running = true

    /// What ``submit(_:)`` throws once the writer is closed.
    struct Closed: Error {}

    init(store: any CommentStorage, depth: Int = 2, mergeLimit: Int = 10_000, commitDelay: TimeInterval = 0.005,
         retryInterval: TimeInterval = 1, logger: Logger) {
        precondition(depth >= 1)
        self.store = store
        self.depth = depth
        self.mergeLimit = mergeLimit
        self.commitDelay = commitDelay
        self.retryInterval = retryInterval
        self.logger = logger
        let thread = Thread { [self] in
            nameCurrentThread("recorder-store")
            storeUntilClosed()
        }
        thread.start()
    }

    /// Hands a batch over, waiting while `depth` batches are already held.
    /// - Throws: ``Closed`` once ``close()`` was called (the batch is not stored).
    func submit(_ batch: [RecordedEvent]) throws {
        guard !batch.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        while true {
            guard !closed else { throw Closed() }
            // The feed hands batches over in `seq` order, so the last one held is the one this continues.
            if let last = waiting.indices.last, !(last == 0 && storing), waiting[last].count + batch.count <= mergeLimit {
                waiting[last].append(contentsOf: batch)
                condition.broadcast()  // a store thread gathering for `commitDelay` stops once the batch is full
                return
            }
            if waiting.count < depth { break }
            condition.wait()
        }
        waiting.append(batch)
        condition.broadcast()
    }

    /// Takes no more batches; what waits is still stored, unless storing it fails. Never blocks, so a stop
    /// request may call it to free a feed waiting in ``submit(_:)``.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Closes, and returns when what was waiting is stored (or failed to be) and the thread has ended.
    func finish() {
        close()
        condition.lock()
        while running { condition.wait() }
        condition.unlock()
    }

    private func storeUntilClosed() {
        var failing = false
        defer {
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            while waiting.isEmpty, !closed { condition.wait() }
            // A small batch waits for company; a batch being retried (still `storing`) does not wait again.
            let gatherUntil = Date(timeIntervalSinceNow: commitDelay)
            while !storing, let first = waiting.first, first.count < mergeLimit, !closed, condition.wait(until: gatherUntil) {}
            guard let batch = waiting.first else {
                condition.unlock()
                return
            }
            storing = true
            condition.unlock()
            do {
                try store.store(batch)
                if failing { logger.notice("stored again after a failure", metadata: ["through_seq": "\(batch.last!.seq)"]) }
                failing = false
                logger.debug("stored", metadata: ["through_seq": "\(batch.last!.seq)", "rows": "\(batch.count)"])
                condition.lock()
                waiting.removeFirst()
                storing = false
                condition.broadcast()
                condition.unlock()
            } catch {
                condition.lock()
                defer { condition.unlock() }
                if closed {
                    let left = waiting.reduce(0) { $0 + $1.count }
                    logger.error("stopping with \(left) events not stored; the next start replays them: \(error)", metadata: ["from_seq": "\(batch.first!.seq)"])
                    return
                }
                // The same batch again after a pause: it stays in the store's hands (`storing`), so nothing joins
                // it; the feed fills the next batch and then waits. Logged once per episode.
                if !failing { logger.error("could not store; retrying every \(retryInterval) s: \(error)", metadata: ["from_seq": "\(batch.first!.seq)"]) }
                failing = true
                let retryAt = Date(timeIntervalSinceNow: retryInterval)
                while !closed, condition.wait(until: retryAt) {}
            }
        }
    }
}
