#if canImport(Glibc)
import Glibc
#endif

/// A failure of the file system under one of Switchboard's durable files, with the system's reason.
///
/// A struct around a private code, so new kinds can be added without breaking callers; callers that
/// must tell kinds apart compare ``code`` with the static members.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }

        public static let open = Code(name: "open")
        public static let read = Code(name: "read")
        public static let write = Code(name: "write")
        public static let sync = Code(name: "sync")
        public static let truncate = Code(name: "truncate")
        public static let rename = Code(name: "rename")
        /// The file does not hold what its format says (a line that is not a record, a wrong sequence).
        public static let damaged = Code(name: "damaged")
        /// Another process holds the lock.
        public static let locked = Code(name: "locked")
        /// The database of a shared store cannot be reached or refused a statement.
        public static let database = Code(name: "database")
    }

    public let code: Code
    public let path: String
    /// The `errno` of the failed call, or 0 when the failure is about content.
    public let errno: Int32
    public let description: String

    public init(_ code: Code, path: String, errno: Int32, _ what: String) {
        self.code = code
        self.path = path
        self.errno = errno
        self.description = errno == 0 ? "\(path): \(what)" : "\(path): \(what): \(String(cString: strerror(errno)))"
    }

    /// The error of a system call that just failed: reads `errno` at once.
    public static func system(_ code: Code, path: String, _ what: String) -> StorageError {
        StorageError(code, path: path, errno: Glibc.errno, what)
    }

    /// Whether the file system is out of space (or quota): the write may succeed later.
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
}
