import Foundation
import Routing
import TestSupport
import Testing
import Wire
import ZeroMQ

/// One request over a fresh DEALER socket, as a client retrying after a timeout does (the zguide's
/// Lazy Pirate: a new socket per try); nil when no reply comes in time.
func askOnce(_ endpoint: String, _ body: String, timeout: Int32 = 3000, credentials: OperatorCredentials? = nil) throws -> Value? {
    let context = try Context()
    let socket = try Socket(context, .dealer)
    defer { socket.close() }
    try socket.set(.linger, Int32(0))
    try socket.set(.receiveTimeout, timeout)
    if let credentials { try socket.makeOperatorClient(credentials) }
    try socket.connect(endpoint)
    try socket.send(multipart: [[], Array(body.utf8)])
    guard let reply = try socket.receiveMultipart(), let last = reply.last else { return nil }
    return try JSONReader.parse(last)
}

func operatorCredentials(_ data: URL) throws -> OperatorCredentials {
    try OperatorCredentials(text: String(contentsOf: data.appendingPathComponent("operator.key"), encoding: .utf8))
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct ExactlyOnceProcessTests {
    /// A client sends a keyed query, the engine is killed with SIGKILL before (or just after) it answers,
    /// then the client retries ten times against the restarted engine: one decision, one seq, one transfer.
    @Test func aRetriedQueryIsDecidedAndTransferredOnceAcrossKills() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        let rounds = 5
        for round in 0..<rounds {
            let body = #"{"id":\#(round),"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","idempotency_key":"retry-\#(round)","call":{"call_id":"r-\#(round)","topic":"termination","facts":{"insists":true}}}"#
            let serve = try ServeProcess(data: data)
            // Send, then kill at once: the engine may have journalled it, or not.
            let context = try Context()
            let socket = try Socket(context, .dealer)
            try socket.set(.linger, Int32(0))
            try socket.connect(serve.endpoints["query"]!)
            try socket.send(multipart: [[], Array(body.utf8)])
            if round % 2 == 1 { usleep(useconds_t(2000 * round)) }
            serve.signal(SIGKILL)
            _ = serve.waitForExit()
            socket.close()
            let again = try ServeProcess(data: data)
            var replies: [Value] = []
            for _ in 0..<10 { replies.append(try #require(try askOnce(again.endpoints["query"]!, body))) }
            #expect(Set(replies.map { $0["seq"] }).count == 1, "\(replies.map { $0["seq"] })")
            #expect(Set(replies.map { $0["event_id"] }).count == 1)
            #expect(replies.allSatisfy { $0["decision"]?["action"] == .string("transfer") })
            // The same key with another body is refused.
            let other = body.replacingOccurrences(of: #""insists":true"#, with: #""insists":false"#)
            #expect(try askOnce(again.endpoints["query"]!, other)?["error"]?["code"] == .string("idempotency_key_reused"))
            again.signal(SIGTERM)
            #expect(again.waitForExit() == 0)
        }
        let events = try journal(data)
        for round in 0..<rounds {
            #expect(events.filter { $0["idempotency_key"] == .string("retry-\(round)") }.count == 1)
        }
        #expect(events.map { $0["seq"] } == (1...events.count).map { .number(Double($0)) })
        // The CTI adapter, started on the journal, transfers each call exactly once.
        let serve = try ServeProcess(data: data)
        let commands = folder.appendingPathComponent("commands.jsonl")
        let cti = Process()
        cti.executableURL = CLI.executable
        cti.arguments = ["cti", "--driver", "log", "--commands", commands.path, "--record", folder.appendingPathComponent("record.log").path,
                         "--events", serve.endpoints["events"]!, "--replay", serve.endpoints["replay"]!, "--control", serve.endpoints["control"]!,
                         "--operator-key", data.appendingPathComponent("operator.key").path, "--log-level", "error"]
        try cti.run()
        let deadline = Date().addingTimeInterval(20)
        func transfers() -> [String] {
            ((try? String(contentsOf: commands, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONReader.parse(String($0))["call"]?.text }
        }
        while transfers().count < rounds && Date() < deadline { usleep(50_000) }
        usleep(300_000)
        cti.terminate()
        cti.waitUntilExit()
        #expect(transfers().sorted() == (0..<rounds).map { "r-\($0)" })
        serve.signal(SIGTERM)
        _ = serve.waitForExit()
    }

    @Test func keysSurviveARestart() throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        let body = #"{"id":1,"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","idempotency_key":"k-restart","call":{"call_id":"a","topic":"termination","facts":{"insists":true}}}"#
        let first = try ServeProcess(data: data)
        let reply = try #require(try askOnce(first.endpoints["query"]!, body))
        first.signal(SIGTERM)
        #expect(first.waitForExit() == 0)
        let second = try ServeProcess(data: data)
        #expect(try askOnce(second.endpoints["query"]!, body) == reply)
        #expect(try journal(data).count == 1)
        second.signal(SIGTERM)
        _ = second.waitForExit()
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct DataFolderLockTests {
    @Test func aSecondEngineOnTheSameFolderIsRefusedAndAKilledHoldersFolderIsTakenAtOnce() throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        let first = try ServeProcess(data: data)
        let second = try CLI.run(["serve", "--data", data.path, "--query", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                                  "--replay", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*"])
        #expect(second.status != 0)
        #expect(second.stderr.contains("pid \(first.process.processIdentifier)"), "\(second.stderr)")
        first.signal(SIGKILL)
        _ = first.waitForExit()
        let started = Date()
        let third = try ServeProcess(data: data)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(try askOnce(third.endpoints["query"]!, #"{"id":1,"table":"retention-ru","call":{"call_id":"a","topic":"termination","facts":{"insists":true}}}"#)?["seq"] == .number(1))
        third.signal(SIGTERM)
        #expect(third.waitForExit() == 0)
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct ControlAuthorisationTests {
    @Test func aPlainLocalClientAndAQueryClientsKeyCannotControlTheEngine() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // An engine serving CURVE to one query client.
        let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        let secret = folder.appendingPathComponent("engine.key"), allow = folder.appendingPathComponent("allow")
        try (server.secretKey + "\n").write(to: secret, atomically: true, encoding: .utf8)
        try (client.publicKey + "\n").write(to: allow, atomically: true, encoding: .utf8)
        let data = folder.appendingPathComponent("data")
        let serve = try ServeProcess(data: data, extra: ["--curve-secret-key-file", secret.path, "--curve-allow", allow.path])
        let control = serve.endpoints["control"]!
        for command in [#"{"cmd":"reload"}"#, #"{"cmd":"cti_incident","on":true}"#, #"{"cmd":"health"}"#] {
            // Plain text: no CURVE handshake, no reply.
            #expect(try askOnce(control, command, timeout: 1500) == nil)
            // The query client's own key, accepted on the query endpoint, is not an operator's.
            let asClient = OperatorCredentials(serverKey: server.publicKey, keys: client)
            #expect(try askOnce(control, command, timeout: 1500, credentials: asClient) == nil)
        }
        let query = #"{"id":1,"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","call":{"call_id":"a","topic":"termination","facts":{"insists":true}}}"#
        let asQueryClient = OperatorCredentials(serverKey: server.publicKey, keys: client)
        #expect(try askOnce(serve.endpoints["query"]!, query, credentials: asQueryClient)?["decision"]?["target"]?["via"] == .string("cti"))
        // The operator (DATA/operator.key) can.
        let op = try operatorCredentials(data)
        #expect(try askOnce(control, #"{"cmd":"cti_incident","on":true}"#, credentials: op)?["ok"] == .bool(true))
        #expect(try askOnce(serve.endpoints["query"]!, query, credentials: asQueryClient)?["decision"]?["target"]?["via"] == .string("number"))
        // As does `switchboard control` with that file.
        let health = try CLI.run(["control", "health", "--control", control, "--operator-key", data.appendingPathComponent("operator.key").path])
        #expect(health.status == 0)
        #expect(health.stdout.contains(#""cti_incident":true"#))
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    @Test func withoutCurveOnQueriesControlStillNeedsTheOperatorKey() throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        let serve = try ServeProcess(data: data)
        #expect(try askOnce(serve.endpoints["control"]!, #"{"cmd":"cti_incident","on":true}"#, timeout: 1500) == nil)
        let attrs = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("operator.key").path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        #expect(try askOnce(serve.endpoints["control"]!, #"{"cmd":"health"}"#, credentials: try operatorCredentials(data))?["cti_incident"] == .bool(false))
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct SighupTests {
    @Test func sighupReloadsTheTablesAndTheEngineKeepsServing() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let tables = folder.appendingPathComponent("tables")
        try FileManager.default.createDirectory(at: tables, withIntermediateDirectories: true)
        let table = tables.appendingPathComponent("retention-ru.yaml")
        let original = try String(contentsOf: CLI.root.appendingPathComponent("routing-tables/retention-ru.yaml"), encoding: .utf8)
        try original.write(to: table, atomically: true, encoding: .utf8)
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"), extra: ["--tables", tables.path])
        let late = #"{"id":1,"table":"retention-ru","at":"2026-11-23T22:30:00+03:00","call":{"call_id":"a","topic":"termination","facts":{"insists":true}}}"#
        #expect(try askOnce(serve.endpoints["query"]!, late)?["decision"]?["action"] == .string("transfer"))
        // Replaced atomically (write, then rename), as docs/OPERATIONS.md says to.
        try original.replacingOccurrences(of: #"hours: "04:00-23:50""#, with: #"hours: "04:00-22:00""#).write(to: table, atomically: true, encoding: .utf8)
        serve.signal(SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        var action: Value?
        repeat {
            usleep(100_000)
            action = try askOnce(serve.endpoints["query"]!, late)?["decision"]?["action"]
        } while action != .string("case") && Date() < deadline
        #expect(action == .string("case"))
        #expect(serve.process.isRunning)
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct FailClosedTests {
    /// A journal on a small tmpfs that fills up: queries get `unavailable` (not a decision the engine could
    /// not keep), health says why, and answering resumes by itself when space returns, with every
    /// answered decision in the journal.
    @Test func aFullFileSystemRefusesDecisionsAndRecoversWhenSpaceReturns() throws {
        let mount = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: mount) }
        let mounted = Process()
        mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
        mounted.arguments = ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.path]
        try mounted.run()
        mounted.waitUntilExit()
        try #require(mounted.terminationStatus == 0, "this test mounts a 1 MiB tmpfs and needs root (CI runs as root)")
        defer {
            let u = Process()
            u.executableURL = URL(fileURLWithPath: "/bin/umount")
            u.arguments = ["-l", mount.path]
            try? u.run()
            u.waitUntilExit()
        }
        let data = mount.appendingPathComponent("data")
        let serve = try ServeProcess(data: data)
        let endpoint = serve.endpoints["query"]!
        var answered: [Value] = []
        func ask(_ n: Int) throws -> Value {
            let reply = try #require(try askOnce(endpoint, #"{"id":\#(n),"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","idempotency_key":"full-\#(n)","call":{"call_id":"f-\#(n)","topic":"termination","facts":{"insists":true},"notes":"\#(String(repeating: "x", count: 900))"}}"#))
            if reply["decision"] != nil { answered.append(reply) }
            return reply
        }
        for n in 0..<20 { #expect(try ask(n)["decision"] != nil) }
        // Fill what is left.
        let filler = mount.appendingPathComponent("filler")
        FileManager.default.createFile(atPath: filler.path, contents: nil)
        let handle = try FileHandle(forWritingTo: filler)
        let block = Data(count: 64 * 1024)
        while (try? handle.write(contentsOf: block)) != nil {}
        let small = Data(count: 512)
        while (try? handle.write(contentsOf: small)) != nil {}
        try? handle.close()
        var refused = 0
        for n in 20..<40 where try ask(n)["error"]?["code"] == .string("unavailable") { refused += 1 }
        #expect(refused > 0)
        let health = try #require(try askOnce(serve.endpoints["control"]!, #"{"cmd":"health"}"#, credentials: try operatorCredentials(data)))
        #expect(health["storage"]?["ok"] == .bool(false))
        #expect(health["storage"]?["reason"]?.text.contains("No space left") == true, "\(health)")
        // Space returns: the same keyed queries are answered now, each once.
        try FileManager.default.removeItem(at: filler)
        for n in 20..<40 { #expect(try ask(n)["decision"] != nil) }
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
        let events = try journal(data)
        #expect(events.map { $0["seq"] } == (1...events.count).map { .number(Double($0)) })
        let journalled = Set(events.compactMap { $0["event_id"] })
        #expect(answered.allSatisfy { journalled.contains($0["event_id"]!) })
        #expect(events.count == 40)
    }
}
