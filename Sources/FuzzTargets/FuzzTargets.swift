import Foundation
import Routing
import TableLanguage
import Wire

/// What the fuzzers run on each input, shared with the regression tests that replay kept inputs.
///
/// Each function must never trap: any bytes are either accepted or refused with an error value.
public enum FuzzTargets {
    /// Where the flagship table is: `SWITCHBOARD_FUZZ_TABLE`, or `routing-tables/` from the repository root.
    static var tablePath: String {
        ProcessInfo.processInfo.environment["SWITCHBOARD_FUZZ_TABLE"] ?? "routing-tables/retention-ru.yaml"
    }

    /// The flagship table, loaded once, or why it did not load.
    static let loaded: Result<Table, any Error> = Result {
        let path = tablePath
        return try TableLoader.load(yaml: try String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    /// The table the request target evaluates against.
    /// - Throws: why it did not load (a missing file, a table that does not compile).
    public static func flagshipTable() throws -> Table { try loaded.get() }

    /// The table, or a crash that says why: a fuzzer that silently skipped evaluation would look clean.
    static var table: Table {
        switch loaded {
        case .success(let table): return table
        case .failure(let error):
            fatalError("FuzzTargets: the table at \(tablePath) did not load (\(error)); run from the repository root or set SWITCHBOARD_FUZZ_TABLE")
        }
    }

    /// The engine's request path: decode a query, decide it, write its event and the reply as `EngineCore.decide`
    /// does (the event with its id and decision in place, the reply from slices of it). The engine reads a call
    /// for a table it serves straight into the table's slots; read without the tables, the same bytes must give
    /// the same event and reply.
    public static func request(_ bytes: [UInt8]) {
        let served = answer(bytes, tables: [table.name: table])
        let unserved = answer(bytes, tables: [:])
        precondition(served.event == unserved.event && served.reply == unserved.reply,
                     "a call read into the table's slots was answered otherwise than one read as members")
    }

    /// The event (empty for an error) and the reply to a query, read with `tables`.
    static func answer(_ bytes: [UInt8], tables: [String: Table]) -> (event: [UInt8], reply: [UInt8]) {
        let (id, decoded) = QueryRequest.decodeKeepingID(bytes, tables: tables)
        var w = JSONWriter()
        var eventBytes: [UInt8] = []
        switch decoded {
        case .failure(let error):
            Wire.encodeReply(id: id, error: error, into: &w)
        case .success(let request):
            let table = Self.table
            do {
                let at = request.at ?? Instant(seconds: 1_795_380_900)
                let decision = try table.evaluate(request.call, at: at)
                var output = JSONWriter()
                let event = DecisionEvent.write(seq: 1, eventIDs: eventIDs, at: at, atOffset: table.zone.offset(at: at), callID: request.call.callID,
                                                table: table.name, tableVersion: table.version, call: request.call,
                                                idempotencyKey: request.idempotencyKey, decision: decision, into: &output)
                precondition((try? JSONReader.parse(event.bytes, limits: .trusted)) != nil, "the engine wrote an event that is not JSON")
                eventBytes = event.bytes
                Wire.encodeReply(id: id, seq: 1, eventIDJSON: event.eventIDJSON, decisionJSON: event.decisionJSON, into: &w)
            } catch {
                Wire.encodeReply(id: id, error: error, into: &w)
            }
        }
        // The reply must itself be valid JSON.
        precondition((try? JSONReader.parse(w.bytes, limits: .trusted)) != nil, "the engine wrote a reply that is not JSON")
        return (eventBytes, w.bytes)
    }

    /// Event ids as a journal with an id that needs escaping would write them.
    static let eventIDs = EventIDPrefix(journalID: "fuzz\"journal")

    /// The table loader: any text loads or is refused with positioned errors.
    public static func table(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        do {
            let table = try TableLoader.load(yaml: text, file: "fuzz.yaml")
            // A table that loads must decide its topics without trapping.
            for topic in table.topics {
                _ = try? table.evaluate(Call(callID: "f", topic: topic.code), at: Instant(seconds: 1_795_380_900))
            }
        } catch {
            precondition(error.errors.allSatisfy { $0.mark.line >= 1 && $0.mark.column >= 1 }, "an error without a position")
        }
    }
}
