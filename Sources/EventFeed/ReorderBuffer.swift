/// Events that arrived ahead of the next `seq` wanted, held until the gap before them is filled.
///
/// Several engines publish onto one subscriber: either each publishes the `seq`s it assigned, or each
/// publishes every `seq` of the deployment. Either way events can arrive out of order and more than once.
/// The buffer keeps each `seq` once, hands out the contiguous run from ``next``, and knows the highest
/// `seq` any engine has shown (``head``, the maximum over events and heartbeats), so the feed can tell
/// "not here yet" from "missing". Holds whatever the subscriber reads from an event (``FeedRecord``).
/// Pure: no sockets, no clock.
public struct ReorderBuffer<Record: FeedRecord> {
    /// What ``admit(_:)`` did with an event.
    public enum Admission: Equatable, Sendable {
        /// Held (or, when it is ``next``, ready to hand out).
        case accepted
        /// Already handed out or already held: another engine's copy, or replay and live overlapping.
        case duplicate
        /// Not held: the buffer is full. The event is in the journal, so replay recovers it.
        case overflow
    }

    /// How many events may wait for a gap to fill.
    public let capacity: Int
    /// The next `seq` to hand out.
    public private(set) var next: UInt64
    /// The highest `seq` known to exist: the maximum of every event and heartbeat seen.
    public private(set) var head: UInt64
    private var waiting: [UInt64: Record] = [:]

    /// - Parameter lastSeq: the last `seq` already handled (0 for none).
    public init(after lastSeq: UInt64, capacity: Int) {
        next = lastSeq + 1
        head = lastSeq
        self.capacity = max(1, capacity)
    }

    /// Events held, ``next`` among them when it has arrived.
    public var count: Int { waiting.count }

    /// Whether an event at or after ``next`` is known to exist while ``next`` itself is not held.
    public var isMissingNext: Bool { head >= next && waiting[next] == nil }

    /// Takes an event from any engine, live or replayed.
    /// - Complexity: O(1).
    public mutating func admit(_ event: Record) -> Admission {
        let seq = event.seq
        head = max(head, seq)
        if seq < next || waiting[seq] != nil { return .duplicate }
        // `next` itself is always taken: it is handed out at once and frees room.
        if waiting.count >= capacity && seq != next { return .overflow }
        waiting[seq] = event
        return .accepted
    }

    /// Notes a heartbeat's `seq`: events up to it exist.
    public mutating func sawHeartbeat(_ seq: UInt64) { head = max(head, seq) }

    /// The contiguous run from ``next``, up to `limit` events, still held until ``handedOut(_:)``.
    public func ready(limit: Int = .max) -> [Record] {
        var run: [Record] = []
        var seq = next
        while run.count < limit, let e = waiting[seq] {
            run.append(e)
            seq += 1
        }
        return run
    }

    /// Moves ``next`` past `count` events the subscriber has taken (from ``ready(limit:)`` or replay) and
    /// forgets what is now behind it.
    public mutating func handedOut(_ count: Int) {
        guard count > 0 else { return }
        let end = next + UInt64(count)
        // Walk the smaller of the two: the run handed out, or what is held.
        if UInt64(waiting.count) < UInt64(count) {
            waiting = waiting.filter { $0.key >= end }
        } else {
            for seq in next..<end { waiting[seq] = nil }
        }
        next = end
        head = max(head, next - 1)
    }
}
