import EventFeed
import Foundation
@testable import Recorder
import Routing
import TableLanguage
import TestSupport
import Testing
import Wire

/// The recorder's direct reader of event bytes against the whole-event decoder (`Wire.DecodedEvent`).
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct RecordedEventTests {
    static let tables = bundledTableNames

    /// Every event the table's scenarios lead to, encoded as the engine journals and publishes it.
    func scenarioEvents(_ name: String) throws -> [[UInt8]] {
        let folder = repositoryRoot.appendingPathComponent("routing-tables")
        let table = try TableLoader.load(yaml: try String(contentsOf: folder.appendingPathComponent("\(name).yaml"), encoding: .utf8), file: "\(name).yaml")
        let suite = try ScenarioSuite.load(yaml: try String(contentsOf: folder.appendingPathComponent("\(name).scenarios.yaml"), encoding: .utf8),
                                           file: "\(name).scenarios.yaml")
        var sessions = SessionBook()
        var events: [[UInt8]] = []
        for (n, s) in suite.scenarios.enumerated() {
            guard let call = try? Call(value: s.call),
                  let decision = try? table.evaluate(call, at: s.at, operations: Operations(ctiIncident: s.ctiIncident), sessions: &sessions) else { continue }
            let event = DecisionEvent(seq: UInt64(n + 1), eventID: "\(name)-\(n + 1)", at: s.at, atOffset: table.zone.offset(at: s.at),
                                      callID: call.callID, table: table.name, tableVersion: table.version, call: call,
                                      idempotencyKey: n % 2 == 0 ? "key-\(n)" : nil, decision: decision)
            var w = JSONWriter(capacity: 2048)
            event.encode(into: &w)
            events.append(w.bytes)
        }
        return events
    }

    static func read(_ bytes: [UInt8]) throws -> RecordedEvent {
        try bytes.withUnsafeBufferPointer { try RecordedEvent(eventJSON: $0[...]) }
    }

    @Test(arguments: tables)
    func readsWhatTheDecoderReads(_ name: String) throws {
        let events = try scenarioEvents(name)
        #expect(events.count > 10, "\(name): too few scenario events to compare")
        for bytes in events {
            let direct = try Self.read(bytes)
            let decoded = RecordedEvent(try Wire.DecodedEvent(json: bytes))
            #expect(direct == decoded, "\(name): \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    /// The comparison above reaches every kind of column: targets, cases, phrases, text beyond ASCII, or their absence.
    @Test func theScenariosReachEveryKindOfColumn() throws {
        let all = try Self.tables.flatMap { try scenarioEvents($0) }.map { try Self.read($0) }
        #expect(Set(all.map(\.action)).count >= 5)
        #expect(all.contains { $0.target != nil } && all.contains { $0.target == nil })
        #expect(all.contains { $0.caseID != nil } && all.contains { $0.caseID == nil })
        #expect(all.contains { $0.phrasesJSON == "[]" } && all.contains { $0.phrasesJSON.count > 10 })
        #expect(all.contains { $0.comment.unicodeScalars.contains { $0.value > 0x7F } })  // Cyrillic, CJK, accents (escapes: the test above)
    }

    /// Escapes, surrogate pairs, whitespace and members in any order read as the decoder reads them.
    @Test func readsEscapesAndAnyLayout() throws {
        let text = """
            { "decision" : {"phrases" : [ "a\\"b" , "\\ud83d\\ude00 \\u0416" ], "comment":"line\\nnext\\t\\\\ \\/",
              "rule":"r", "case":null, "target":{"via":"cti","mode":"blind","address":"x","id":"t\\u00e9"},"action":"transfer",
              "checks":[], "trace":["{not [a] \\"value\\""]},
              "extra": {"nested": [1, {"a": "}"}]}, "seq": 7, "event_id": "e", "at": "2026-11-23T12:00:00+03:00",
              "call_id": "c", "table": "t", "table_version": "v" }
            """
        let direct = try Self.read(Array(text.utf8))
        #expect(direct.seq == 7 && direct.target == "té" && direct.caseID == nil)
        #expect(direct.comment == "line\nnext\t\\ /")
        let decoded = try JSONReader.parse(direct.phrasesJSON, limits: .trusted)
        #expect(decoded == .array([.string("a\"b"), .string("😀 Ж")]))
    }

    @Test(arguments: [
        (#"{"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"deny","rule":"r","comment":""}}"#, "seq"),
        (#"{"seq":"1","event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"deny","rule":"r","comment":""}}"#, "seq"),
        (#"{"seq":1.5,"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"deny","rule":"r","comment":""}}"#, "seq"),
        (#"{"seq":1,"event_id":"e","at":"yesterday","call_id":"c","table":"t","table_version":"v","decision":{"action":"deny","rule":"r","comment":""}}"#, "at"),
        (#"{"seq":1,"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v"}"#, "decision"),
        (#"{"seq":1,"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"fly","rule":"r","comment":""}}"#, "decision.action"),
        (#"{"seq":1,"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"deny","rule":"r","comment":7}}"#, "decision.comment"),
        (#"{"seq":1,"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"deny","rule":"r","comment":"","phrases":[1]}}"#, "decision.phrases"),
        (#"{"seq":1,"event_id":"e","at":"2026-11-23T12:00:00Z","call_id":"c","table":"t","table_version":"v","decision":{"action":"deny","rule":"r","comment":"","target":{"via":"cti"}}}"#, "decision.target.id"),
    ])
    func refusesWhatTheDecoderRefusesNamingTheMember(_ text: String, _ field: String) throws {
        #expect(throws: (any Error).self) { try Wire.DecodedEvent(json: Array(text.utf8)) }
        do {
            _ = try Self.read(Array(text.utf8))
            Issue.record("read \(text)")
        } catch let error as InputError {
            #expect(error.field == field, "\(error)")
        }
    }

    @Test func refusesWhatIsNotJSON() {
        for text in ["", "[1]", "{\"seq\":1", "{\"seq\" 1}", "{\"event_id\":\"unterminated}"] {
            #expect(throws: InputError.self, "\(text)") { try Self.read(Array(text.utf8)) }
        }
    }
}
