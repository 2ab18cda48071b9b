import CTIAdapter
import Foundation
import Testing
import Wire

@Suite(.serialized) struct CTIProcessTests {
    func start(_ folder: URL, _ endpoints: [String: String], data: URL) throws -> Process {
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = ["cti", "--driver", "log", "--commands", folder.appendingPathComponent("commands.jsonl").path,
                       "--record", folder.appendingPathComponent("record.log").path, "--events", endpoints["events"]!,
                       "--replay", endpoints["replay"]!, "--control", endpoints["control"]!, "--log-level", "error",
                       "--operator-key", data.appendingPathComponent("operator.key").path]
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
        var adapter = try start(folder, serve.endpoints, data: serve.data)
        var kills = 0
        var loadFinished = false
        while !loadFinished || kills < 10 {
            usleep(UInt32.random(in: 50_000...300_000))
            kill(adapter.processIdentifier, SIGKILL)
            adapter.waitUntilExit()
            kills += 1
            adapter = try start(folder, serve.endpoints, data: serve.data)
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
}
