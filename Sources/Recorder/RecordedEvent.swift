import EventFeed
import Routing
import Wire

/// What the recorder stores of one decision event, read straight from the event's JSON bytes.
///
/// The recorder needs ten of an event's members; decoding the whole event (``FeedEvent``) builds every
/// trace line, check and case field as a `Value` and then a `String`, which was most of the recorder's
/// time. This reads the members it stores and steps over the rest. It checks what it stores as
/// `Wire.DecodedEvent` does (types, `at` an ISO 8601 instant, `action` one the contract knows), so an
/// event the decoder refuses is refused here too, with the member named; it does not check members it
/// does not store. `RecordedEventTests` compares it with the decoder on every bundled table's scenarios.
public struct RecordedEvent: FeedRecord, Sendable, Hashable {
    public let seq: UInt64
    public let eventID: String
    public let callID: String
    /// `at` as the event wrote it.
    public let at: String
    public let table: String
    public let tableVersion: String
    public let action: String
    /// The transfer target's `id`, if the decision transfers.
    public let target: String?
    /// The case's `id`, if the decision opens one.
    public let caseID: String?
    public let rule: String
    /// As the event carries it, until ``maskingComment()``; the store masks it unless ``commentIsMasked``.
    public private(set) var comment: String
    /// Whether ``comment`` has been through ``SensitiveData/mask(_:)`` (``maskingComment()``).
    public private(set) var commentIsMasked = false
    /// The decision's `phrases`, a JSON array of strings as the event wrote it (`[]` when absent).
    public let phrasesJSON: String

    /// The columns of an event already decoded whole.
    public init(_ e: Wire.DecodedEvent) {
        var phrases = JSONWriter(capacity: 256)
        phrases.strings(e.decision.phrases)
        seq = e.seq
        eventID = e.eventID
        callID = e.callID
        at = e.atText
        table = e.table
        tableVersion = e.tableVersion
        action = e.decision.action.rawValue
        target = e.decision.target?.id
        caseID = e.decision.case?.id
        rule = e.decision.rule
        comment = e.decision.comment
        phrasesJSON = phrases.string
    }

    public init(eventJSON bytes: UnsafeBufferPointer<UInt8>.SubSequence) throws {
        var seq: Int64?, eventID: String?, callID: String?, at: String?, table: String?, tableVersion: String?
        var action: String?, target: String??, caseID: String??, rule: String?, comment: String?, phrases: String?
        var sawDecision = false
        let buffer = UnsafeBufferPointer(rebasing: bytes)
        var scanner = JSONScanner(buffer)
        /// Runs a read, turning the scanner's failure into an error naming the member.
        func read<T>(_ field: String, _ what: String, _ body: () throws -> T) throws(InputError) -> T {
            do { return try body() } catch let error as InputError { throw error } catch { throw InputError(.badType, "\(field) must be \(what) (\(error)).", field: field) }
        }
        do {
            try scanner.members { key, scanner in
                if JSONScanner.equal(key, "seq") {
                    seq = try read("seq", "a whole number") { try scanner.integer() }
                } else if JSONScanner.equal(key, "event_id") {
                    eventID = try read("event_id", "a string") { try scanner.string() }
                } else if JSONScanner.equal(key, "call_id") {
                    callID = try read("call_id", "a string") { try scanner.string() }
                } else if JSONScanner.equal(key, "at") {
                    at = try read("at", "an ISO 8601 instant") { try scanner.string() }
                } else if JSONScanner.equal(key, "table") {
                    table = try read("table", "a string") { try scanner.string() }
                } else if JSONScanner.equal(key, "table_version") {
                    tableVersion = try read("table_version", "a string") { try scanner.string() }
                } else if JSONScanner.equal(key, "decision") {
                    sawDecision = true
                    try read("decision", "a decision (a JSON object)") {
                        try scanner.members { key, scanner in
                            if JSONScanner.equal(key, "action") {
                                action = try read("decision.action", "a string") { try scanner.string() }
                            } else if JSONScanner.equal(key, "target") {
                                target = try read("decision.target", "a transfer target or null") { try RecordedEvent.id(&scanner, "decision.target") }
                            } else if JSONScanner.equal(key, "case") {
                                caseID = try read("decision.case", "a case or null") { try RecordedEvent.id(&scanner, "decision.case") }
                            } else if JSONScanner.equal(key, "rule") {
                                rule = try read("decision.rule", "a string") { try scanner.string() }
                            } else if JSONScanner.equal(key, "comment") {
                                comment = try read("decision.comment", "a string") { try scanner.string() }
                            } else if JSONScanner.equal(key, "phrases") {
                                phrases = try read("decision.phrases", "an array of strings") { try RecordedEvent.strings(&scanner, in: buffer) }
                            } else {
                                try scanner.skipValue()
                            }
                        }
                    }
                } else {
                    try scanner.skipValue()
                }
            }
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError(.badJSON, "an event must be a JSON object (\(error)).")
        }
        func required<T>(_ value: T?, _ field: String) throws(InputError) -> T {
            guard let value else { throw InputError(.missingField, "\(field) is required.", field: field) }
            return value
        }
        let whole = try required(seq, "seq")
        guard whole >= 0 else { throw InputError(.badType, "seq must be a whole number from 0.", field: "seq") }
        self.seq = UInt64(whole)
        self.eventID = try required(eventID, "event_id")
        self.callID = try required(callID, "call_id")
        let atText = try required(at, "at")
        guard Timestamp.parse(atText) != nil else {
            throw InputError(.badTime, "at \"\(atText)\" is not an ISO 8601 instant with an offset.", field: "at")
        }
        self.at = atText
        self.table = try required(table, "table")
        self.tableVersion = try required(tableVersion, "table_version")
        guard sawDecision else { throw InputError(.missingField, "decision is required.", field: "decision") }
        let actionText = try required(action, "decision.action")
        guard Decision.Action(rawValue: actionText) != nil else {
            throw InputError(.badType, "decision.action must be one of transfer, case, first_line, deny, prompt, self_service, step, got \"\(actionText)\".",
                             field: "decision.action")
        }
        self.action = actionText
        self.target = target ?? nil
        self.caseID = caseID ?? nil
        self.rule = try required(rule, "decision.rule")
        self.comment = try required(comment, "decision.comment")
        self.phrasesJSON = phrases ?? "[]"
    }

    /// The event with its comment masked, so whichever thread calls this does the masking, not the store's.
    public func maskingComment() -> RecordedEvent {
        guard !commentIsMasked else { return self }
        var masked = self
        masked.comment = SensitiveData.mask(comment)
        masked.commentIsMasked = true
        return masked
    }

    /// The `id` of an object member (a transfer target, a case), or nil for null.
    private static func id(_ scanner: inout JSONScanner, _ field: String) throws -> String? {
        if scanner.null() { return nil }
        var id: String?
        try scanner.members { key, scanner in
            if JSONScanner.equal(key, "id") { id = try scanner.string() } else { try scanner.skipValue() }
        }
        guard let id else { throw InputError(.missingField, "\(field).id is required.", field: "\(field).id") }
        return id
    }

    /// An array of strings, checked, as its JSON text.
    private static func strings(_ scanner: inout JSONScanner, in buffer: UnsafeBufferPointer<UInt8>) throws -> String {
        _ = scanner.peek()  // past any whitespace before the array
        let start = scanner.position
        try scanner.elements { scanner in _ = try scanner.string() }
        return String(decoding: buffer[start..<scanner.position], as: UTF8.self)
    }
}
