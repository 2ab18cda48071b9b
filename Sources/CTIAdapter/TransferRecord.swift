import Storage

/// What the adapter has done, persisted so that no transfer is ever performed twice.
///
/// An ``AppendLog`` of lines: `start <seq> <event_id>` (synced before the driver is asked),
/// `done <seq> <event_id> ok|failed|unknown`, and `seen <seq>` after a batch with no transfer still to do.
/// On restart the adapter resumes after the highest `seq` recorded; a transfer started but never marked
/// done is settled by what the driver knows, never performed blindly again.
///
/// Every failure of the file system is thrown as a ``StorageError`` and leaves the record's state as it
/// was, so the caller can retry the same call: a `start` whose sync failed is taken back first, so it
/// cannot surface after a crash as a transfer that may have happened.
public final class TransferRecord {
    /// How a transfer ended.
    public enum Outcome: String, Sendable {
        case ok
        case failed
        /// The driver sent it and never heard back: it may have happened.
        case unknown
    }

    public let path: String
    private let log: AppendLog
    /// The highest `seq` handled (started, or seen and not a transfer).
    public private(set) var lastSeq: UInt64 = 0
    /// Transfers started whose outcome was never recorded, by event id.
    public private(set) var unfinished: [String: UInt64] = [:]
    public private(set) var doneCount = 0
    /// Where a `start` whose sync failed begins, to be taken back before anything else is written.
    private var unsyncedStart: Int64?

    /// Opens (or creates) the record and reads what it holds.
    /// - Throws: ``StorageError``: `.damaged` for a complete line that is not a record (a torn final line,
    ///   a write a crash cut short, is dropped instead).
    public init(path: String) throws(StorageError) {
        self.path = path
        var lastSeq: UInt64 = 0
        var unfinished: [String: UInt64] = [:]
        var doneCount = 0
        log = try AppendLog(path: path) { line, offset throws(StorageError) in
            let parts = line.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
            guard parts.count >= 2, let seq = UInt64(parts[1]) else {
                throw StorageError(.damaged, path: path, errno: 0, "the line at byte \(offset) is not a transfer record: \(String(decoding: line.prefix(80), as: UTF8.self))")
            }
            lastSeq = max(lastSeq, seq)
            switch parts[0] {
            case "start" where parts.count >= 3: unfinished[parts[2]] = seq
            case "done" where parts.count >= 3:
                unfinished[parts[2]] = nil
                doneCount += 1
            case "seen": break
            default:
                throw StorageError(.damaged, path: path, errno: 0, "the line at byte \(offset) is not a transfer record: \(parts[0]) \(parts[1])")
            }
        }
        self.lastSeq = lastSeq
        self.unfinished = unfinished
        self.doneCount = doneCount
    }

    /// Records, durably, that a transfer is about to be performed: the driver may be asked only after this
    /// returns.
    /// - Throws: ``StorageError``; the transfer must not be performed then, and nothing is recorded.
    public func start(seq: UInt64, eventID: String) throws(StorageError) {
        try takeBackUnsyncedStart()
        let offset = log.end
        try log.append([Array("start \(seq) \(eventID)".utf8)])
        do {
            try log.sync()
        } catch {
            unsyncedStart = offset
            try? takeBackUnsyncedStart()
            throw error
        }
        unfinished[eventID] = seq
        lastSeq = max(lastSeq, seq)
    }

    /// Records how a transfer ended. Not synced by itself: the next `start` syncs it, and a crash before
    /// that leaves the transfer unfinished, which a restart settles without performing it twice.
    /// - Throws: ``StorageError``; nothing is recorded then, so the caller retries.
    public func done(seq: UInt64, eventID: String, outcome: Outcome) throws(StorageError) {
        try takeBackUnsyncedStart()
        try log.append([Array("done \(seq) \(eventID) \(outcome.rawValue)".utf8)])
        unfinished[eventID] = nil
        doneCount += 1
    }

    /// Records that decisions up to `seq` were looked at (none of them a transfer still to do).
    public func seen(through seq: UInt64) throws(StorageError) {
        guard seq > lastSeq else { return }
        try takeBackUnsyncedStart()
        try log.append([Array("seen \(seq)".utf8)])
        lastSeq = seq
    }

    private func takeBackUnsyncedStart() throws(StorageError) {
        guard let offset = unsyncedStart else { return }
        try log.truncate(to: offset)
        unsyncedStart = nil
    }
}
