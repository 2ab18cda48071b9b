import EventFeed
import Foundation
@testable import Gateway
import Logging
import TestSupport
import Testing
import Wire

/// The screen pop with a real `switchboard cti` process (log driver, `--results`) and a real engine: the
/// gateway's side (its event feed, results feed and ``PopHub``) runs in the test, as `switchboard gateway
/// --cti-results` wires it. The browser test (tools/browser-test) covers the whole gateway process.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct ScreenPopProcessTests {
    /// Reads `count` messages in the test's own task (not a helper task a loaded pool may never run), or
    /// what came before `end` is called from a thread after `seconds`, which finishes the stream.
    static func collect(_ stream: AsyncStream<String>, count: Int, seconds: Double = 60, end: @escaping @Sendable () -> Void) async -> [String] {
        Thread {
            Thread.sleep(forTimeInterval: seconds)
            end()
        }.start()
        var got: [String] = []
        for await m in stream {
            got.append(m)
            if got.count == count { break }
        }
        return got
    }

    static func value(_ json: String, _ key: String) -> String {
        ((try? JSONReader.parse(json))?[key]).map(\.text) ?? ""
    }

    @Test func transfersPopOnlyOnceTheCTIAdapterHasPerformedThem_andAReconnectResumes() async throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        defer {
            serve.signal(SIGTERM)
            _ = serve.waitForExit()
        }
        let logger = Logger(label: "test")
        let directory = AgentDirectory(agents: [
            .init(id: "spec", name: "S", targets: ["retention"], iterations: 1, salt: [0], hash: Array(repeating: 0, count: 32)),
        ])
        let hub = PopHub(directory: directory, popsOnResults: true)
        var feedConfiguration = EventFeed.Configuration()
        feedConfiguration.eventsEndpoint = serve.endpoints["events"]!
        feedConfiguration.replayEndpoint = serve.endpoints["replay"]!
        let events = EventFeed(configuration: feedConfiguration, after: 0, logger: logger)
        Thread { try? events.run { hub.take($0) } }.start()
        defer { events.stop() }
        let (stream, sub) = hub.subscribe(agent: "spec", after: 0)

        // Twenty transfer decisions while no CTI adapter runs: the gateway holds them, and nothing pops.
        let total = 20
        #expect(try LoadClient.run(endpoint: serve.endpoints["query"]!, total: total).count == total)
        let deadline = Date().addingTimeInterval(20)
        while hub.heldCount < total && Date() < deadline { usleep(20_000) }
        #expect(hub.heldCount == total, "a decision alone pops nothing: every transfer is held for its result")

        // The adapter starts, performs them (log driver) and publishes each result.
        let adapter = Process()
        adapter.executableURL = CLI.executable
        adapter.arguments = ["cti", "--driver", "log", "--commands", folder.appendingPathComponent("commands.jsonl").path,
                             "--record", folder.appendingPathComponent("record.log").path, "--events", serve.endpoints["events"]!,
                             "--replay", serve.endpoints["replay"]!, "--control", serve.endpoints["control"]!,
                             "--operator-key", try CTIProcessTests.operatorKey(folder.appendingPathComponent("data")),
                             "--results", "tcp://127.0.0.1:*", "--results-replay", "tcp://127.0.0.1:*", "--log-level", "notice"]
        let errors = Pipe()
        adapter.standardError = errors
        adapter.standardOutput = FileHandle.nullDevice
        try adapter.run()
        defer {
            kill(adapter.processIdentifier, SIGTERM)
            adapter.waitUntilExit()
        }
        let log = StreamText()
        log.drain(errors.fileHandleForReading)
        var endpoints: [String: String] = [:]
        while endpoints.count < 2 && Date() < deadline.addingTimeInterval(10) {
            if let line = log.text.split(separator: "\n").first(where: { $0.contains("publishing transfer results") }) {
                for name in ["results", "results_replay"] {
                    if let m = line.firstMatch(of: try Regex("(?:^| )\(name)=(tcp://[0-9.:]+)")) { endpoints[name] = String(m.output[1].substring!) }
                }
            } else {
                usleep(20_000)
            }
        }
        try #require(endpoints.count == 2, "the adapter did not log its results endpoints: \(log.text)")
        let results = CTIResultFeed(configuration: .init(resultsEndpoint: endpoints["results"]!, replayEndpoint: endpoints["results_replay"]!), logger: logger)
        Thread {
            try? results.run { result in
                hub.take(result)
            }
        }.start()
        defer { results.stop() }

        let got = await Self.collect(stream, count: total) { hub.unsubscribe(sub) }
        hub.unsubscribe(sub)
        try #require(got.count == total)
        // Every pop's transfer is in the log driver's file: it was performed before the pop.
        let performed = try String(contentsOf: folder.appendingPathComponent("commands.jsonl"), encoding: .utf8)
        #expect(got.allSatisfy { performed.contains("\"event_id\":\"\(Self.value($0, "event_id"))\"") })
        let seqs = got.compactMap { UInt64(Self.value($0, "seq")) }
        #expect(seqs == seqs.sorted() && Set(seqs).count == total, "in seq order, none twice")
        #expect(hub.heldCount == 0)

        // A panel that saw the first ten reconnects: it gets the other ten, once each.
        let (again, sub2) = hub.subscribe(agent: "spec", after: 0, popsAfter: seqs[9])
        // Collects for 2 s more than the ten take: a double, were there one, would show up then.
        let resumed = await Self.collect(again, count: total - 10 + 1, seconds: 2) { hub.unsubscribe(sub2) }
        #expect(resumed.compactMap { UInt64(Self.value($0, "seq")) } == Array(seqs[10...]))
    }
}
