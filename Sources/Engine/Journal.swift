import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The durable, append-only record of every decision answered: `journal.jsonl` in the data folder,
/// one event JSON per line, `seq` from 1 rising by exactly one for the life of the journal.
///
/// Durability: ``append(_:)`` returns once `write(2)` has handed the line to the operating system, so
/// a killed engine (`kill -9`) loses nothing it answered. A background thread `fdatasync`s in groups,
/// every `syncInterval` or after `syncEvery` appends, whichever comes first; a power loss can lose at
/// most that window. ``syncedSeq`` says how far the disk is known to hold.
public final class Journal {
    public let directory: String
    /// Names this journal in every `event_id`, so ids stay unique if a journal is ever started afresh.
    public let journalID: String
    /// The last sequence number written; 0 for an empty journal.
    public private(set) var lastSeq: UInt64
    private let fd: Int32
    /// `offsets[i]` is where the line of `seq` i + 1 starts; `end` where the next one will.
    private var offsets: [Int64]
    private var end: Int64
    private let syncer: Syncer

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens (or creates) the journal in `directory`, checking every line's sequence number.
    /// A final line without its newline (a write cut by power loss) is dropped, with a warning.
    public init(directory: String, syncInterval: Duration = .milliseconds(5), syncEvery: Int = 256, logger: Logger) throws(Failure) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create the data folder \(directory): \(error.localizedDescription)")
        }
        let idPath = (directory as NSString).appendingPathComponent("journal.id")
        if let existing = try? String(contentsOfFile: idPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            journalID = existing
        } else {
            journalID = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            do {
                try (journalID + "\n").write(toFile: idPath, atomically: true, encoding: .utf8)
            } catch {
                throw Failure(description: "cannot write \(idPath): \(error.localizedDescription)")
            }
        }
        let path = (directory as NSString).appendingPathComponent("journal.jsonl")
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        let scan = try Journal.scan(fd: fd, path: path)
        if scan.tornBytes > 0 {
            logger.warning("journal: dropping a final line cut short (\(scan.tornBytes) bytes); it was never answered", metadata: ["path": "\(path)"])
            guard ftruncate(fd, off_t(scan.end)) == 0 else { throw Failure(description: "cannot truncate \(path): \(String(cString: strerror(errno)))") }
        }
        offsets = scan.offsets
        end = scan.end
        lastSeq = UInt64(scan.offsets.count)
        syncer = Syncer(fd: fd, interval: syncInterval, every: syncEvery, synced: lastSeq)
        syncer.start()
    }

    deinit {
        syncer.stop()
        close(fd)
    }

    /// The highest `seq` known to be on disk (`fdatasync` returned).
    public var syncedSeq: UInt64 { syncer.syncedSeq }

    /// Appends the event of `lastSeq + 1`; the line is in the operating system when this returns.
    /// - Parameter event: the event's JSON, whose `seq` must be `lastSeq + 1`; a newline is added.
    public func append(_ event: [UInt8]) throws(Failure) {
        try append(contentsOf: [event])
    }

    /// Appends the events of `lastSeq + 1` on, in order, with one `write(2)`: all are in the
    /// operating system when this returns, or none is journalled.
    public func append(contentsOf events: [[UInt8]]) throws(Failure) {
        guard !events.isEmpty else { return }
        var line: [UInt8] = []
        line.reserveCapacity(events.reduce(0) { $0 + $1.count + 1 })
        var starts: [Int64] = []
        starts.reserveCapacity(events.count)
        for event in events {
            starts.append(end + Int64(line.count))
            line.append(contentsOf: event)
            line.append(0x0A)
        }
        if let reason = writeFully(fd, line) {
            // Take back a partial line so the file stays one event per line.
            _ = ftruncate(fd, off_t(end))
            throw Failure(description: "journal write failed: \(reason)")
        }
        offsets.append(contentsOf: starts)
        end += Int64(line.count)
        lastSeq += UInt64(events.count)
        syncer.appended(seq: lastSeq)
    }

    /// Up to `max` events from `seq` on, verbatim, stopping before `maxBytes` would be passed (at least one is returned).
    public func read(from seq: UInt64, max: Int, maxBytes: Int = 8 << 20) -> [ArraySlice<UInt8>] {
        guard seq >= 1, seq <= lastSeq, max > 0 else { return [] }
        let first = Int(seq - 1)
        let last = min(offsets.count, first + max)
        var count = last - first
        var length = (last < offsets.count ? offsets[last] : end) - offsets[first]
        while count > 1 && length > maxBytes {
            count -= 1
            length = offsets[first + count] - offsets[first]
        }
        var buffer = [UInt8](repeating: 0, count: Int(length))
        var got = 0
        while got < buffer.count {
            let n = buffer[got...].withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offsets[first]) + off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return [] }
            got += n
        }
        var events: [ArraySlice<UInt8>] = []
        events.reserveCapacity(count)
        for i in first..<(first + count) {
            let start = Int(offsets[i] - offsets[first])
            let stop = Int((i + 1 < offsets.count ? offsets[i + 1] : end) - offsets[first]) - 1  // without the newline
            events.append(buffer[start..<stop])
        }
        return events
    }

    /// Forces everything written so far to disk now (at shutdown).
    public func sync() { syncer.syncNow(seq: lastSeq) }

    /// Reads the file once, finding where each line starts and checking that line n holds `seq` n.
    private static func scan(fd: Int32, path: String) throws(Failure) -> (offsets: [Int64], end: Int64, tornBytes: Int) {
        var offsets: [Int64] = []
        var position: Int64 = 0
        var lineStart: Int64 = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var head: [UInt8] = []  // the first bytes of the current line, enough to read its seq
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(position)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Failure(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            for i in 0..<n {
                let c = chunk[i]
                if c == 0x0A {
                    let expected = UInt64(offsets.count + 1)
                    guard Journal.seq(of: head) == expected else {
                        throw Failure(description: "\(path): line \(offsets.count + 1) does not hold seq \(expected); the journal is damaged, refusing to start (move it aside to begin a new one)")
                    }
                    offsets.append(lineStart)
                    lineStart = position + Int64(i) + 1
                    head.removeAll(keepingCapacity: true)
                } else if head.count < 32 {
                    head.append(c)
                }
            }
            position += Int64(n)
        }
        return (offsets, lineStart, Int(position - lineStart))
    }

    /// The number after `{"seq":` at the start of a line.
    static func seq(of head: [UInt8]) -> UInt64? {
        let prefix = Array(#"{"seq":"#.utf8)
        guard head.count > prefix.count, Array(head[0..<prefix.count]) == prefix else { return nil }
        var value: UInt64 = 0
        var digits = 0
        for c in head[prefix.count...] {
            guard c >= 0x30, c <= 0x39 else { break }
            value = value * 10 + UInt64(c - 0x30)
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}

/// Calls `fdatasync` in groups on its own thread, so the engine's loop never waits for the disk.
final class Syncer: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var written: UInt64
    private var synced: UInt64
    private var stopping = false
    private var thread: Thread?
    private let fd: Int32
    private let interval: Duration
    private let every: UInt64

    init(fd: Int32, interval: Duration, every: Int, synced: UInt64) {
        self.fd = fd
        self.interval = interval
        self.every = UInt64(max(1, every))
        self.written = synced
        self.synced = synced
    }

    var syncedSeq: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return synced
    }

    func start() {
        let t = Thread { [self] in loop() }
        t.name = "journal-sync"
        thread = t
        t.start()
    }

    func appended(seq: UInt64) {
        condition.lock()
        written = seq
        if written - synced >= every { condition.signal() }
        condition.unlock()
    }

    func syncNow(seq: UInt64) {
        _ = fdatasync(fd)
        condition.lock()
        if seq > synced { synced = seq }
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        while true {
            condition.lock()
            let done = thread == nil
            condition.unlock()
            if done { return }
            usleep(1000)
        }
    }

    private func loop() {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        condition.lock()
        while !stopping {
            if written == synced { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
            let target = written
            guard target > synced else { continue }
            condition.unlock()
            _ = fdatasync(fd)
            condition.lock()
            synced = Swift.max(synced, target)
            if !stopping && written - synced < every {
                _ = condition.wait(until: Date().addingTimeInterval(seconds))
            }
        }
        let target = written
        condition.unlock()
        _ = fdatasync(fd)
        condition.lock()
        synced = Swift.max(synced, target)
        thread = nil
        condition.unlock()
    }
}
