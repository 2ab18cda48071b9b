import EventFeed

/// Where the recorder keeps the interaction comments: a SQLite file (``CommentStore``, the default) or a
/// PostgreSQL database a CRM reads (``PostgresCommentStore``). Both keep the same rows and the same promise.
///
/// The promise: ``store(_:)`` writes a contiguous batch and its last `seq` in one transaction, durably; one
/// row per `event_id` however often an event is stored (a replay after a crash repeats some); so
/// ``lastSeq()`` after any crash says exactly where to resume, and nothing is lost or doubled.
public protocol CommentStorage: Sendable {
    /// Where the comments are, for logs: a path, or a database URL without its password.
    var location: String { get }
    /// The last `seq` stored; 0 when none.
    func lastSeq() throws -> UInt64
    /// Stores a contiguous batch of events and its last `seq` in one transaction, masking sensitive data.
    func store(_ events: [RecordedEvent]) throws
    /// The stored comments in `seq` order, of one call or all.
    func comments(callID: String?, _ body: (CommentStore.Row) -> Void) throws
    /// How many comments are stored, and how many distinct `event_id`s and `seq`s among them.
    func counts() throws -> (rows: Int, distinctEvents: Int, distinctSeqs: Int)
}

extension CommentStorage {
    /// Stores events decoded whole (as the CTI adapter and the gateway receive them).
    public func store(_ events: [FeedEvent]) throws {
        try store(events.map { RecordedEvent($0.event) })
    }
}

extension CommentStore: CommentStorage {
    public var location: String { path }
}

/// Opens the comment store a `--db` option names: a `postgres://` or `postgresql://` URL is a
/// ``PostgresCommentStore``, anything else the path of a SQLite file (``CommentStore``).
public func openCommentStorage(_ location: String) throws -> any CommentStorage {
    if isPostgresURL(location) { return try PostgresCommentStore(url: location) }
    return try CommentStore(path: location)
}

/// Whether a `--db` value names a PostgreSQL database rather than a SQLite file.
public func isPostgresURL(_ location: String) -> Bool {
    location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
}
