/// What can go wrong in a subscriber's feed that it reports rather than hides.
///
/// A struct over a private code, so cases can be added without breaking a `switch` elsewhere; compare with
/// the static values (`error == .reorderBufferFull`), read ``description`` for the particulars.
public struct EventFeedError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable { case reorderBufferFull }

    private let code: Code
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// Matches any reorder-buffer overflow.
    public static let reorderBufferFull = EventFeedError(.reorderBufferFull, "the reorder buffer is full")

    /// More events waited for a missing `seq` than the reorder buffer holds: the ones that do not fit are
    /// dropped from the live stream and fetched again by replay (nothing is lost; it costs a catch-up).
    static func reorderBufferFull(capacity: Int, waitingFor seq: UInt64) -> EventFeedError {
        EventFeedError(.reorderBufferFull, "the reorder buffer is full (\(capacity) events wait for seq \(seq)); "
            + "events beyond it are dropped from the live stream and replayed from the journal")
    }
}

extension EventFeedError: Equatable {
    /// Equal when of the same kind, whatever the particulars.
    public static func == (a: EventFeedError, b: EventFeedError) -> Bool { a.code == b.code }
}
