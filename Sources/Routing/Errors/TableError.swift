/// A problem in a table or scenario file, at a file, line and column, saying what was expected.
public struct TableError: Error, Sendable, Hashable, CustomStringConvertible {
    public let mark: SourceMark
    public let message: String
    /// A reference to something declared that failed to compile: the failure is reported where it is,
    /// and this consequence of it is dropped, so one mistake gives one error, not a cascade.
    package let isConsequence: Bool

    public init(_ mark: SourceMark, _ message: String) {
        self.init(mark, message, isConsequence: false)
    }

    package init(_ mark: SourceMark, _ message: String, isConsequence: Bool) {
        self.mark = mark
        self.message = message
        self.isConsequence = isConsequence
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
