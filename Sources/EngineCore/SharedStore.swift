import Routing
import Storage

/// The state several engines share (the PostgreSQL deployment): the journal, idempotency keys, playbook
/// sessions and the operations state, with every query batch one transaction.
///
/// The core opens a batch with ``beginBatch(keys:now:)`` before deciding anything: the store starts the
/// transaction, locks the one row that holds the last `seq` (so batches of all engines take turns and
/// `seq` stays one contiguous sequence), and returns what other engines changed since this one last
/// looked. ``commitBatch(events:keys:sessions:)`` then writes and commits; no reply leaves before it
/// returns. When either throws, the batch's decisions are answered `unavailable` and nothing of it stays.
public protocol SharedStore: EventJournal {
    /// Starts the batch's transaction and takes the `seq` lock; afterwards ``EventJournal/lastSeq`` is the
    /// deployment's last `seq`.
    /// - Parameters:
    ///   - keys: the idempotency keys the batch's queries carry, to look up.
    ///   - now: for the keys' retention window.
    /// - Throws: when the database cannot be reached (the store reconnects by itself on a later batch).
    func beginBatch(keys: [String], now: Instant) throws(StorageError) -> SharedStoreView
    /// Writes the batch (sessions, keys, then events with their `seq`) in the open transaction and commits.
    /// With nothing to write it only ends the transaction.
    /// - Throws: the transaction was rolled back, or the connection was lost during commit (the outcome is
    ///   then unknown; a client's retry with its key finds out).
    func commitBatch(events: [[UInt8]], keys: [(key: String, entry: IdempotencyKeys.Entry)], sessions: [Session]) throws(StorageError)
    /// Saves the operations state (outside any batch), so every engine reads it in its next batch.
    func saveOperations(_ operations: Operations) throws(StorageError)
    /// The operations state as the deployment has it now (outside any batch): what `health` reports, so an
    /// incident declared through another engine shows on this one before its next batch.
    func loadOperations() throws(StorageError) -> Operations
}

/// What a batch finds in the shared store.
public struct SharedStoreView: Sendable {
    /// The operations state as of this batch (a CTI incident declared through any engine).
    public var operations: Operations
    /// The batch's idempotency keys already answered (by any engine) within the retention window.
    public var keys: [String: IdempotencyKeys.Entry]
    /// Sessions other engines changed since this engine's previous batch, in their latest state.
    public var sessions: [Session]

    public init(operations: Operations, keys: [String: IdempotencyKeys.Entry], sessions: [Session]) {
        self.operations = operations
        self.keys = keys
        self.sessions = sessions
    }
}
