import Foundation
import Logging
import Routing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Playbook sessions on disk: `sessions.jsonl` in the data folder, one session JSON per line, appended
/// on every change; the last line of a session wins.
///
/// Opening reads the file, drops finished sessions older than `retention`, and rewrites it compacted
/// (temporary file, `fsync`, rename), so the file stays the size of the live sessions. ``append(_:)``
/// writes and `fdatasync`s before returning, so a session change is on disk before its answer leaves.
public final class SessionFile {
    public let path: String
    /// The sessions as read at opening.
    public let loaded: SessionBook
    private let fd: Int32

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Finished sessions are kept this long after their last change, then dropped at the next opening.
    public static let defaultRetention: Int64 = 30 * 24 * 3600

    public init(path: String, retentionSeconds: Int64 = SessionFile.defaultRetention, now: Instant, logger: Logger) throws(Failure) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var saved: [Session] = []
        if let data = FileManager.default.contents(atPath: path) {
            let bytes = [UInt8](data)
            var lineNumber = 0
            var start = 0
            while start < bytes.count {
                guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                    // A write cut by power loss: that change was never answered.
                    logger.warning("sessions: dropping a final line cut short (\(bytes.count - start) bytes)", metadata: ["path": "\(path)"])
                    break
                }
                lineNumber += 1
                let line = Array(bytes[start..<newline])
                start = newline + 1
                guard let value = try? JSONReader.parse(line), let session = Session(value: value) else {
                    throw Failure(description: "\(path):\(lineNumber): not a session; the file was changed by hand or damaged (move it away to start without sessions).")
                }
                saved.append(session)
            }
        }
        var book = SessionBook(restoring: saved)
        book.prune(finishedBefore: Instant(milliseconds: now.milliseconds - retentionSeconds * 1000))
        // Compact: write what is live to a new file, then put it in place.
        let temporary = path + ".tmp"
        var text: [UInt8] = []
        for session in book.sessions.values.sorted(by: { $0.updatedAt < $1.updatedAt }) {
            SessionFile.encode(session, into: &text)
        }
        let tfd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard tfd >= 0 else { throw Failure(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let wrote = writeFully(tfd, text)
        let synced = fsync(tfd) == 0
        close(tfd)
        guard wrote == nil, synced, rename(temporary, path) == 0 else {
            throw Failure(description: "cannot compact \(path): \(wrote ?? String(cString: strerror(errno)))")
        }
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        loaded = book
    }

    deinit { close(fd) }

    /// Appends the sessions' current states with one write, then `fdatasync`s (unless `sync` is false).
    public func append(_ sessions: [Session], sync: Bool = true) throws(Failure) {
        guard !sessions.isEmpty else { return }
        var text: [UInt8] = []
        for session in sessions { SessionFile.encode(session, into: &text) }
        let end = lseek(fd, 0, SEEK_END)
        if let reason = writeFully(fd, text) {
            // Take back a partial line, or the next start would find a damaged file.
            if end >= 0 { _ = ftruncate(fd, end) }
            throw Failure(description: "session write failed: \(reason)")
        }
        if sync { try self.sync() }
    }

    public func sync() throws(Failure) {
        guard fdatasync(fd) == 0 else { throw Failure(description: "session sync failed: \(String(cString: strerror(errno)))") }
    }

    private static func encode(_ session: Session, into text: inout [UInt8]) {
        var w = JSONWriter(capacity: 512)
        w.value(session.value)
        text.append(contentsOf: w.bytes)
        text.append(0x0A)
    }
}
