import Foundation
import TestSupport
import Testing
@testable import Engine
import EngineCore
import Routing
import TableLanguage
import Wire

/// The fraud-alert playbook over the query endpoint: sessions kept in the data folder across restarts,
/// the attempt limit and the merge window at their edges.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EnginePlaybookTests {
    static func tables() -> TemporaryFolder {
        let folder = TemporaryFolder("tables")
        try! FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("routing-tables/es-fraud-alerts.yaml"),
                                          to: folder.url.appendingPathComponent("es-fraud-alerts.yaml"))
        return folder
    }

    func alert(_ id: Int, alert: String, customer: String = "C1", operation: String = "OP1", outcome: String? = nil,
               at: String = "2026-11-23T10:00:00+01:00") -> String {
        let reported = outcome.map { #","outcome":"\#($0)""# } ?? ""
        return #"{"id":\#(id),"table":"es-fraud-alerts","at":"\#(at)","call":{"call_id":"out-\#(id)","topic":"alert","customer":{"id":"\#(customer)","landline":true,"office":"oficina"},"facts":{"alert_id":"\#(alert)","operation":"\#(operation)"\#(reported)}}}"#
    }

    func step(_ reply: Value) -> (step: String, attempt: Int, done: Bool, mergedInto: String?)? {
        guard let p = reply["decision"]?["playbook"], case .string(let s)? = p["step"], case .number(let a)? = p["attempt"],
              case .bool(let d)? = p["done"] else { return nil }
        let merged: String? = if case .string(let m)? = p["merged_into"] { m } else { nil }
        return (s, Int(a), d, merged)
    }

    @Test func sessionsSurviveARestartAndTheAttemptLimitHolds() throws {
        let tables = Self.tables()
        let data = TemporaryFolder("data")
        var first: RunningEngine? = try RunningEngine(tables: tables, data: data)
        var req = try first!.requestSocket()
        #expect(step(try first!.ask(req, alert(1, alert: "A1")))! == ("contact", 1, false, nil))
        #expect(step(try first!.ask(req, alert(2, alert: "A1", outcome: "no_answer")))! == ("contact", 2, false, nil))
        req.close()
        first!.stop()
        first = nil

        // A new engine on the same data folder finds the session where it was.
        let second = try RunningEngine(tables: tables, data: data)
        req = try second.requestSocket()
        #expect(step(try second.ask(req, alert(3, alert: "A1")))! == ("contact", 2, false, nil))
        #expect(step(try second.ask(req, alert(4, alert: "A1", outcome: "no_answer")))! == ("contact", 3, false, nil))
        // The third unanswered attempt is the last: the fourth entry goes to the no-answer steps.
        #expect(step(try second.ask(req, alert(5, alert: "A1", outcome: "no_answer")))! == ("no_answer", 1, true, nil))
        let closed = try second.ask(req, alert(6, alert: "A1", outcome: "confirmed"))
        #expect(closed["error"]?["code"] == .string("session_closed"))
        #expect(closed["id"] == .number(6))
        let health = try second.control(#"{"cmd":"health"}"#)
        #expect(health["sessions"]?["finished"] == .number(1))
    }

    @Test func mergeWindowEdgesOverTheQueryEndpoint() throws {
        let e = try RunningEngine(tables: Self.tables())
        let req = try e.requestSocket()
        #expect(step(try e.ask(req, alert(1, alert: "M1", customer: "C9", operation: "OP9", at: "2026-11-23T15:00:00+01:00")))!.mergedInto == nil)
        // 29:59 later: the same situation, handled as one case.
        let duplicate = step(try e.ask(req, alert(2, alert: "M2", customer: "C9", operation: "OP9", at: "2026-11-23T15:29:59+01:00")))!
        #expect(duplicate == ("duplicate", 1, true, "M1"))
        // Another operation of the same customer inside the window needs its own confirmation.
        #expect(step(try e.ask(req, alert(3, alert: "M3", customer: "C9", operation: "OP10", at: "2026-11-23T15:10:00+01:00")))! == ("contact", 1, false, nil))
        // Exactly 30:00 later: a new situation.
        #expect(step(try e.ask(req, alert(4, alert: "M4", customer: "C9", operation: "OP9", at: "2026-11-23T15:30:00+01:00")))! == ("contact", 1, false, nil))
    }

    @Test func aRefusedReportChangesNothingAndErrorsAreNotPublished() throws {
        let e = try RunningEngine(tables: Self.tables())
        let req = try e.requestSocket()
        let unknown = try e.ask(req, alert(1, alert: "X1", outcome: "confirmed"))
        #expect(unknown["error"]?["code"] == .string("unknown_session"))
        _ = try e.ask(req, alert(2, alert: "A7"))
        let bad = try e.ask(req, alert(3, alert: "A7", outcome: "maybe"))
        #expect(bad["error"]?["code"] == .string("bad_outcome"))
        #expect(bad["error"]?["field"] == .string("facts.outcome"))
        #expect(step(try e.ask(req, alert(4, alert: "A7")))! == ("contact", 1, false, nil))
        let lines = try String(contentsOfFile: e.data.url.appendingPathComponent("journal.jsonl").path, encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 2)
    }

    @Test func theSessionFileIsCompactedAtOpening() throws {
        let data = TemporaryFolder("data")
        let path = data.url.appendingPathComponent("sessions.jsonl").path
        let table = try TableLoader.load(yaml: String(contentsOfFile: repositoryRoot.appendingPathComponent("routing-tables/es-fraud-alerts.yaml").path, encoding: .utf8),
                                         file: "es-fraud-alerts.yaml")
        var book = SessionBook()
        let file = try SessionFile(path: path, now: Instant(seconds: 1_795_000_000), logger: .init(label: "test"))
        let customer: [String: Value] = ["id": .string("C1"), "landline": .bool(false), "office": .string("oficina")]
        for (n, outcome) in [nil, "no_answer", "no_answer"].enumerated() {
            var facts: [String: Value] = ["alert_id": .string("A1"), "operation": .string("OP")]
            if let outcome { facts["outcome"] = .string(outcome) }
            _ = try table.evaluate(Call(callID: "c\(n)", topic: "alert", customer: customer, facts: facts),
                                   at: Instant(seconds: 1_795_000_000 + Int64(n) * 60), operations: Operations(), sessions: &book)
            try file.append(book.pendingChanges)
            book.commit()
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 3)
        // A power cut mid-write leaves a torn last line: it is dropped, the rest kept.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"table":"es-fraud"#.utf8))
        try handle.close()
        let reopened = try SessionFile(path: path, now: Instant(seconds: 1_795_000_300), logger: .init(label: "test"))
        #expect(reopened.loaded[table: "es-fraud-alerts", topic: "alert", id: "A1"]?.visits["contact"] == 3)
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 1)
        // Finished sessions older than the retention are dropped; open ones are kept however old.
        let later = try SessionFile(path: path, now: Instant(seconds: 1_795_000_000 + SessionFile.defaultRetention + 3600), logger: .init(label: "test"))
        #expect(later.loaded.count == 1)
    }
}

/// The broadband next-step playbooks over the query endpoint: one session per call, across a restart.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EngineNextStepTests {
    @Test func technicianNoShowWalksToSupervisionAcrossARestart() throws {
        let tables = TemporaryFolder("tables")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("routing-tables/br-broadband.yaml"),
                                         to: tables.url.appendingPathComponent("br-broadband.yaml"))
        let data = TemporaryFolder("data")
        func ask(_ e: RunningEngine, _ id: Int, outcome: String?) throws -> Value {
            let facts = outcome.map { #"{"outcome":"\#($0)"}"# } ?? "{}"
            return try e.ask(try e.requestSocket(), #"{"id":\#(id),"table":"br-broadband","call":{"call_id":"tn-77","topic":"technician_no_show","facts":\#(facts)}}"#)
        }
        var first: RunningEngine? = try RunningEngine(tables: tables, data: data)
        #expect(try ask(first!, 1, outcome: nil)["decision"]?["playbook"]?["step"] == .string("repair_flow"))
        #expect(try ask(first!, 2, outcome: "done")["decision"]?["playbook"]?["step"] == .string("history"))
        let complaint = try ask(first!, 3, outcome: "done")["decision"]
        #expect(complaint?["action"] == .string("case"))
        #expect(complaint?["case"]?["id"] == .string("late-complaint"))
        first!.stop()
        first = nil
        let second = try RunningEngine(tables: tables, data: data)
        #expect(try ask(second, 4, outcome: "done")["decision"]?["playbook"]?["step"] == .string("apologize"))
        let last = try ask(second, 5, outcome: "done")["decision"]
        #expect(last?["action"] == .string("transfer"))
        #expect(last?["target"]?["id"] == .string("supervision"))
        #expect(last?["playbook"]?["done"] == .bool(true))
    }
}
