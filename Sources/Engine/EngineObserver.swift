import Synchronization

/// A hook the serving thread calls after each query batch, for metrics: nothing is installed by default,
/// and an installed handler must return at once (hand the work to a queue of its own).
public enum EngineObserver {
    public struct Batch: Sendable {
        /// Each query's reply, in order: `{"id", "seq", "event_id", "decision"}` or `{"id", "error"}`.
        public let replies: [[UInt8]]
        /// The events journalled and published for the batch (JSON).
        public let events: [[UInt8]]
        /// The journal's last `seq` after the batch.
        public let journalSeq: UInt64
        /// From the batch's hand-over to the core to its replies being sent (journal sync included).
        public let duration: Duration
    }

    private static let handler = Mutex<(@Sendable (Batch) -> Void)?>(nil)

    public static func install(_ h: @escaping @Sendable (Batch) -> Void) { handler.withLock { $0 = h } }

    static var isInstalled: Bool { handler.withLock { $0 != nil } }

    static func report(_ batch: Batch) {
        if let h = handler.withLock({ $0 }) { h(batch) }
    }
}
