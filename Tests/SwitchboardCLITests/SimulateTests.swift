import Foundation
import TestSupport
import Testing
import Wire

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct SimulateTests {
    /// A brief simulation against a real engine: every call answered, every decision published once, identical.
    @Test(arguments: [["--rate", "1500", "--calls", "2000"], ["--clients", "3", "--in-flight", "4", "--calls", "3000"]])
    func accountsForEveryDecision(mode: [String]) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let answers = folder.appendingPathComponent("answers.jsonl")
        // A reply timeout far beyond any wait of a loaded machine (a debug engine beside the other tests once took
        // more than the default 2.5 s): a retry or failover below then means a reply was lost, not late.
        let r = try CLI.run(["simulate", "--query", serve.endpoints["query"]!, "--events", serve.endpoints["events"]!, "--seed", "1", "--json",
                             "--answers", answers.path, "--timeout-ms", "60000"] + mode)
        #expect(r.status == 0, "\(r.stderr)")
        let s = try JSONReader.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let sent = mode.last.flatMap(Double.init)!
        #expect(s["sent"] == .number(sent))
        #expect(s["answered"] == .number(sent))
        #expect(s["unanswered"] == .number(0))
        // Decided, not refused: a run whose every query is an error would account for nothing.
        if case .number(let decisions)? = s["decisions"] { #expect(decisions >= sent * 0.8, "\(r.stdout)") } else { Issue.record("no decisions in \(r.stdout)") }
        #expect(s["errors"]?["unknown_field"] == nil && s["errors"]?["idempotency_key_reused"] == nil, "\(r.stdout)")
        #expect(s["gave_up"] == .number(0))
        #expect(s["events"]?["matched"] == s["decisions"])
        #expect(s["events"]?["received"] == s["decisions"])
        #expect(s["events"]?["mismatched"] == .number(0))
        #expect(s["events"]?["missing"] == .number(0))
        #expect(s["events"]?["seq_gaps"] == .number(0))
        if case .number(let p50)? = s["latency_us"]?["p50"], case .number(let p99)? = s["latency_us"]?["p99"] { #expect(p50 > 0 && p99 >= p50) }
        #expect(r.stderr.contains("sent"))  // progress
        #expect(s["failovers"]?[serve.endpoints["query"]!] == .number(0) && s["unavailable_replies"] == .number(0), "\(r.stdout)")
        // --answers: one line per query, each decision with its own seq and event id, errors with their code.
        let lines = try String(contentsOf: answers, encoding: .utf8).split(separator: "\n").map { try JSONReader.parse(String($0)) }
        #expect(lines.count == Int(sent))
        #expect(Set(lines.compactMap { $0["idempotency_key"]?.text }).count == Int(sent), "a key listed twice or missing")
        let decided = lines.filter { $0["seq"] != nil }
        #expect(.number(Double(decided.count)) == s["decisions"], "\(decided.count) decisions listed")
        #expect(Set(decided.compactMap { $0["seq"] }).count == decided.count && Set(decided.compactMap { $0["event_id"]?.text }).count == decided.count)
        #expect(lines.filter { $0["seq"] == nil }.allSatisfy { $0["error"]?.text != nil && $0["event_id"] == nil })
        #expect(lines.allSatisfy { $0["answered_by"]?.text == serve.endpoints["query"]! && $0["tries"] == .number(1) }, "\(lines.prefix(3))")
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    @Test func noEngineIsAClearError() throws {
        let r = try CLI.run(["simulate", "--query", "tcp://127.0.0.1:1", "--events", "tcp://127.0.0.1:2", "--calls", "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("is the engine running?"))
    }
}
