import Logging
import Routing
import Storage
import Wire

/// What a query asked, reduced to 128 bits: the table, the `at` it gave (or none) and the call, as the
/// stable-order encoder writes it. A repeat with the same key must carry the same digest.
public struct RequestDigest: Sendable, Hashable, CustomStringConvertible {
    public let value: UInt128

    public init(value: UInt128) { self.value = value }

    /// FNV-1a, 128 bits: stable across processes and machines (Swift's `Hasher` is seeded per process).
    public init(table: String, at: Instant?, call: Call) {
        var w = JSONWriter(capacity: 512)
        w.object { o in
            o.member("table") { $0.string(table) }
            o.member("at") { w in at.map { w.number($0.milliseconds) } ?? w.null() }
            o.member("call") { Wire.encode(call, into: &$0) }
        }
        var h: UInt128 = 0x6c62272e_07bb0142_62b82175_6295c58d
        let prime: UInt128 = 0x00000000_01000000_00000000_0000013B
        for byte in w.bytes {
            h ^= UInt128(byte)
            h = h &* prime
        }
        value = h
    }

    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 32 - hex.count) + hex
    }

    /// Reads ``description`` back; nil when it is not 32 hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 32, let v = UInt128(hex, radix: 16) else { return nil }
        value = v
    }
}

/// The idempotency keys of the retention window: which `seq` answered each key, and for which request.
///
/// Kept in memory and in `idempotency.jsonl` beside the journal, one line per key:
/// `{"key","digest","seq","stored_at"}`. A batch's keys are written before its events, and the journal's
/// group sync syncs this file first, so a decision on disk always has its key on disk; at opening, keys
/// whose `seq` the journal does not hold (written, then the journal write failed or was cut) are dropped,
/// as are keys older than the retention window, and the file is rewritten with what is left.
///
/// Bounded: beyond `capacity` keys the oldest are forgotten before their window ends (counted in
/// ``evicted`` and logged once), so memory stays fixed whatever clients send.
public final class IdempotencyKeys {
    public struct Entry: Sendable, Hashable {
        public let digest: RequestDigest
        public let seq: UInt64
        /// Wall-clock milliseconds when the key was stored.
        public let storedAt: Int64

        public init(digest: RequestDigest, seq: UInt64, storedAt: Int64) {
            self.digest = digest
            self.seq = seq
            self.storedAt = storedAt
        }
    }

    public let retentionMilliseconds: Int64
    public let capacity: Int
    private var entries: [String: Entry] = [:]
    /// Keys in the order stored, for expiry; `head` is the oldest still possibly in `entries`.
    private var order: [String] = []
    private var head = 0
    /// Persistence; nil keeps keys in memory only (tests, `route`).
    public private(set) var log: AppendLog?
    private let logger: Logger
    public private(set) var evicted = 0
    private var warnedFull = false

    public static let defaultRetentionMilliseconds: Int64 = 24 * 3600 * 1000
    public static let defaultCapacity = 1_000_000

    /// - Parameters:
    ///   - directory: the data folder, or nil for keys kept in memory only.
    ///   - journalLastSeq: keys for a later `seq` were never answered and are dropped.
    public init(directory: String?, retentionMilliseconds: Int64 = defaultRetentionMilliseconds, capacity: Int = defaultCapacity,
                journalLastSeq: UInt64, now: Instant, logger: Logger) throws(StorageError) {
        self.retentionMilliseconds = retentionMilliseconds
        self.capacity = max(1, capacity)
        self.logger = logger
        guard let directory else { return }
        let path = FileIO.join(directory, "idempotency.jsonl")
        var loaded: [(String, Entry)] = []
        var dropped = 0
        let oldest = now.milliseconds - retentionMilliseconds
        _ = try AppendLog(path: path) { line, _ throws(StorageError) in
            guard let value = try? JSONReader.parse(Array(line), limits: .trusted), let (key, entry) = IdempotencyKeys.decode(value) else {
                throw StorageError(.damaged, path: path, errno: 0, "a line is not an idempotency key; the file was changed by hand or damaged (move it away to start without keys)")
            }
            if entry.seq <= journalLastSeq && entry.storedAt >= oldest { loaded.append((key, entry)) } else { dropped += 1 }
        }
        for (key, entry) in loaded.suffix(self.capacity) { remember(key, entry) }
        // Rewrite with what is kept, so the file stays the size of the window.
        var text: [UInt8] = []
        for key in order[head...] {
            if let entry = entries[key] { text += IdempotencyKeys.encode(key, entry); text.append(0x0A) }
        }
        try AtomicFile.replace(path, with: text)
        log = try AppendLog(path: path) { _, _ in }
        if dropped > 0 { logger.info("idempotency keys: \(dropped) expired or never answered, dropped at start; \(entries.count) kept") }
    }

    public var count: Int { entries.count }

    public subscript(key: String) -> Entry? { entries[key] }

    /// Writes new keys (before their events are journalled).
    /// - Returns: where the log ended before, to take the keys back if the journal write then fails.
    public func write(_ new: [(key: String, entry: Entry)]) throws(StorageError) -> Int64? {
        guard let log, !new.isEmpty else { return nil }
        let mark = log.end
        try log.append(new.map { IdempotencyKeys.encode($0.key, $0.entry) })
        return mark
    }

    /// Takes back keys written by ``write(_:)`` whose events could not be journalled.
    public func takeBack(to mark: Int64?) {
        guard let log, let mark else { return }
        do {
            try log.truncate(to: mark)
        } catch {
            // Harmless: at the next opening, keys beyond the journal's last seq are dropped.
            logger.error("cannot take back idempotency keys of a batch that was not journalled: \(error)")
        }
    }

    /// Makes written keys answerable.
    public func commit(_ new: [(key: String, entry: Entry)]) {
        for (key, entry) in new { remember(key, entry) }
    }

    /// Forgets keys older than the retention window.
    public func expire(now: Instant) {
        let oldest = now.milliseconds - retentionMilliseconds
        while head < order.count {
            let key = order[head]
            if let entry = entries[key], entry.storedAt >= oldest { break }
            entries[key] = nil
            head += 1
        }
        compactOrder()
    }

    private func remember(_ key: String, _ entry: Entry) {
        if entries.updateValue(entry, forKey: key) == nil { order.append(key) }
        while entries.count > capacity, head < order.count {
            entries[order[head]] = nil
            head += 1
            evicted += 1
            if !warnedFull {
                warnedFull = true
                logger.warning("idempotency keys: more than \(capacity) within the retention window; the oldest are forgotten early (counted in health)")
            }
        }
        compactOrder()
    }

    private func compactOrder() {
        if head > 4096 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    static func encode(_ key: String, _ entry: Entry) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + key.utf8.count)
        w.object { o in
            o.member("key") { $0.string(key) }
            o.member("digest") { $0.string(entry.digest.description) }
            o.member("seq") { $0.number(Int64(entry.seq)) }
            o.member("stored_at") { $0.number(entry.storedAt) }
        }
        return w.bytes
    }

    static func decode(_ value: Value) -> (String, Entry)? {
        guard case .string(let key)? = value["key"], case .string(let hex)? = value["digest"], let digest = RequestDigest(hex: hex),
              case .number(let seq)? = value["seq"], seq >= 1, case .number(let at)? = value["stored_at"] else { return nil }
        return (key, Entry(digest: digest, seq: UInt64(seq), storedAt: Int64(at)))
    }
}
