import Foundation
import LocalPostgres
import Postgres
import Recorder
import Routing
import Testing
import Wire

/// Issue #18's failover test: PostgreSQL and three engines each on a host of its own (a network namespace on
/// a bridge, `tools/netns-lab`), driven by `simulate` across all three while one engine is killed with
/// SIGKILL and restarted and another is cut off the network and restored.
@Suite(.serialized, .timeLimit(.minutes(5))) struct NetnsFailoverProcessTests {
    /// The namespaces of one run: a unique prefix and a /24 of its own, removed by ``down()``.
    struct Lab {
        let prefix: String
        let net: String
        func address(_ host: Int) -> String { "\(net).\(host)" }

        /// Nil (with the reason printed) where namespaces cannot be made: not root, no `ip`, no netns support.
        static func up() -> Lab? {
            let prefix = "sb" + UUID().uuidString.prefix(6).lowercased()
            let net = "10.\(200 + Int.random(in: 0..<50)).\(Int.random(in: 0..<256))"
            let r = Self.tool(["up", prefix, net])
            guard r.status == 0 else {
                print("SKIPPED NetnsFailoverProcessTests: network namespaces cannot be made here (tools/netns-lab up: \(r.output.trimmingCharacters(in: .whitespacesAndNewlines)))")
                return nil
            }
            return Lab(prefix: prefix, net: net)
        }

        func down() { _ = Self.tool(["down", prefix]) }

        /// Takes an engine's only link down or up, from inside its namespace.
        func link(_ host: String, up: Bool) throws {
            let r = Self.run("/usr/sbin/ip", ["netns", "exec", prefix + host, "ip", "link", "set", prefix + host, up ? "up" : "down"])
            guard r.status == 0 else { throw LabFailure(message: r.output) }
        }

        static func tool(_ arguments: [String]) -> (status: Int32, output: String) {
            run("/bin/bash", [CLI.root.appendingPathComponent("tools/netns-lab").path] + arguments)
        }

        static func run(_ path: String, _ arguments: [String]) -> (status: Int32, output: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: path)
            p.arguments = arguments
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            p.standardInput = FileHandle.nullDevice
            do { try p.run() } catch { return (-1, "\(error)") }
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
    }

    struct LabFailure: Error { let message: String }

    /// One query sent Lazy Pirate style: each engine in turn, `timeout` ms each, until one answers.
    func askAny(_ endpoints: [String], _ body: String, timeout: Int32) throws -> Value? {
        for endpoint in endpoints { if let reply = try askOnce(endpoint, body, timeout: timeout) { return reply } }
        return nil
    }

    @Test func killNineAndCutOffAcrossThreeHostsLoseAndDoubleNothing() throws {
        guard let lab = Lab.up() else { return }
        defer { lab.down() }
        let postgres = try LocalPostgresServer(listen: lab.address(1), networkNamespace: lab.prefix + "pg")
        let folders = (0..<3).map { _ in temporaryFolder() }
        defer { for f in folders { try? FileManager.default.removeItem(at: f) } }
        let hosts = ["e1", "e2", "e3"]
        func start(_ i: Int) throws -> ServeProcess {
            try ServeProcess(data: folders[i], extra: ["--store", postgres.url], address: lab.address(i + 2), fixedPorts: true,
                             networkNamespace: lab.prefix + hosts[i])
        }
        var engines = try (0..<3).map(start)
        defer { for e in engines where e.process.isRunning { e.signal(SIGKILL); _ = e.waitForExit() } }
        let all = { (name: String) in engines.map { $0.endpoints[name]! }.joined(separator: ",") }
        let queries = engines.map { $0.endpoints["query"]! }

        let recorder = try RecorderProcess(db: postgres.url, endpoints: ["events": all("events"), "replay": all("replay")])
        recorder.waitUntilRecording()
        // The CTI adapter with the log driver, across all three: its command file shows every transfer performed.
        let ctiFolder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: ctiFolder) }
        let commands = ctiFolder.appendingPathComponent("commands.jsonl")
        let cti = Process()
        cti.executableURL = CLI.executable
        // No incident is declared here: the operator key is CTIProcessTests' placeholder.
        cti.arguments = ["cti", "--driver", "log", "--commands", commands.path, "--record", ctiFolder.appendingPathComponent("record.log").path,
                         "--events", all("events"), "--replay", all("replay"), "--control", engines[2].endpoints["control"]!,
                         "--log-level", "error", "--operator-key", try CTIProcessTests.operatorKey(ctiFolder)]
        cti.standardOutput = FileHandle.nullDevice
        cti.standardError = FileHandle.nullDevice
        try cti.run()
        defer { if cti.isRunning { kill(cti.processIdentifier, SIGKILL); cti.waitUntilExit() } }

        // simulate in the root namespace, across all three, for the whole of the disturbance.
        let summary = temporaryFolder().appendingPathComponent("simulate.json")
        defer { try? FileManager.default.removeItem(at: summary.deletingLastPathComponent()) }
        FileManager.default.createFile(atPath: summary.path, contents: nil)
        let simulate = Process()
        simulate.executableURL = CLI.executable
        simulate.currentDirectoryURL = CLI.root
        simulate.arguments = ["simulate", "--query", all("query")] + engines.flatMap { ["--events", $0.endpoints["events"]!] }
            + ["--replay", all("replay"), "--clients", "3", "--duration", "20", "--timeout-ms", "500", "--tries", "20", "--seed", "18", "--json"]
        simulate.standardOutput = try FileHandle(forWritingTo: summary)
        let simulateErrors = StreamText()
        let errorPipe = Pipe()
        simulate.standardError = errorPipe
        simulateErrors.drain(errorPipe.fileHandleForReading)
        try simulate.run()
        sleep(4)

        // kill -9 the first engine; a client that was talking to it moves on (Lazy Pirate, 500 ms per try).
        engines[0].signal(SIGKILL)
        let killedAt = Date()
        _ = engines[0].waitForExit()
        let probe = #"{"id":1,"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","idempotency_key":"netns-probe-1","call":{"call_id":"netns-probe-1","topic":"termination","facts":{"insists":true}}}"#
        let probed = try askAny(queries, probe, timeout: 500)
        let failover = Date().timeIntervalSince(killedAt)
        print("NetnsFailoverProcessTests: time from kill -9 to the next answer: \(Int(failover * 1000)) ms")
        #expect(probed != nil, "no engine answered after the kill")
        sleep(2)
        engines[0] = try start(0)
        sleep(1)

        // A playbook session advanced on the restarted engine and on the third in turn, under the load.
        let alert = "A-" + lab.prefix
        let playbook = [(0, #""customer":{"id":"C1","landline":true,"office":"oficina"},"facts":{"alert_id":"\#(alert)","operation":"OP1"}"#),
                        (2, #""facts":{"alert_id":"\#(alert)","step":"contact","outcome":"no_answer"}"#),
                        (0, #""facts":{"alert_id":"\#(alert)","step":"contact","outcome":"confirmed"}"#)]
        var steps: [Value] = []
        for (n, (engine, call)) in playbook.enumerated() {
            let body = #"{"id":\#(n + 1),"table":"es-fraud-alerts","idempotency_key":"\#(alert)-\#(n)","call":{"call_id":"\#(alert)-\#(n)","topic":"alert",\#(call)}}"#
            steps.append(try #require(try askOnce(queries[engine], body), "engine \(engine + 1) did not answer playbook step \(n + 1)"))
        }
        let played = steps.map { $0["decision"]?["playbook"] }
        // contact (attempt 1), contact again after no answer (attempt 2), then the outcome step, done.
        #expect(played.map { $0?["step"]?.text } == ["contact", "contact", "confirmed"], "\(steps)")
        #expect(played.map { $0?["attempt"] } == [.number(1), .number(2), .number(1)], "\(steps)")
        #expect(played.map { $0?["done"] } == [.bool(false), .bool(false), .bool(true)], "\(steps)")
        sleep(2)

        // Cut the second engine off the network, then restore it.
        try lab.link("e2", up: false)
        sleep(4)
        try lab.link("e2", up: true)

        simulate.waitUntilExit()
        let out = try String(contentsOf: summary, encoding: .utf8)
        #expect(simulate.terminationStatus == 0, "\(out)\n\(simulateErrors.text.suffix(3000))")
        let s = try JSONReader.parse(out.trimmingCharacters(in: .whitespacesAndNewlines))
        print("NetnsFailoverProcessTests: simulate: \(out.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(s["unanswered"] == .number(0) && s["gave_up"] == .number(0), "\(out)")
        #expect(s["events"]?["duplicated"] == .number(0) && s["events"]?["seq_gaps"] == .number(0), "\(out)")
        // Answers include error replies (a call missing a fact), which decide nothing and are not journalled.
        guard case .number(let decided)? = s["decisions"] else { Issue.record("no decisions count: \(out)"); return }

        // The journal: seq one sequence, each idempotency key once, at least every answered decision (with the probe's).
        let db = try PostgresConnection(postgres.url)
        let rows = try db.execute("SELECT seq, event FROM switchboard_events ORDER BY seq")
        let seqs = rows.map { Int($0[0] ?? "") ?? -1 }
        #expect(seqs == Array(1...seqs.count), "seq has a gap or a repeat")
        let events = rows.compactMap { try? JSONReader.parse(Array(($0[1] ?? "").utf8), limits: .trusted) }
        let keys = events.compactMap { $0["idempotency_key"]?.text }
        #expect(keys.count == Set(keys).count, "an idempotency key decided twice")
        // A SIGKILL mid-batch may leave decisions committed but never answered: never fewer than answered.
        #expect(keys.count >= Int(decided) + 1, "journal holds \(keys.count) keyed decisions, \(Int(decided)) + 1 answered")

        // The session's decisions are journalled once each, in the order they were taken.
        let sessionSeqs = rows.filter { ($0[1] ?? "").contains(alert) }.map { Int($0[0] ?? "") ?? -1 }
        #expect(sessionSeqs.count == playbook.count && sessionSeqs == sessionSeqs.sorted(), "\(sessionSeqs)")
        #expect(steps.map { $0["seq"] } == sessionSeqs.map { .number(Double($0)) }, "\(steps)")

        // The recorder, on the same PostgreSQL: each comment once, up to the journal's last seq.
        let comments = try openCommentStorage(postgres.url)
        let deadline = Date().addingTimeInterval(60)
        while (try comments.lastSeq()) < UInt64(seqs.count) && Date() < deadline { usleep(100_000) }
        let counts = try comments.counts()
        #expect(counts.rows == counts.distinctEvents && counts.distinctEvents == counts.distinctSeqs, "a comment stored twice")
        #expect(try comments.lastSeq() == UInt64(seqs.count), "the recorder did not reach the journal's end")
        #expect(recorder.terminate() == 0, "\(recorder.stderr)")

        // The CTI adapter: each transfer performed once, each one a journalled decision. A warm transfer is two
        // commands of one event (ConsultationCall, then TransferCall): a repeat is the same command twice.
        func performed() -> [String] {
            ((try? String(contentsOf: commands, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                guard let line = try? JSONReader.parse(String($0)), let id = line["event_id"]?.text, let command = line["command"]?.text else { return nil }
                return id + " " + command
            }
        }
        var previous = -1
        let settle = Date().addingTimeInterval(60)
        while performed().count != previous && Date() < settle { previous = performed().count; usleep(1_000_000) }
        kill(cti.processIdentifier, SIGTERM)
        cti.waitUntilExit()
        let transfers = performed()
        #expect(!transfers.isEmpty)
        #expect(Set(transfers).count == transfers.count, "a transfer performed twice: \(transfers.count - Set(transfers).count)")
        let journalled = Set(events.compactMap { $0["event_id"]?.text })
        let transferred = Set(transfers.map { String($0.prefix { $0 != " " }) })
        #expect(transferred.isSubset(of: journalled), "a transfer of no journalled decision")
        print("NetnsFailoverProcessTests: \(transfers.count) transfers performed, \(transfers.count - Set(transfers).count) of them a repeat")
        for e in engines where e.process.isRunning { e.signal(SIGTERM); #expect(e.waitForExit() == 0, "\(e.stderr.suffix(2000))") }
    }
}
