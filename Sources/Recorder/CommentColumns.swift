import EventFeed
import Routing
import Wire

/// A comment row's columns, as the recorder stores them in any ``CommentStorage`` and `comments` prints them.
enum CommentColumns {
    /// Column names, in storage order.
    static let names = ["event_id", "seq", "call_id", "at", "table_name", "table_version", "action", "target", "case_id", "rule", "comment", "phrases", "stored_at"]

    /// Where `seq` is in ``names``.
    static let seqIndex = names.firstIndex(of: "seq")!

    /// The values of an event's row, in the order of ``names``, as text (nil for NULL); the comment masked.
    static func values(_ e: RecordedEvent, storedAt: String) -> [String?] {
        [e.eventID, String(e.seq), e.callID, e.at, e.table, e.tableVersion, e.action, e.target, e.caseID,
         e.rule, e.commentIsMasked ? e.comment : SensitiveData.mask(e.comment), e.phrasesJSON, storedAt]
    }

    /// A stored row as `switchboard comments` prints it, from a column's text by name.
    static func row(_ text: (String) -> String?) -> CommentStore.Row {
        func field(_ column: String) -> Value { text(column).map(Value.string) ?? .null }
        let phrases = text("phrases").flatMap { try? JSONReader.parse($0, limits: .trusted) } ?? .array([])
        return CommentStore.Row(fields: [
            ("event_id", field("event_id")), ("seq", .number(Double(text("seq").flatMap { Int64($0) } ?? 0))), ("call_id", field("call_id")),
            ("at", field("at")), ("table", field("table_name")), ("table_version", field("table_version")),
            ("action", field("action")), ("target", field("target")), ("case", field("case_id")), ("rule", field("rule")),
            ("comment", field("comment")), ("phrases", phrases), ("stored_at", field("stored_at")),
        ])
    }
}
