import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LocalPostgres
import Routing
import TestSupport
import Testing
import Wire

/// The gateway reads the interaction comments where the recorder stores them, PostgreSQL included:
/// `recorder --db postgres://…` and `gateway --comments-db postgres://…` as processes, beside a real engine,
/// on a PostgreSQL server the test starts itself.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct GatewayCommentsProcessTests {
    /// An HTTP request to the gateway: the status and the body as JSON.
    static func request(_ url: URL, method: String = "GET", body: String? = nil, session: String? = nil) async throws -> (Int, Value) {
        var r = URLRequest(url: url)
        r.httpMethod = method
        if let body {
            r.httpBody = Data(body.utf8)
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let session { r.setValue("Bearer \(session)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: r)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try JSONReader.parse(Array(data)))
    }

    @Test func theGatewayReadsTheCommentsTheRecorderStoredInPostgres() async throws {
        let postgres = try LocalPostgresServer()
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let e = serve.endpoints
        let recorder = try RecorderProcess(db: postgres.url, endpoints: e)
        recorder.waitUntilRecording()

        let agents = folder.appendingPathComponent("agents.jsonl")
        let agent = try CLI.run(["gateway-agent", "anna", "--name", "Anna", "--target", "retention"], stdin: "s3cret")
        #expect(agent.status == 0, "\(agent.stderr)")
        try agent.stdout.write(to: agents, atomically: true, encoding: .utf8)
        let gateway = Process()
        gateway.executableURL = CLI.executable
        gateway.currentDirectoryURL = CLI.root
        gateway.arguments = ["gateway", "--listen", "127.0.0.1:0", "--agents", agents.path, "--comments-db", postgres.url,
                             "--query", e["query"]!, "--events", e["events"]!, "--replay", e["replay"]!]
        let errors = Pipe()
        gateway.standardError = errors
        gateway.standardOutput = FileHandle.nullDevice
        try gateway.run()
        defer { if gateway.isRunning { kill(gateway.processIdentifier, SIGKILL); gateway.waitUntilExit() } }
        // "gateway: panel at http://127.0.0.1:PORT/" names the port it got.
        var log = Data()
        var base: URL?
        let started = Date().addingTimeInterval(30)
        while base == nil && Date() < started {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log.append(chunk)
            if let m = String(decoding: log, as: UTF8.self).firstMatch(of: /panel at (http:\/\/[0-9.]+:[0-9]+)\//) { base = URL(string: String(m.output.1)) }
        }
        let gatewayURL = try #require(base, "the gateway did not say where it listens: \(String(decoding: log, as: UTF8.self))")
        let output = StreamText()
        output.drain(errors.fileHandleForReading)

        // One decision with the caller identified: the recorder stores its comment in PostgreSQL.
        let call = "gw-pg-\(UUID().uuidString.prefix(8))"
        let query = #"{"id":1,"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","idempotency_key":"\#(call)","call":{"call_id":"\#(call)","topic":"termination","identification":"ФИОПД","facts":{"insists":true}}}"#
        let reply = try #require(try askOnce(e["query"]!, query))
        let comment = try #require(reply["decision"]?["comment"]?.text, "\(reply)")

        let (signedIn, who) = try await Self.request(gatewayURL.appendingPathComponent("v1/signin"), method: "POST", body: #"{"agent":"anna","token":"s3cret"}"#)
        #expect(signedIn == 200, "\(who)")
        let session = try #require(who["session"]?.text, "\(who)")
        let comments = gatewayURL.appendingPathComponent("v1/calls/\(call)/comments")
        var (status, body) = try await Self.request(comments, session: session)
        let deadline = Date().addingTimeInterval(20)
        while status == 404 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            (status, body) = try await Self.request(comments, session: session)
        }
        #expect(status == 200, "\(body)\n\(output.text.suffix(2000))")
        guard case .array(let rows)? = body["comments"] else { Issue.record("no comments in \(body)"); return }
        #expect(rows.count == 1, "\(body)")
        #expect(rows.first?["comment"]?.text == comment && rows.first?["seq"] == reply["seq"] && rows.first?["event_id"] == reply["event_id"], "\(body) against \(reply)")
        #expect(comment.contains("ФИОПД"), "\(comment)")
        // A call the recorder never saw is not found, from the same store.
        let (missing, error) = try await Self.request(gatewayURL.appendingPathComponent("v1/calls/nobody-\(call)/comments"), session: session)
        #expect(missing == 404 && error["error"]?["code"]?.text == "not_found", "\(error)")

        kill(gateway.processIdentifier, SIGTERM)
        gateway.waitUntilExit()
        #expect(recorder.terminate() == 0, "\(recorder.stderr)")
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }
}
