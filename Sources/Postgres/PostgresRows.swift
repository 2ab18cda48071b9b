/// What a statement returned: column names and rows of values in PostgreSQL's text format (`NULL` is nil).
public struct PostgresRows: Sendable, Hashable, RandomAccessCollection {
    public let columns: [String]
    public let rows: [[String?]]
    /// Rows inserted, updated or deleted (`PQcmdTuples`); 0 for other statements.
    public let affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public var startIndex: Int { rows.startIndex }
    public var endIndex: Int { rows.endIndex }
    public subscript(position: Int) -> [String?] { rows[position] }

    /// The value of `column` in row `row`; nil for SQL NULL or a column not returned.
    /// - Complexity: O(number of columns).
    public func value(_ row: Int, _ column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }
}
