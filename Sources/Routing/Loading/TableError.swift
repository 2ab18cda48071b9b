/// A problem in a table or scenario file, at a file, line and column, saying what was expected.
public struct TableError: Error, Sendable, Hashable, CustomStringConvertible {
    public let mark: SourceMark
    public let message: String

    public init(_ mark: SourceMark, _ message: String) {
        self.mark = mark
        self.message = message
    }

    /// `routing-tables/x.yaml:12:5: error: …`, the form editors and CI logs link to.
    public var description: String { "\(mark): error: \(message)" }
}

/// Every problem found while loading one file; loading reports them all, not just the first.
public struct TableErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [TableError]

    public init(_ errors: [TableError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
