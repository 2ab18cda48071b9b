import Foundation
import Recorder
import TestSupport
import Testing
import Wire
import ZeroMQ

/// Clients given several engines, a dead one first: `switchboard simulate` and the example client fail over
/// to a real `switchboard serve`, retrying the same bytes with the same key (Lazy Pirate across servers).
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct FailoverProcessTests {
    /// An engine that accepts connections and never answers: hung, or dead after the TCP handshake.
    final class SilentEngine {
        let context: Context
        let router: Socket
        var endpoint: String { router.lastEndpoint }
        init() throws {
            context = try Context()
            router = try Socket(context, .router)
            try router.set(.linger, Int32(0))
            try router.bind("tcp://127.0.0.1:*")
        }
        deinit { router.close() }
    }

    @Test func simulateFailsOverFromASilentEngine() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let silent = try SilentEngine()
        let e = serve.endpoints
        // Two clients: the first starts on the silent engine, the second on the live one.
        let r = try CLI.run(["simulate", "--query", "\(silent.endpoint),\(e["query"]!)", "--events", "tcp://127.0.0.1:1", "--events", e["events"]!,
                             "--replay", "tcp://127.0.0.1:1,\(e["replay"]!)", "--clients", "2", "--calls", "300", "--timeout-ms", "500",
                             "--seed", "3", "--json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let s = try JSONReader.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(s["answered"] == .number(300) && s["unanswered"] == .number(0) && s["gave_up"] == .number(0), "\(r.stdout)")
        if case .number(let retries)? = s["retries"] { #expect(retries >= 1, "\(r.stdout)") }
        #expect(s["events"]?["matched"] == s["decisions"] && s["events"]?["duplicated"] == .number(0) && s["events"]?["seq_gaps"] == .number(0))
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    @Test func theExampleClientFailsOverFromASilentEngine() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let silent = try SilentEngine()
        let e = serve.endpoints
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [CLI.root.appendingPathComponent("tools/example_client.py").path, "--query", silent.endpoint, "--query", e["query"]!,
                       "--events", e["events"]!, "--replay", "\(silent.endpoint),\(e["replay"]!)", "--timeout", "1"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        let steps = text.split(separator: "\n").compactMap { try? JSONReader.parse(String($0)) }
        let reply = steps.first { $0["step"] == .string("reply") }
        #expect(reply?["tries"] == .number(2), "\(text)")  // the silent engine, then the live one
        #expect(reply?["reply"]?["decision"] != nil, "\(text)")
        #expect(steps.contains { $0["step"] == .string("replay") && $0["matches_event"] == .bool(true) }, "\(text)")
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    /// The recorder given a dead engine first (events and replay): it records every decision of the live one, once.
    @Test func theRecorderTakesSeveralEnginesAndSkipsADeadOne() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let silent = try SilentEngine()
        let e = serve.endpoints
        let answered = try LoadClient.run(endpoint: e["query"]!, total: 200)
        let db = folder.appendingPathComponent("comments.sqlite").path
        let recorder = Process()
        recorder.executableURL = CLI.executable
        recorder.arguments = ["recorder", "--db", db, "--events", "tcp://127.0.0.1:1", "--events", e["events"]!,
                              "--replay", "\(silent.endpoint),\(e["replay"]!)"]
        recorder.standardOutput = FileHandle.nullDevice
        recorder.standardError = FileHandle.nullDevice
        try recorder.run()
        defer { if recorder.isRunning { kill(recorder.processIdentifier, SIGKILL); recorder.waitUntilExit() } }
        // The silent replay endpoint costs one replay timeout (5 s), then the live one answers.
        let store = try CommentStore(path: db)
        let deadline = Date().addingTimeInterval(60)
        while (try store.lastSeq()) < UInt64(answered.count) && Date() < deadline { usleep(100_000) }
        let counts = try store.counts()
        #expect(answered.count == 200)
        #expect(counts.rows == 200 && counts.distinctEvents == 200 && counts.distinctSeqs == 200)
        kill(recorder.processIdentifier, SIGTERM)
        recorder.waitUntilExit()
        #expect(recorder.terminationStatus == 0)
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }
}
