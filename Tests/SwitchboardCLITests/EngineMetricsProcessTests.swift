import Foundation
import TestSupport
import Testing
import Routing
import Wire

/// `control health` and `--metrics` report the same counts, because they are the same counts (EngineMeters).
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EngineMetricsProcessTests {
    @Test func healthAndMetricsAgreeAfterLoad() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder, extra: ["--metrics", "127.0.0.1:0"])
        let port = try metricsPort(serve)
        let query = serve.endpoints["query"]!, replay = serve.endpoints["replay"]!
        // Load: 12 decisions on two tables, 3 repeats of a keyed one, 2 errors of each of two codes, 3 replays (one refused).
        for i in 0..<8 {
            let reply = try askOnce(query, #"{"id":\#(i),"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","call":{"call_id":"m-\#(i)","topic":"termination","facts":{"insists":true}}}"#)
            #expect(reply?["decision"] != nil, "\(String(describing: reply))")
        }
        for i in 0..<3 {
            let reply = try askOnce(query, #"{"id":"k\#(i)","table":"es-ivr-unblock","idempotency_key":"key-1","call":{"call_id":"i-1","topic":"unblock","facts":{"digits":"111"}}}"#)
            #expect(reply?["seq"] == .number(9), "\(String(describing: reply))")
        }
        for i in 0..<3 {
            _ = try askOnce(query, #"{"id":"u\#(i)","table":"es-ivr-unblock","call":{"call_id":"i-\#(i + 2)","topic":"unblock","facts":{"digits":"1"}}}"#)
        }
        for body in [#"{"id":1,"#, #"{"id":2,"#, #"{"id":3,"table":"nope","call":{"call_id":"x","topic":"t"}}"#, #"{"id":4,"table":"nope","call":{"call_id":"x","topic":"t"}}"#] {
            #expect(try askOnce(query, body)?["error"] != nil)
        }
        // Each answered before health is read, and counted before its answer left (a CI run once read health between
        // the third replay's answer and its count); 60 s, so only a lost reply fails it.
        for body in [#"{"from_seq":1,"max":5}"#, #"{"from_seq":6}"#, #"{"from_seq":0}"#] {
            #expect(try askOnce(replay, body, timeout: 60_000) != nil, "no answer to the replay \(body)")
        }

        // The syncer runs on its own: wait until everything is on disk, so both views see the same synced seq.
        var health: Value?
        let deadline = Date().addingTimeInterval(10)
        repeat {
            health = try askOnce(serve.endpoints["control"]!, #"{"cmd":"health"}"#, credentials: try operatorCredentials(folder))
            if health?["journal"]?["synced_seq"] == .number(12) { break }
            usleep(50_000)
        } while Date() < deadline
        let h = try #require(health)
        let metrics = try PrometheusText(httpGet(port: port, path: "/metrics"))
        let counters = try #require(h["counters"])

        // What was sent, as both report it.
        #expect(counters["decisions"] == .number(12))
        #expect(metrics.sum("switchboard_engine_decisions_total") == 12)
        #expect(metrics.sum("switchboard_engine_decisions_total", where: ["table": "retention-ru", "topic": "termination"]) == 8)
        #expect(counters["queries"] == .number(18))
        #expect(counters["repeats"] == .number(2))
        #expect(counters["errors"]?["bad_json"] == .number(2))
        #expect(counters["errors"]?["unknown_table"] == .number(2))
        #expect(counters["replays"] == .number(3))
        #expect(counters["replay_errors"]?["bad_type"] == .number(1))
        #expect(metrics.sum("switchboard_engine_journal_fsync_duration_seconds_count") >= 1)

        // Every count health reports is the metric's value.
        let pairs: [(health: Value?, metric: String, labels: [String: String])] = [
            (counters["queries"], "switchboard_engine_queries_total", [:]),
            (counters["queries"], "switchboard_engine_query_duration_seconds_count", [:]),
            (counters["decisions"], "switchboard_engine_decisions_total", [:]),
            (counters["repeats"], "switchboard_engine_repeats_total", [:]),
            (counters["errors"]?["bad_json"], "switchboard_engine_errors_total", ["code": "bad_json"]),
            (counters["errors"]?["unknown_table"], "switchboard_engine_errors_total", ["code": "unknown_table"]),
            (counters["replays"], "switchboard_engine_replays_total", [:]),
            (counters["replay_errors"]?["bad_type"], "switchboard_engine_replay_errors_total", ["code": "bad_type"]),
            (counters["published"], "switchboard_engine_published_total", [:]),
            (counters["replies_not_sent"], "switchboard_engine_replies_not_sent_total", [:]),
            (counters["reloads"], "switchboard_engine_reloads_total", [:]),
            (h["journal"]?["seq"], "switchboard_engine_journal_seq", [:]),
            (h["journal"]?["synced_seq"], "switchboard_engine_journal_synced_seq", [:]),
        ]
        for pair in pairs {
            guard case .number(let n)? = pair.health else {
                Issue.record("health lacks the count for \(pair.metric): \(h)")
                continue
            }
            #expect(n == metrics.sum(pair.metric, where: pair.labels), "\(pair.metric) \(pair.labels)")
        }
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }
}

/// The port `--metrics 127.0.0.1:0` chose, from the process's "metrics on http://…" line.
func metricsPort(_ serve: ServeProcess) throws -> Int {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        if let m = serve.stderr.firstMatch(of: /metrics on http:\/\/[0-9.]+:([0-9]+)\/metrics/), let port = Int(m.output.1) { return port }
        usleep(20_000)
    }
    throw ServeProcess.ServeFailure(log: "no metrics line:\n" + serve.stderr)
}

/// A plain HTTP/1.1 GET on loopback; the body.
func httpGet(port: Int, path: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response += buffer[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.1 200"), let split = text.range(of: "\r\n\r\n") else { throw ServeProcess.ServeFailure(log: "GET \(path): \(text.prefix(200))") }
    return String(text[split.upperBound...])
}

/// Prometheus exposition text, as samples: name, labels, value.
struct PrometheusText {
    let samples: [(name: String, labels: [String: String], value: Double)]

    init(_ text: String) throws {
        var samples: [(String, [String: String], Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else {
                samples.append((String(series), [:], value))
                continue
            }
            var labels: [String: String] = [:]
            for m in series[brace...].matches(of: /([a-z_]+)="([^"]*)"/) { labels[String(m.output.1)] = String(m.output.2) }
            samples.append((String(series[..<brace]), labels, value))
        }
        self.samples = samples
    }

    /// The sum of the samples of `name` whose labels include `labels`.
    func sum(_ name: String, where labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }
}
