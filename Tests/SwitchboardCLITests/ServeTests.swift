import Foundation
import TestSupport
import Testing
import Routing
import Wire

/// `switchboard serve` as a separate process, as operators and outside clients meet it.
final class ServeProcess {
    let process = Process()
    let data: URL
    private let errors = Pipe()
    private(set) var endpoints: [String: String] = [:]
    private var log = Data()

    /// - Parameters:
    ///   - address: the address every endpoint binds.
    ///   - fixedPorts: bind query, events, replay and control on 5570…5573 (the defaults) rather than ports
    ///     the system picks, so an engine restarted on its own address is where its clients left it.
    ///   - networkNamespace: runs the engine inside this `ip netns` namespace (`ip netns exec` execs it, so
    ///     the process signalled is the engine itself).
    init(data: URL, extra: [String] = [], address: String = "127.0.0.1", fixedPorts: Bool = false, networkNamespace: String? = nil) throws {
        self.data = data
        let names = ["query", "events", "replay", "control"]
        let serve = ["serve", "--data", data.path]
            + names.enumerated().flatMap { ["--\($1)", "tcp://\(address):" + (fixedPorts ? String(5570 + $0) : "*")] } + extra
        if let networkNamespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", networkNamespace, CLI.executable.path] + serve
        } else {
            process.executableURL = CLI.executable
            process.arguments = serve
        }
        process.currentDirectoryURL = CLI.root
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The "serving" line names the endpoints bound, with the ports the system chose.
        let deadline = Date().addingTimeInterval(20)
        while endpoints.isEmpty && Date() < deadline {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log.append(chunk)
            let text = String(decoding: log, as: UTF8.self)
            guard let line = text.split(separator: "\n").first(where: { $0.contains(" serving") }) else { continue }
            for name in ["query", "events", "replay", "control"] {
                if let m = line.firstMatch(of: try Regex("\(name)=(tcp://[0-9.:]+)")) {
                    endpoints[name] = String(m.output[1].substring!)
                }
            }
        }
        guard endpoints.count == 4 else { throw ServeFailure(log: String(decoding: log, as: UTF8.self)) }
        // Keep draining stderr so the engine never blocks on a full pipe, and keep what it says.
        later.append(log)
        later.drain(errors.fileHandleForReading)
    }

    /// What the engine has written on stderr so far.
    var stderr: String { later.text }
    private let later = StreamText()

    struct ServeFailure: Error, CustomStringConvertible {
        let log: String
        var description: String { "switchboard serve did not start:\n\(log)" }
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    func waitForExit(seconds: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Every thread's stack of an engine that will not exit, by gdb when the machine has it: what a failure
    /// message needs to say where it waits.
    func threadStacks() -> String {
        guard process.isRunning, FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") else { return "(no stacks: not running or no gdb)" }
        let gdb = Process()
        gdb.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        gdb.arguments = ["30", "/usr/bin/gdb", "-p", "\(process.processIdentifier)", "-batch", "-ex", "thread apply all bt 12"]
        let out = Pipe()
        gdb.standardOutput = out
        gdb.standardError = out
        do { try gdb.run() } catch { return "(gdb did not start: \(error))" }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        gdb.waitUntilExit()
        return text.split(separator: "\n").filter { $0.hasPrefix("#") || $0.hasPrefix("Thread") }.joined(separator: "\n")
    }

    deinit {
        if process.isRunning {
            signal(SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Text a process writes on a pipe, kept as it arrives.
final class StreamText: @unchecked Sendable {  // guarded by the lock
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }

    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }

    /// Reads `handle` on a thread of its own until it ends.
    func drain(_ handle: FileHandle) {
        Thread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                append(chunk)
            }
        }.start()
    }
}

func temporaryFolder() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-serve-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The journal's lines, parsed.
func journal(_ data: URL) throws -> [Value] {
    let text = try String(contentsOf: data.appendingPathComponent("journal.jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONReader.parse(String($0)) }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct ServeTests {
    @Test func sigtermDrainsAndExitsZero() throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        let serve = try ServeProcess(data: data)
        let r = try CLI.run(["route", "--table", "retention-ru", "--call", #"{"call_id":"x","topic":"sim_block"}"#])
        #expect(r.status == 0)
        let client = try PythonClient.run(serve.endpoints)
        #expect(client.status == 0, "\(client.output)")
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
        #expect(try journal(data).count == 1)
    }

    @Test func aQueryQueueWithoutRoomIsRefusedNamingTheOption() throws {
        let r = try CLI.run(["serve", "--query-queue", "0"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--query-queue must be at least 1; got 0."), "\(r.stderr)")
    }

    /// The pyzmq example client, run by Debian's /usr/bin/python3 exactly as a user would.
    @Test func pythonExampleClient() throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        let serve = try ServeProcess(data: data)
        let client = try PythonClient.run(serve.endpoints)
        #expect(client.status == 0, "\(client.output)")
        let steps = try client.output.split(separator: "\n").map { try JSONReader.parse(String($0)) }
        try #require(steps.map { $0["step"]?.text } == ["subscribed", "reply", "event", "replay"], "\(client.output)")
        #expect(steps[1]["reply"]?["decision"]?["target"]?["id"] == .string("retention"))
        #expect(steps[2]["topic"] == .string("decision.transfer.retention"))
        #expect(steps[3]["matches_event"] == .bool(true))
        serve.signal(SIGINT)
        #expect(serve.waitForExit() == 0)
    }

    /// Killed with SIGKILL under load, the engine has journalled every decision it answered; restarted, it goes on.
    @Test func killNineLosesNoAnsweredDecision() throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        let serve = try ServeProcess(data: data)
        let answered = try LoadClient.run(endpoint: serve.endpoints["query"]!, killAfter: 3000) { serve.signal(SIGKILL) }
        #expect(serve.waitForExit() != nil)
        #expect(answered.count >= 3000)
        let lines = try journal(data)
        #expect(lines.enumerated().allSatisfy { $0.element["seq"] == .number(Double($0.offset + 1)) })
        let journalled = Set(lines.compactMap { $0["call_id"]?.text })
        let lost = answered.subtracting(journalled)
        #expect(lost.isEmpty, "answered but not journalled: \(lost.sorted().prefix(5))")
        // Restarted on the same data, seq continues where the journal ends.
        let again = try ServeProcess(data: data)
        let more = try LoadClient.run(endpoint: again.endpoints["query"]!, total: 10)
        #expect(more.count == 10)
        again.signal(SIGTERM)
        #expect(again.waitForExit() == 0)
        let after = try journal(data)
        #expect(after.count == lines.count + 10)
        #expect(after.last?["seq"] == .number(Double(lines.count + 10)))
    }
}

enum PythonClient {
    static func run(_ endpoints: [String: String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [CLI.root.appendingPathComponent("tools/example_client.py").path, "--query", endpoints["query"]!,
                       "--events", endpoints["events"]!, "--replay", endpoints["replay"]!]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Sends queries over a DEALER (pipelined) from /usr/bin/python3 and reports the call ids answered with a decision.
enum LoadClient {
    /// - Parameter rate: queries a second at most (0: as fast as answers come, 200 in flight).
    static func run(endpoint: String, total: Int = 1_000_000, rate: Int = 0, killAfter: Int? = nil, kill: () -> Void = {}) throws -> Set<String> {
        let script = """
        import sys, json, time, zmq
        ctx = zmq.Context(); s = ctx.socket(zmq.DEALER); s.setsockopt(zmq.LINGER, 0); s.setsockopt(zmq.RCVTIMEO, 3000)
        s.connect(sys.argv[1]); total = int(sys.argv[2]); rate = int(sys.argv[3]); sent = answered = 0; start = time.monotonic()
        try:
            while answered < total:
                if rate and sent < total:
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0 and sent == answered: time.sleep(ahead)
                while sent < total and sent - answered < (20 if rate else 200) and (not rate or sent <= rate * (time.monotonic() - start)):
                    s.send_json({"id": sent, "table": "retention-ru", "at": "2026-11-23T12:00:00+03:00", "call": {"call_id": "k-%d" % sent, "topic": "termination", "facts": {"insists": True}}}); sent += 1
                reply = json.loads(s.recv())
                answered += 1
                if "decision" in reply:
                    print("k-%d" % reply["id"], flush=True)
        except zmq.Again:
            pass
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script, endpoint, String(total), String(rate)]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var ids: Set<String> = []
        var buffer = Data()
        var killed = false
        while true {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let nl = buffer.firstIndex(of: 0x0A) {
                ids.insert(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...nl)
            }
            if let k = killAfter, !killed, ids.count >= k {
                kill()
                killed = true
            }
        }
        p.waitUntilExit()
        return ids
    }
}
