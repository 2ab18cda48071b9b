import Storage

/// The durable, ordered record of every decision answered, `seq` from 1 rising by exactly one.
///
/// The engine core writes a batch's events here before any of their replies leave, and refuses to
/// decide while ``failure`` says the storage cannot keep what it is given. ``FileJournal`` is the
/// embedded implementation; tests put an in-memory or failing one in its place.
public protocol EventJournal: AnyObject {
    /// Names this journal in every `event_id`, so ids stay unique if a journal is ever started afresh. Constant
    /// for the journal's life: the engine renders its ids' prefix from it once (`EventIDPrefix`).
    var journalID: String { get }
    /// The last `seq` written; 0 for an empty journal.
    var lastSeq: UInt64 { get }
    /// The highest `seq` known to be durable.
    var syncedSeq: UInt64 { get }
    /// Why the journal cannot currently keep what it is given (a failing sync), or nil when it can.
    var failure: StorageError? { get }
    /// Appends the events of `lastSeq + 1` on, in order: all are written when this returns, or none is.
    func append(_ events: [[UInt8]]) throws(StorageError)
    /// Up to `max` events from `seq` on, verbatim, stopping before `maxBytes` would be passed (at least one).
    /// - Throws: when the storage cannot be read: never an empty answer for events that exist.
    func read(from seq: UInt64, max: Int, maxBytes: Int) throws(StorageError) -> [ArraySlice<UInt8>]
    /// Makes everything written durable now (at shutdown).
    func sync() throws(StorageError)
}

extension EventJournal {
    /// The event of `seq`, verbatim.
    public func event(_ seq: UInt64) throws(StorageError) -> ArraySlice<UInt8>? {
        guard seq >= 1, seq <= lastSeq else { return nil }
        return try read(from: seq, max: 1, maxBytes: .max).first
    }
}
