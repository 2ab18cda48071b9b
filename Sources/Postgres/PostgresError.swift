/// A PostgreSQL failure: the server's SQLSTATE and message, or libpq's words when the connection failed.
///
/// A struct around a kind, so new kinds can be added without breaking callers; callers that must tell
/// failures apart use ``kind``, ``sqlState`` or the predicates below.
public struct PostgresError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }

        /// No connection, or it was lost: the server is unreachable, shut down, or the network is cut.
        public static let connection = Kind(name: "connection")
        /// The server refused a statement (syntax, constraint, serialization, …): see ``PostgresError/sqlState``.
        public static let query = Kind(name: "query")
        /// Something libpq or the server said that fits no statement (out of memory, a bad parameter).
        public static let client = Kind(name: "client")
    }

    public let kind: Kind
    /// The five-character SQLSTATE (`23505`, `40001`, `08006`), when the server sent one.
    public let sqlState: String?
    /// The primary message, one line.
    public let message: String

    public init(_ kind: Kind, sqlState: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String {
        if let sqlState { return "postgres \(kind) error \(sqlState): \(message)" }
        return "postgres \(kind) error: \(message)"
    }

    /// The connection is gone or never was (SQLSTATE class 08, an administrator shutdown 57P01–57P03,
    /// or no server answer at all): reconnect and retry the whole transaction.
    public var isConnectionLost: Bool {
        if kind == .connection { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// The transaction lost a race (serialization failure 40001 or deadlock 40P01): retry it as a whole.
    public var isTransactionConflict: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// A unique constraint refused the row (23505).
    public var isUniqueViolation: Bool { sqlState == "23505" }
}
