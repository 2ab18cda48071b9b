import Foundation
import Recorder
import Routing
import TestSupport
import Testing
import Wire

/// Card data sent to a real `switchboard serve` and `switchboard recorder` (issue 13, finding 6): in the notes, the
/// identification, a string fact and a string customer field, it appears in none of the places a call's text goes.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct MaskingProcessTests {
    /// The secret formats of the finding, and those masked before.
    static let secrets = [
        "4111.1111.1111.1111", "5500/0000/0000/0004", "4012  8888  8888  1881", "6011\u{A0}1111\u{A0}1111\u{A0}1117",
        "5555\u{2009}5555\u{202F}5555\u{3000}4444", "4242 4242\n4242 4242", "3782 822463\r\n10005", "４０００ ０５６６ ５５６６ ５５５６",
        "5105105105105100", "4111-1111-1111-1111", "3530 1113 3330 0000",
        "CVV947", "CVV码562", "客户说CVV 739，已核实", "cvc2: 4567", "CVV 318",
        "sms code 5521", "one-time code: 884422", "verification code is 123456", "código de verificação 654321",
        "código de verificación: 246810", "código SMS es 998877", "код из SMS: 4821", "SMS-код 482190", "одноразовый код 771204",
        "动态码 731904", "短信验证码为604918", "安全码为739", "验证码：６０４９１８", "OTP is 9731",
        "护照E73920461", "паспорт 45 08 123456", "passport AB1234567", "有效期12/28",
    ]

    /// What must not appear anywhere: each secret as written and as JSON writes it (line breaks escaped).
    static let needles: [(secret: String, bytes: [UInt8])] = secrets.flatMap { secret -> [(String, [UInt8])] in
        var w = JSONWriter()
        w.string(secret)
        return [(secret, Array(secret.utf8)), (secret, Array(w.bytes.dropFirst().dropLast()))]
    }

    /// One call a secret and a place: notes, identification, a customer field, a string fact of a playbook topic.
    static func requests() -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for (n, secret) in secrets.enumerated() {
            let other = secrets[(n + 1) % secrets.count]
            let retention: Value = .object([
                .init("table", .string("retention-ru")), .init("at", .string("2026-11-23T12:00:00+03:00")),
                .init("call", .object([
                    .init("call_id", .string("m-\(n)")), .init("topic", .string("termination")),
                    .init("identification", .string(other)), .init("customer", .object([.init("region", .string(secret))])),
                    .init("facts", .object([.init("insists", .bool(true))])), .init("notes", .string("клиент: \(secret); всё")),
                ])),
            ])
            let outage: Value = .object([
                .init("table", .string("br-broadband")), .init("at", .string("2026-11-23T12:00:00-03:00")),
                .init("call", .object([
                    .init("call_id", .string("s-\(n)")), .init("topic", .string("mass_outage")),
                    .init("facts", .object([.init("outage_id", .string("694999")), .init("forecast", .string(secret))])),
                ])),
            ])
            for request in [retention, outage] {
                var w = JSONWriter()
                w.value(request)
                lines.append(w.bytes)
            }
        }
        return lines
    }

    @Test func noSecretReachesAnyPlace() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        let db = folder.appendingPathComponent("comments.sqlite").path
        let serve = try ServeProcess(data: data)
        let recorder = try RecorderProcess(db: db, endpoints: serve.endpoints)
        recorder.waitUntilRecording()

        // Replies, events and a replay, as a client sees them.
        let requests = Self.requests()
        let input = folder.appendingPathComponent("requests.jsonl")
        try Data(requests.map { $0 + [0x0A] }.joined()).write(to: input)
        let seen = folder.appendingPathComponent("seen")
        let client = try Self.runClient(serve.endpoints, input: input, output: seen)
        #expect(client.status == 0, "\(client.output)")
        let frames = try Data(contentsOf: seen)
        let replies = String(decoding: frames, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("reply ") }
        #expect(replies.count == requests.count)
        #expect(replies.allSatisfy { $0.contains(#""decision":"#) }, "\(replies.filter { !$0.contains(#""decision":"#) }.prefix(3))")

        // The recorder's store, main file and WAL, while it runs.
        let deadline = Date().addingTimeInterval(30)
        while ((try? CommentStore(path: db).lastSeq()) ?? 0) < UInt64(requests.count) && Date() < deadline { usleep(50_000) }
        #expect(try CommentStore(path: db).lastSeq() == UInt64(requests.count))
        var places: [(String, Data)] = [("replies, events and replay", frames)]
        for suffix in ["", "-wal"] {
            let path = db + suffix
            places.append(("SQLite \(suffix.isEmpty ? "file" : suffix) while recording", (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()))
        }
        #expect(places.last!.1.count > 0, "the recorder keeps a WAL")
        let comments = try CLI.run(["comments", "--db", db])
        #expect(comments.status == 0 && comments.lines.count == requests.count)
        places.append(("switchboard comments", Data(comments.stdout.utf8)))
        let export = try CLI.run(["journal", "export", "--data", data.path])
        #expect(export.status == 0 && export.lines.count == requests.count, "\(export.stderr)")
        places.append(("switchboard journal export", Data(export.stdout.utf8)))
        // The masked calls still decide as before when replayed from the export.
        let batch = try CLI.run(["route", "--table", "retention-ru", "--batch"], stdin: export.lines.filter { $0.contains("m-") }.joined(separator: "\n") + "\n")
        #expect(batch.lines.count == Self.secrets.count && batch.lines.allSatisfy { $0.contains(#""action":"transfer""#) })
        places.append(("switchboard route --batch", Data(batch.stdout.utf8)))

        #expect(recorder.terminate() == 0)
        places.append(("SQLite file after the recorder stopped", try Data(contentsOf: URL(fileURLWithPath: db))))
        places.append(("recorder's log", Data(recorder.stderr.utf8)))
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
        for file in ["journal.jsonl", "sessions.jsonl"] {
            places.append((file, try Data(contentsOf: data.appendingPathComponent(file))))
        }
        #expect(String(decoding: places.last!.1, as: UTF8.self).contains("s-33"), "every outage call keeps a session")
        places.append(("engine's log", Data(serve.stderr.utf8)))

        for (place, bytes) in places {
            let found = Set(Self.needles.filter { bytes.range(of: Data($0.bytes)) != nil }.map(\.secret))
            #expect(found.isEmpty, "\(place) holds \(found.sorted().map(\.debugDescription))")
        }
    }

    /// `switchboard route` decodes a call as the engine does: what it prints holds no secret either.
    @Test func routePrintsNoSecret() throws {
        for (n, secret) in Self.secrets.enumerated() {
            var w = JSONWriter()
            w.value(.object([
                .init("call_id", .string("r-\(n)")), .init("topic", .string("operator_number")), .init("identification", .string(secret)),
                .init("facts", .object([.init("operator_number", .string(secret))])), .init("notes", .string(secret)),
            ]))
            let r = try CLI.run(["route", "--table", "retention-ru", "--at", "2026-11-23T12:00:00+03:00", "--call", w.string])
            #expect(r.status == 0, "\(r.stdout)")
            let found = Self.needles.filter { Data(r.stdout.utf8).range(of: Data($0.bytes)) != nil }.map(\.secret)
            #expect(found.isEmpty, "\(secret.debugDescription): \(r.stdout)")
        }
    }

    /// Sends each request over a DEALER, subscribes to every event, then replays the journal from the start; writes
    /// each frame received on a line of `output`: `reply …`, `event <topic> …`, `replay …`.
    static func runClient(_ endpoints: [String: String], input: URL, output: URL) throws -> (status: Int32, output: String) {
        let script = """
        import sys, time, zmq
        query, events, replay, requests, out = sys.argv[1:6]
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB); sub.setsockopt(zmq.SUBSCRIBE, b"decision."); sub.setsockopt(zmq.RCVTIMEO, 10000); sub.connect(events)
        time.sleep(0.5)
        dealer = ctx.socket(zmq.DEALER); dealer.setsockopt(zmq.RCVTIMEO, 10000); dealer.connect(query)
        lines = [l for l in open(requests, "rb").read().split(b"\\n") if l]
        with open(out, "wb") as f:
            for n, line in enumerate(lines):
                dealer.send(b'{"id":%d,' % n + line[1:])
                f.write(b"reply " + dealer.recv() + b"\\n")
            for _ in lines:
                topic, body = sub.recv_multipart()
                f.write(b"event " + topic + b" " + body + b"\\n")
            req = ctx.socket(zmq.REQ); req.setsockopt(zmq.RCVTIMEO, 10000); req.connect(replay)
            req.send(b'{"from_seq": 1, "max": 1000}')
            f.write(b"replay " + req.recv() + b"\\n")
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script, endpoints["query"]!, endpoints["events"]!, endpoints["replay"]!, input.path, output.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: text, as: UTF8.self))
    }
}
