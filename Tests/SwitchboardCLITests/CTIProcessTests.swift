import CTIAdapter
import Foundation
import TestSupport
import Testing
import Wire

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct CTIProcessTests {
    /// The operator key serve wrote to its data folder (contract 1.1); a placeholder for an engine that writes
    /// none, which this test never needs, as it declares no incident.
    static func operatorKey(_ data: URL) throws -> String {
        let key = data.appendingPathComponent("operator.key")
        if !FileManager.default.fileExists(atPath: key.path) {
            let zero = String(repeating: "0", count: 40)
            try "server-key \(zero)\npublic-key \(zero)\nsecret-key \(zero)\n".write(to: key, atomically: true, encoding: .utf8)
        }
        return key.path
    }

    func start(_ folder: URL, _ endpoints: [String: String]) throws -> Process {
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = ["cti", "--driver", "log", "--commands", folder.appendingPathComponent("commands.jsonl").path,
                       "--record", folder.appendingPathComponent("record.log").path, "--events", endpoints["events"]!,
                       "--replay", endpoints["replay"]!, "--control", endpoints["control"]!, "--log-level", "error",
                       "--operator-key", try Self.operatorKey(folder.appendingPathComponent("data"))]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Killed with SIGKILL at random moments while transfers flow, the adapter still performs every transfer
    /// exactly once: none twice, none missing.
    @Test func everyTransferExactlyOnceAcrossKills() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let total = 3000
        let answered = Answered()
        let loadDone = DispatchSemaphore(value: 0)
        let endpoint = serve.endpoints["query"]!
        Thread {
            answered.set((try? LoadClient.run(endpoint: endpoint, total: total, rate: 1000)) ?? [])
            loadDone.signal()
        }.start()
        var adapter = try start(folder, serve.endpoints)
        var kills = 0
        var loadFinished = false
        while !loadFinished || kills < 10 {
            usleep(UInt32.random(in: 50_000...300_000))
            kill(adapter.processIdentifier, SIGKILL)
            adapter.waitUntilExit()
            kills += 1
            adapter = try start(folder, serve.endpoints)
            if loadDone.wait(timeout: .now()) == .success { loadFinished = true }
        }
        #expect(answered.count == total)
        let commands = folder.appendingPathComponent("commands.jsonl")
        func performed() -> [String] {
            ((try? String(contentsOf: commands, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONReader.parse(String($0))["event_id"]?.text }
        }
        let deadline = Date().addingTimeInterval(60)
        while performed().count < total && Date() < deadline { usleep(100_000) }
        usleep(300_000)  // a repeat, were there one, would show up now
        kill(adapter.processIdentifier, SIGTERM)
        adapter.waitUntilExit()
        let ids = performed()
        #expect(kills >= 10)
        #expect(ids.count == total, "performed \(ids.count) of \(total)")
        #expect(Set(ids).count == ids.count, "repeated: \(ids.count - Set(ids).count)")
        let lines = try String(contentsOf: commands, encoding: .utf8).split(separator: "\n")
        #expect(lines.allSatisfy { $0.contains(#""command":"SingleStepTransferCall""#) })
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    /// `cti --driver ami` with no Asterisk listening, while decisions flow: a handful of log lines, not one
    /// (or several) per transfer, and the adapter keeps running. It once wrote ~23,000 lines in 4 s.
    @Test func aMissingAMIServerIsLoggedOnceNotPerTransfer() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let port = try Self.closedPort()
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = ["cti", "--driver", "ami", "--ami-port", String(port), "--record", folder.appendingPathComponent("record.log").path,
                       "--events", serve.endpoints["events"]!, "--replay", serve.endpoints["replay"]!, "--control", serve.endpoints["control"]!,
                       "--operator-key", try Self.operatorKey(folder.appendingPathComponent("data")), "--log-level", "info"]
        let errors = Pipe()
        p.standardError = errors
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let collected = CLI.ErrorCollector(errors.fileHandleForReading)
        let answered = try LoadClient.run(endpoint: serve.endpoints["query"]!, total: 1500, rate: 400)  // about 4 s of transfers
        #expect(answered.count == 1500)
        usleep(500_000)
        #expect(p.isRunning)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let lines = collected.text().split(separator: "\n")
        #expect(lines.count <= 8, "\(lines.count) lines:\n\(lines.prefix(20).joined(separator: "\n"))")
        #expect(lines.contains { $0.contains("not been reachable since start-up") })
        let record = try String(contentsOf: folder.appendingPathComponent("record.log"), encoding: .utf8)
        #expect(record.components(separatedBy: "\n").filter { $0.hasPrefix("done") && $0.hasSuffix(" failed") }.count >= 1000)
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Without the operator key the adapter refuses to start, in one line that says where the key comes from.
    @Test func aMissingOperatorKeyIsOneClearLine() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let r = try CLI.run(["cti", "--operator-key", folder.appendingPathComponent("none.key").path,
                             "--record", folder.appendingPathComponent("r.log").path, "--commands", folder.appendingPathComponent("c.jsonl").path])
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("no usable operator key") && lines[0].contains("operator.key"), "\(r.stderr)")
    }

    /// A sip driver configuration that cannot be used stops the adapter before it starts, naming the member.
    @Test func aBadSIPConfigurationIsNamedAtStart() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("sip.json")
        try #"{"agents":[{"id":"a1","control":"127.0.0.1","sip":"sip:a1@127.0.0.1"}]}"#.write(to: config, atomically: true, encoding: .utf8)
        let r = try CLI.run(["cti", "--driver", "sip", "--sip-config", config.path, "--operator-key", folder.appendingPathComponent("none.key").path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("agents[0].control: expected host:port"), "\(r.stderr)")
        let missing = try CLI.run(["cti", "--driver", "sip"])
        #expect(missing.status != 0 && missing.stderr.contains("--sip-config"), "\(missing.stderr)")
    }
}
