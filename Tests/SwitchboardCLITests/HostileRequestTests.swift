import Foundation
import Routing
import TestSupport
import Testing
import Wire

/// Requests built to cost the engine time, and ids built to be changed, sent to a real `switchboard serve`
/// (issue 13, findings 4 and 7).
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct HostileRequestTests {
    /// `"!!":0,"!#":1,…`: every two-character key of printable ASCII, 8,464 of them, 59 KB.
    static let wideMembers: String = {
        let alphabet = (0x21...0x7E).filter { $0 != 0x22 && $0 != 0x5C }.map { Character(Unicode.Scalar(UInt8($0))) }
        return (0..<(alphabet.count * alphabet.count)).map { "\"\(alphabet[$0 / alphabet.count])\(alphabet[$0 % alphabet.count])\":\($0 % 10)" }
            .joined(separator: ",")
    }()

    /// The 8,464-key object as a query, a replay request and a control command: each is refused with `too_large`
    /// naming the bound, the query's refusal carries its id, and the engine goes on answering.
    @Test func anEightThousandKeyObjectIsRefusedEverywhere() throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        let serve = try ServeProcess(data: data)
        let wide = "{\(Self.wideMembers)}"
        #expect(wide.utf8.count == 59_249)
        let frames = [
            ("query", #"{"id":7,\#(Self.wideMembers)}"#),
            ("query", #"{"id":8,"table":"retention-ru","call":{"call_id":"w","topic":"termination","facts":\#(wide)}}"#),
            ("replay", wide),
            ("control", wide),
            ("query", #"{"id":9,"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","call":{"call_id":"n","topic":"termination","facts":{"insists":true}}}"#),
        ]
        let replies = try RawClient.run(serve.endpoints, frames: frames, operatorKey: data.appendingPathComponent("operator.key"))
        #expect(replies.count == frames.count)
        for (n, reply) in replies.prefix(4).enumerated() {
            let value = try JSONReader.parse(reply)
            #expect(value["error"]?["code"] == .string("too_large"), "\(frames[n].0): \(reply.prefix(300))")
            #expect(value["error"]?["message"]?.text.contains("more than 256 keys in one object") == true)
        }
        #expect(replies[0].hasPrefix(#"{"id":7,"#) && replies[1].hasPrefix(#"{"id":8,"#))
        #expect(try JSONReader.parse(replies[4])["decision"]?["action"] == .string("transfer"))
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    /// The reply's id is the query's, byte for byte.
    @Test
    func idsComeBackByteForByte() throws {
        let data = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        let serve = try ServeProcess(data: data)
        let ids = ["1234567890123456", "9007199254740993", "-0", "1e400", "0.1", #""a \"b\" \\ \u00e9 \ud83d\ude00 é""#, "-12.50E+3"]
        let call = #""table":"retention-ru","at":"2026-11-23T12:00:00+03:00","call":{"call_id":"i","topic":"termination","facts":{"insists":true}}"#
        var frames = ids.map { ("query", #"{"id":\#($0),\#(call)}"#) }
        frames += ids.map { ("query", #"{"id":\#($0),"table":"none","call":{}}"#) }  // refused, same id
        let replies = try RawClient.run(serve.endpoints, frames: frames, operatorKey: data.appendingPathComponent("operator.key"))
        #expect(replies.count == frames.count)
        for (n, reply) in replies.enumerated() {
            let id = ids[n % ids.count]
            // A decision's reply goes on with its seq (contract 1.1), an error's with the error.
            #expect(reply.hasPrefix(#"{"id":\#(id),"\#(n < ids.count ? "seq" : "error")":"#), "\(reply.prefix(200))")
        }
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }
}

/// Sends frames exactly as given, each to the named endpoint over a DEALER, and returns each reply's bytes as text.
enum RawClient {
    /// - Parameter operatorKey: the engine's operator credentials, for frames sent to the control endpoint (CURVE).
    static func run(_ endpoints: [String: String], frames: [(endpoint: String, body: String)], operatorKey: URL? = nil) throws -> [String] {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("frames")
        // One frame a line: the endpoint, a tab, the body (which has no line breaks).
        try Data(frames.map { "\(endpoints[$0.endpoint]!)\t\($0.body)\n" }.joined().utf8).write(to: input)
        let script = """
        import sys, zmq
        ctx = zmq.Context()
        sockets = {}
        keys = dict(l.split(" ", 1) for l in open(sys.argv[2]).read().splitlines() if l and not l.startswith("#")) if len(sys.argv) > 2 else {}
        for line in open(sys.argv[1], "rb").read().split(b"\\n"):
            if not line: continue
            endpoint, body = line.split(b"\\t", 1)
            if endpoint not in sockets:
                s = ctx.socket(zmq.DEALER); s.setsockopt(zmq.LINGER, 0); s.setsockopt(zmq.RCVTIMEO, 10000)
                if keys and endpoint.decode() == sys.argv[3]:
                    s.curve_serverkey = keys["server-key"].encode(); s.curve_publickey = keys["public-key"].encode(); s.curve_secretkey = keys["secret-key"].encode()
                s.connect(endpoint.decode()); sockets[endpoint] = s
            s = sockets[endpoint]
            s.send_multipart([b"", body])
            reply = s.recv_multipart()
            sys.stdout.buffer.write(reply[-1] + b"\\n"); sys.stdout.flush()
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", script, input.path] + (operatorKey.map { [$0.path, endpoints["control"]!] } ?? [])
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
