import Foundation
import TestSupport
import Testing
import Routing
import Wire

/// Menus and playbooks from the command line: `route --sessions` keeps a playbook's session between runs.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct FlowCommandTests {
    func alert(_ outcome: String? = nil) -> String {
        let reported = outcome.map { #","outcome":"\#($0)""# } ?? ""
        return #"{"call_id":"o-1","topic":"alert","customer":{"id":"C1","landline":false,"office":"wefferent"},"facts":{"alert_id":"A1","operation":"OP1"\#(reported)}}"#
    }

    @Test func routeKeepsPlaybookSessionsInTheGivenFile() throws {
        let folder = temporaryFolder()  // --sessions needs its folder to exist
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("sessions.jsonl").path
        func step(_ call: String) throws -> Value {
            let r = try CLI.run(["route", "--table", "es-fraud-alerts", "--sessions", file, "--at", "2026-11-23T10:00:00+01:00", "--call", call])
            return try JSONReader.parse(r.stdout.trimmingCharacters(in: .newlines))
        }
        #expect(try step(alert())["playbook"]?["attempt"] == .number(1))
        #expect(try step(alert("not_holder"))["playbook"]?["attempt"] == .number(2))
        let failed = try step(alert("failed_security"))
        #expect(failed["action"] == .string("step"))
        #expect(failed["playbook"]?["step"] == .string("failed_security"))
        #expect(failed["playbook"]?["done"] == .bool(true))
        let closed = try CLI.run(["route", "--table", "es-fraud-alerts", "--sessions", file, "--call", alert("confirmed")])
        #expect(closed.status == 2)
        #expect(closed.stdout.contains("session_closed"))
    }

    @Test func withoutASessionFileABatchSharesOneSetOfSessions() throws {
        let lines = [alert(), alert("no_answer"), alert("no_answer"), alert("no_answer")].map { #"{"at":"2026-11-23T10:00:00+01:00","call":\#($0)}"# }
        let r = try CLI.run(["route", "--table", "es-fraud-alerts", "--batch"], stdin: lines.joined(separator: "\n") + "\n")
        #expect(r.status == 0, "\(r.stderr)")
        let steps = try r.lines.map { try JSONReader.parse($0)["playbook"]?["step"] }
        #expect(steps == [.string("contact"), .string("contact"), .string("contact"), .string("no_answer")])
        // A single call without --sessions starts afresh each time.
        let again = try CLI.run(["route", "--table", "es-fraud-alerts", "--call", alert("no_answer")])
        #expect(again.stdout.contains("unknown_session"))
    }

    @Test func menuWalkFromTheCommandLine() throws {
        let r = try CLI.run(["route", "--table", "es-ivr-unblock", "--call", #"{"call_id":"ivr-1","topic":"unblock","facts":{"digits":"23"}}"#])
        #expect(r.status == 0, "\(r.stderr)")
        let d = try JSONReader.parse(r.stdout.trimmingCharacters(in: .newlines))
        #expect(d["action"] == .string("prompt"))
        #expect(d["menu"]?["node"] == .string("other"))
        #expect(d["menu"]?["prompt"] == .string("To unblock or recover your signature, press 1. To get your SMS signature key, press 2."))
    }
}

/// `route --sessions` replaying a past day: finished sessions are kept by the instant decided at, not the wall clock.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct SessionReplayTests {
    func alert(_ outcome: String? = nil) -> String {
        let reported = outcome.map { #","outcome":"\#($0)""# } ?? ""
        return #"{"call_id":"o-9","topic":"alert","customer":{"id":"C9","landline":false,"office":"oficina"},"facts":{"alert_id":"P1","operation":"OP9"\#(reported)}}"#
    }

    @Test func aFinishedSessionOfAPastDayStaysClosed() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("sessions.jsonl").path
        let day = "2025-06-02T10:00:00+02:00"  // long before the wall clock: more than the 30 days of retention
        #expect(try CLI.run(["route", "--table", "es-fraud-alerts", "--sessions", file, "--at", day, "--call", alert()]).status == 0)
        let done = try CLI.run(["route", "--table", "es-fraud-alerts", "--sessions", file, "--at", day, "--call", alert("confirmed")])
        #expect(done.stdout.contains(#""done":true"#), "\(done.stdout)")
        let again = try CLI.run(["route", "--table", "es-fraud-alerts", "--sessions", file, "--at", "2025-06-02T10:05:00+02:00", "--call", alert("confirmed")])
        #expect(again.status == 2)
        #expect(again.stdout.contains("session_closed"), "\(again.stdout)")
        // Asked without --at (now), the finished session is older than the retention and is dropped: a new session.
        let today = try CLI.run(["route", "--table", "es-fraud-alerts", "--sessions", file, "--call", alert()])
        #expect(today.stdout.contains(#""attempt":1"#), "\(today.stdout)")
    }
}
