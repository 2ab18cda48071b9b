import Logging
import Routing
import Storage
import Wire

/// Playbook sessions on disk: `sessions.jsonl` in the data folder, one session JSON per line, appended
/// on every change; the last line of a session wins.
///
/// Opening reads the file, drops finished sessions older than `retention`, and rewrites it compacted
/// (``AtomicFile``), so the file stays the size of the live sessions. ``append(_:)`` writes and syncs
/// before returning, so a session change is on disk before its answer leaves.
public final class SessionFile {
    public let path: String
    /// The sessions as read at opening.
    public let loaded: SessionBook
    private let log: AppendLog

    /// Finished sessions are kept this long after their last change, then dropped at the next opening.
    public static let defaultRetention: Int64 = 30 * 24 * 3600

    public init(path: String, retentionSeconds: Int64 = SessionFile.defaultRetention, now: Instant, logger: Logger) throws(StorageError) {
        self.path = path
        var saved: [Session] = []
        var lineNumber = 0
        let reading = try AppendLog(path: path) { line, _ throws(StorageError) in
            lineNumber += 1
            guard let value = try? JSONReader.parse(Array(line), limits: .trusted), let session = Session(value: value) else {
                throw StorageError(.damaged, path: path, errno: 0, "line \(lineNumber) is not a session; the file was changed by hand or damaged (move it away to start without sessions)")
            }
            saved.append(session)
        }
        if reading.droppedTailBytes > 0 {
            logger.warning("sessions: dropped a final line cut short (\(reading.droppedTailBytes) bytes); that change was never answered", metadata: ["path": "\(path)"])
        }
        var book = SessionBook(restoring: saved)
        book.prune(finishedBefore: Instant(milliseconds: now.milliseconds - retentionSeconds * 1000))
        var text: [UInt8] = []
        for session in book.sessions.values.sorted(by: { $0.updatedAt < $1.updatedAt }) {
            text += SessionFile.encode(session)
            text.append(0x0A)
        }
        try AtomicFile.replace(path, with: text)
        log = try AppendLog(path: path) { _, _ in }
        loaded = book
    }

    /// Appends the sessions' current states with one write, then syncs (unless `sync` is false).
    /// - Throws: ``StorageError``; the file is then as it was.
    public func append(_ sessions: [Session], sync: Bool = true) throws(StorageError) {
        guard !sessions.isEmpty else { return }
        let mark = log.end
        try log.append(sessions.map(SessionFile.encode))
        guard sync else { return }
        do throws(StorageError) {
            try log.sync()
        } catch {
            try? log.truncate(to: mark)
            throw error
        }
    }

    /// Makes every append durable (after a batch appended without syncing each line).
    public func sync() throws(StorageError) { try log.sync() }

    private static func encode(_ session: Session) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.value(session.value)
        return w.bytes
    }
}
