import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the adapter has done, persisted so that no transfer is ever performed twice.
///
/// An append-only file of lines: `start <seq> <event_id>` (made durable before the driver is asked),
/// `done <seq> <event_id> ok|failed`, and `seen <seq>` after a batch with no transfer in it. On restart the
/// adapter resumes after the highest `seq` recorded; a transfer started but never marked done is not
/// performed again.
public final class TransferRecord {
    public let path: String
    private let fd: Int32
    /// The highest `seq` handled (started, or seen and not a transfer).
    public private(set) var lastSeq: UInt64 = 0
    /// Transfers started whose outcome was never recorded, by event id.
    public private(set) var unfinished: [String: UInt64] = [:]
    public private(set) var doneCount = 0

    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count >= 2, let seq = UInt64(parts[1]) else { continue }  // a torn last line
                lastSeq = max(lastSeq, seq)
                switch parts[0] {
                case "start" where parts.count >= 3: unfinished[String(parts[2])] = seq
                case "done" where parts.count >= 3:
                    unfinished[String(parts[2])] = nil
                    doneCount += 1
                default: break
                }
            }
        }
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DriverFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Records that a transfer is about to be performed, durably, before the driver is asked.
    public func start(seq: UInt64, eventID: String) throws {
        try append("start \(seq) \(eventID)\n", sync: true)
        unfinished[eventID] = seq
        lastSeq = max(lastSeq, seq)
    }

    public func done(seq: UInt64, eventID: String, ok: Bool) throws {
        try append("done \(seq) \(eventID) \(ok ? "ok" : "failed")\n", sync: false)
        unfinished[eventID] = nil
        doneCount += 1
    }

    /// Records that decisions up to `seq` were looked at (none of them a transfer still to do).
    public func seen(through seq: UInt64) throws {
        guard seq > lastSeq else { return }
        try append("seen \(seq)\n", sync: false)
        lastSeq = seq
    }

    private func append(_ line: String, sync: Bool) throws {
        let bytes = Array(line.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw DriverFailure("cannot write \(path): \(String(cString: strerror(errno)))") }
        if sync { _ = fdatasync(fd) }
    }
}
