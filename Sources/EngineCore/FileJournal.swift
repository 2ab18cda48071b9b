import Foundation
import Logging
import Metrics
import ServiceThread
import Storage
import Synchronization

/// The embedded journal: `journal.jsonl` in the data folder, one event JSON per line.
///
/// Durability: ``append(_:)`` returns once `write(2)` has handed the lines to the operating system, so a
/// killed engine (`kill -9`) loses nothing it answered. A ``GroupSyncer`` `fdatasync`s in groups, every
/// `syncInterval` or after `syncEvery` appends, whichever comes first; a power loss can lose at most that
/// window. When a sync fails, ``failure`` says why, ``syncedSeq`` stops moving and the engine stops
/// deciding until a later sync succeeds.
public final class FileJournal: EventJournal, Sendable {
    public let journalID: String
    private let log: AppendLog
    /// Where each line starts (`offsets[i]` for `seq` i + 1) and where the file ends: appended by the
    /// engine thread, read by replay on its own thread.
    private let index: Mutex<(offsets: [Int64], end: Int64)>
    private let syncer: GroupSyncer

    /// Opens (or creates) the journal in `directory`, checking that line n holds `seq` n.
    public init(directory: String, syncInterval: Duration = .milliseconds(5), syncEvery: Int = 256, logger: Logger) throws(StorageError) {
        try FileIO.makeDirectory(directory)
        let idPath = FileIO.join(directory, "journal.id")
        if let existing = try FileIO.contents(of: idPath).map({ String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }),
           !existing.isEmpty {
            journalID = existing
        } else {
            journalID = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            try AtomicFile.replace(idPath, with: Array((journalID + "\n").utf8))
        }
        let path = FileIO.join(directory, "journal.jsonl")
        var offsets: [Int64] = []
        log = try AppendLog(path: path) { line, offset throws(StorageError) in
            let expected = UInt64(offsets.count + 1)
            guard FileJournal.seq(of: line) == expected else {
                throw StorageError(.damaged, path: path, errno: 0,
                                   "line \(expected) does not hold seq \(expected); the journal is damaged, refusing to start (move it aside to begin a new one)")
            }
            offsets.append(offset)
        }
        if log.droppedTailBytes > 0 {
            logger.warning("journal: dropped a final line cut short (\(log.droppedTailBytes) bytes); it was never answered", metadata: ["path": "\(path)"])
        }
        index = Mutex((offsets, log.end))
        syncer = GroupSyncer(logs: [log], interval: syncInterval, every: syncEvery, synced: UInt64(offsets.count), logger: logger)
        syncer.start()
    }

    deinit { syncer.stop() }

    /// Makes each group sync sync `log` before the journal: for records that must be durable no later
    /// than the events they belong to (the idempotency keys). Call before the first append.
    public func syncFirst(_ log: AppendLog) { syncer.prepend(log) }

    public var lastSeq: UInt64 { index.withLock { UInt64($0.offsets.count) } }
    public var syncedSeq: UInt64 { syncer.state.synced }
    public var failure: StorageError? { syncer.state.failure }

    public func append(_ events: [[UInt8]]) throws(StorageError) {
        guard !events.isEmpty else { return }
        let starts = try log.append(events)
        let end = log.end
        let last = index.withLock { i in
            i.offsets.append(contentsOf: starts)
            i.end = end
            return UInt64(i.offsets.count)
        }
        syncer.appended(seq: last)
    }

    /// Safe from any thread: the offsets of the range are copied under the index's lock, the bytes read outside it.
    public func read(from seq: UInt64, max: Int, maxBytes: Int) throws(StorageError) -> [ArraySlice<UInt8>] {
        guard seq >= 1, max > 0 else { return [] }
        // The starts of the lines wanted, and where the last of them ends.
        let bounds: [Int64] = index.withLock { i in
            let first = Int(seq - 1)
            guard first < i.offsets.count else { return [] }
            let last = min(i.offsets.count, first + max)
            var count = last - first
            func end(_ k: Int) -> Int64 { k < i.offsets.count ? i.offsets[k] : i.end }
            while count > 1 && end(first + count) - i.offsets[first] > Int64(maxBytes) { count -= 1 }
            return Array(i.offsets[first..<(first + count)]) + [end(first + count)]
        }
        guard let base = bounds.first, bounds.count >= 2 else { return [] }
        let buffer = try log.read(at: base, count: Int(bounds[bounds.count - 1] - base))
        var events: [ArraySlice<UInt8>] = []
        events.reserveCapacity(bounds.count - 1)
        for k in 0..<(bounds.count - 1) {
            events.append(buffer[Int(bounds[k] - base)..<(Int(bounds[k + 1] - base) - 1)])  // without the newline
        }
        return events
    }

    public func sync() throws(StorageError) { try syncer.syncNow(seq: lastSeq) }

    /// Replay's view of the journal, for a thread of its own.
    public var reader: @Sendable (UInt64, Int, Int) throws(StorageError) -> [ArraySlice<UInt8>] {
        { [self] seq, max, maxBytes throws(StorageError) in try read(from: seq, max: max, maxBytes: maxBytes) }
    }

    /// The number after `{"seq":` at the start of a line.
    static func seq(of line: ArraySlice<UInt8>) -> UInt64? {
        let prefix = #"{"seq":"#.utf8
        guard line.count > prefix.count, line.starts(with: prefix) else { return nil }
        var value: UInt64 = 0
        var digits = 0
        for c in line.dropFirst(prefix.count) {
            guard c >= 0x30, c <= 0x39, digits < 19 else { break }
            value = value * 10 + UInt64(c - 0x30)
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}

/// Calls `fdatasync` on a group of logs, in order, on its own thread, so the engine's loop never waits
/// for the disk. A failure is kept (and logged once) until a later sync succeeds.
final class GroupSyncer: Sendable {
    struct State: Sendable {
        var written: UInt64
        var synced: UInt64
        var failure: StorageError?
        var stopping = false
        var running = false
    }

    let shared = Mutex<State>(State(written: 0, synced: 0))
    private let wake = NSCondition()
    /// Synced in order by the syncer's thread (and by `syncNow` at shutdown).
    private let logs: Mutex<[AppendLog]>
    private let interval: TimeInterval
    private let every: UInt64
    private let logger: Logger
    /// Each group sync's `fdatasync`s, all logs of the group together (`--metrics`).
    private let syncDuration = Timer(label: "switchboard_engine_journal_fsync_duration_seconds")
    private let syncedSeq = Gauge(label: "switchboard_engine_journal_synced_seq")

    init(logs: [AppendLog], interval: Duration, every: Int, synced: UInt64, logger: Logger) {
        self.logs = Mutex(logs)
        self.interval = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        self.every = UInt64(max(1, every))
        self.logger = logger
        shared.withLock { $0.written = synced; $0.synced = synced }
        syncedSeq.record(Int64(synced))
    }

    var state: State { shared.withLock { $0 } }

    func start() {
        shared.withLock { $0.running = true }
        Thread { [self] in
            nameCurrentThread("journal-sync")
            loop()
        }.start()
    }

    func appended(seq: UInt64) {
        let due = shared.withLock { s in
            s.written = seq
            return s.written - s.synced >= every
        }
        if due { wake.lock(); wake.signal(); wake.unlock() }
    }

    func prepend(_ log: AppendLog) { logs.withLock { $0.insert(log, at: 0) } }

    func syncNow(seq: UInt64) throws(StorageError) {
        try syncAll(upTo: seq)
    }

    func stop() {
        shared.withLock { $0.stopping = true }
        wake.lock(); wake.signal(); wake.unlock()
        while shared.withLock({ $0.running }) { usleep(1000) }
    }

    private func syncAll(upTo target: UInt64) throws(StorageError) {
        let started = ContinuousClock.now
        do throws(StorageError) {
            for log in logs.withLock({ $0 }) { try log.sync() }
            syncDuration.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        } catch {
            let first = shared.withLock { s in
                defer { s.failure = error }
                return s.failure == nil
            }
            if first { logger.critical("storage failing, decisions refused until it recovers: \(error)") }
            throw error
        }
        let (recovered, synced) = shared.withLock { s in
            defer { s.failure = nil; s.synced = max(s.synced, target) }
            return (s.failure != nil, max(s.synced, target))
        }
        syncedSeq.record(Int64(synced))
        if recovered { logger.notice("storage recovered: syncs succeed again; deciding resumes") }
    }

    private func loop() {
        while true {
            let (target, pending, stopping) = shared.withLock { s in (s.written, s.written > s.synced || s.failure != nil, s.stopping) }
            if pending { try? syncAll(upTo: target) }
            if stopping { break }
            wake.lock()
            let (idle, failing) = shared.withLock { s in (s.written - s.synced < every && !s.stopping, s.failure != nil) }
            // While the storage fails, try again ten times a second rather than spin on it.
            if idle || failing { _ = wake.wait(until: Date().addingTimeInterval(failing ? max(interval, 0.1) : interval)) }
            wake.unlock()
        }
        shared.withLock { $0.running = false }
    }
}
