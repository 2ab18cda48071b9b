#if canImport(Glibc)
import Glibc
#endif

/// An append-only file of records, one per line: the one format under the journal, the session file,
/// the idempotency keys, the CTI adapter's transfer record and the log driver.
///
/// Opening reads every line once, hands each to the caller (who may refuse it as damaged), and drops
/// a final line without its newline — a write cut short by a crash, which was never acknowledged.
/// ``append(_:)`` writes all its records with one `write(2)` or, when that fails, takes back what
/// was written, so the file always ends at a record boundary. Nothing is synced implicitly: call
/// ``sync()``, whose failure is reported, never ignored.
///
/// Not thread-safe for appending: one owner appends. ``read(at:count:)`` may run on another thread.
public final class AppendLog {
    public let path: String
    private let fd: Int32
    /// Where the next record will start: the file's length.
    public private(set) var end: Int64
    /// How many bytes of a torn final line the opening dropped.
    public let droppedTailBytes: Int

    /// Opens (or creates) the file and reads every complete line.
    /// - Parameter line: called with each complete line (without its newline) and its offset; throw to
    ///   refuse the file as damaged.
    public init(path: String, line: (ArraySlice<UInt8>, Int64) throws(StorageError) -> Void) throws(StorageError) {
        self.path = path
        let folder = FileIO.directory(of: path)
        if !folder.isEmpty { try FileIO.makeDirectory(folder) }
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(.open, path: path, "cannot open") }
        do throws(StorageError) {
            let (complete, total) = try AppendLog.scan(fd: fd, path: path, line: line)
            if total > complete {
                guard ftruncate(fd, off_t(complete)) == 0 else { throw StorageError.system(.truncate, path: path, "cannot drop a torn final line") }
            }
            end = complete
            droppedTailBytes = Int(total - complete)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Appends records, each followed by a newline, with one write.
    /// - Returns: the offset where each record starts.
    /// - Throws: ``StorageError``; the file is then as it was before the call.
    @discardableResult
    public func append(_ records: [[UInt8]]) throws(StorageError) -> [Int64] {
        guard !records.isEmpty else { return [] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.reduce(0) { $0 + $1.count + 1 })
        var starts: [Int64] = []
        starts.reserveCapacity(records.count)
        for record in records {
            starts.append(end + Int64(bytes.count))
            bytes.append(contentsOf: record)
            bytes.append(0x0A)
        }
        do throws(StorageError) {
            try FileIO.writeFully(fd, bytes, path: path)
        } catch {
            // Take back a partial record so the file stays one record per line.
            _ = ftruncate(fd, off_t(end))
            throw error
        }
        end += Int64(bytes.count)
        return starts
    }

    /// Drops everything from `offset` on (a batch that must be taken back after it was written).
    public func truncate(to offset: Int64) throws(StorageError) {
        guard ftruncate(fd, off_t(offset)) == 0 else { throw .system(.truncate, path: path, "cannot truncate") }
        end = offset
    }

    /// Makes everything appended so far durable.
    /// - Throws: `.sync`. After a failed sync the kernel may have dropped the unsynced pages; the caller
    ///   must not report them durable until a later sync succeeds.
    public func sync() throws(StorageError) { try FileIO.dataSync(fd, path: path) }

    /// `count` bytes at `offset`, from any thread.
    public func read(at offset: Int64, count: Int) throws(StorageError) -> [UInt8] {
        try FileIO.readFully(fd, at: offset, count: count, path: path)
    }

    private static func scan(fd: Int32, path: String, line: (ArraySlice<UInt8>, Int64) throws(StorageError) -> Void) throws(StorageError) -> (complete: Int64, total: Int64) {
        var position: Int64 = 0
        var lineStart: Int64 = 0
        var carry: [UInt8] = []  // the start of a line that crosses a chunk boundary
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(position)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(.read, path: path, "cannot read")
            }
            if n == 0 { break }
            var from = 0
            for i in 0..<n where chunk[i] == 0x0A {
                if carry.isEmpty {
                    try line(chunk[from..<i], lineStart)
                } else {
                    carry.append(contentsOf: chunk[from..<i])
                    try line(carry[...], lineStart)
                    carry.removeAll(keepingCapacity: true)
                }
                from = i + 1
                lineStart = position + Int64(i) + 1
            }
            carry.append(contentsOf: chunk[from..<n])
            position += Int64(n)
        }
        return (lineStart, position)
    }
}

// @unchecked: one owner appends and truncates; `sync()` and `read(at:count:)` are plain system calls that
// are safe beside an append, which is what a group syncer or a replay reader on another thread does.
extension AppendLog: @unchecked Sendable {}
