import EventFeed
import Foundation
import Routing
import Synchronization
import TestSupport
import Testing
import Wire
import ZeroMQ
@testable import Gateway

@Suite(.ownThreads)
struct PBKDF2Tests {
    /// RFC 7914 §11 and the widely published PBKDF2-HMAC-SHA256 vectors (first 32 bytes).
    @Test(arguments: [
        ("password", "salt", 1, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
        ("password", "salt", 2, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
        ("password", "salt", 4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
        ("passwd", "salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"),
    ])
    func knownVectors(password: String, salt: String, iterations: Int, hex: String) {
        #expect(PBKDF2.hex(PBKDF2.sha256(password: Array(password.utf8), salt: Array(salt.utf8), iterations: iterations)) == hex)
    }

    @Test func agentLine_signsInWithItsTokenOnly() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("agents-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let line = AgentDirectory.line(agent: "a-1", name: "Анна", token: "s3cret", targets: ["retention"], iterations: 50)
        try ("# agents\n" + line + "\n").write(to: file, atomically: true, encoding: .utf8)
        let directory = try AgentDirectory(file: file.path)
        #expect(!line.contains("s3cret"))
        #expect(directory.signIn(agent: "a-1", token: "wrong") == nil)
        #expect(directory.signIn(agent: "nobody", token: "s3cret") == nil)
        let session = try #require(directory.signIn(agent: "a-1", token: "s3cret"))
        #expect(session.agent.name == "Анна")
        #expect(directory.session(session.token)?.agent.id == "a-1")
        #expect(directory.session(session.token, now: Date().addingTimeInterval(13 * 3600)) == nil)
        directory.signOut(session.token)
        #expect(directory.session(session.token) == nil)
    }
}

@Suite(.ownThreads)
struct PopHubTests {
    static func transfer(seq: UInt64, callID: String, target: String) -> FeedEvent {
        let d = Decision(action: .transfer, target: .init(id: target, address: "cti:\(target)", via: .cti, mode: .blind), case: nil, procedure: nil,
                         reason: nil, rule: "r", phrases: [], comment: "comment \(callID)", checks: [], validUntil: nil, validUntilOffset: 0, trace: ["topic=t"])
        return FeedEvent(Wire.DecodedEvent(seq: seq, eventID: "e-\(seq)", at: Instant(milliseconds: 0), atOffset: 0, callID: callID, table: "t",
                                           tableVersion: "v", call: Call(callID: callID, topic: "t", identification: "ФИО"), idempotencyKey: nil, decision: d))
    }

    static func collect(_ stream: AsyncStream<String>, count: Int) async -> [String] {
        var out: [String] = []
        for await m in stream {
            out.append(m)
            if out.count == count { break }
        }
        return out
    }

    @Test func resumesAfterTheLastSeq_noMissedNoDoubled() async throws {
        let directory = AgentDirectory(agents: [
            .init(id: "spec", name: "S", targets: ["retention"], iterations: 1, salt: [0], hash: Array(repeating: 0, count: 32)),
        ])
        let hub = PopHub(directory: directory)
        hub.take([Self.transfer(seq: 1, callID: "c1", target: "retention"), Self.transfer(seq: 2, callID: "c2", target: "other"),
                  Self.transfer(seq: 3, callID: "c3", target: "retention")])
        // A panel that saw seq 1 reconnects: it gets c3 only, then live c4 once even if delivered twice.
        let (stream, sub) = hub.subscribe(agent: "spec", after: 1)
        hub.take([Self.transfer(seq: 3, callID: "c3", target: "retention"), Self.transfer(seq: 4, callID: "c4", target: "retention")])
        let got = await Self.collect(stream, count: 2)
        hub.unsubscribe(sub)
        #expect(got.count == 2)
        #expect(got[0].contains("\"call_id\":\"c3\"") && got[0].contains("\"type\":\"pop\"") && got[0].contains("comment c3"))
        #expect(got[1].contains("\"call_id\":\"c4\""))
    }

    @Test func theDecidingAgentGetsItsDecision() async {
        let directory = AgentDirectory(agents: [])
        let hub = PopHub(directory: directory)
        hub.noteDecider(callID: "c9", agent: "first")
        let (stream, sub) = hub.subscribe(agent: "first", after: 0)
        hub.take([Self.transfer(seq: 7, callID: "c9", target: "retention")])
        let got = await Self.collect(stream, count: 1)
        hub.unsubscribe(sub)
        #expect(got.first?.contains("\"type\":\"decision\"") == true)
    }
}

/// The gateway's engine client across several engines: real sockets, a silent engine first.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EngineClientFailoverTests {
    /// An engine that answers every request with its bytes, and counts them.
    final class EchoEngine: @unchecked Sendable {  // the socket belongs to its thread; the count is atomic
        let endpoint: String
        private let stopping = Atomic<Bool>(false)
        private let count = Atomic<Int>(0)
        private let finished = DispatchSemaphore(value: 0)
        init() throws {
            let context = try Context()
            let router = try Socket(context, .router)
            try router.set(.linger, Int32(0))
            try router.bind("tcp://127.0.0.1:*")
            endpoint = router.lastEndpoint
            let box = Box(context: context, router: router)
            Thread { [self] in
                var poller = Poller([box.router])
                while !stopping.load(ordering: .acquiring) {
                    guard (try? poller.poll(timeoutMilliseconds: 20))?[0] == true else { continue }
                    while let frames = try? box.router.receiveMultipart(wait: false) {
                        count.add(1, ordering: .relaxed)
                        _ = try? box.router.send(multipart: frames)
                    }
                }
                box.router.close()
                finished.signal()
            }.start()
        }
        var requests: Int { count.load(ordering: .relaxed) }
        func stop() { stopping.store(true, ordering: .releasing); finished.wait() }
        final class Box: @unchecked Sendable {  // handed to the engine's thread
            let context: Context
            let router: Socket
            init(context: Context, router: Socket) { (self.context, self.router) = (context, router) }
        }
    }

    @Test func aSilentEngineIsLeftForTheNextAndTheNextStaysPreferred() async throws {
        let context = try Context()
        let silent = try Socket(context, .router)
        try silent.set(.linger, Int32(0))
        try silent.bind("tcp://127.0.0.1:*")
        defer { silent.close() }
        let live = try EchoEngine()
        defer { live.stop() }
        let client = try EngineClient(endpoints: [silent.lastEndpoint, live.endpoint], timeout: .milliseconds(300), tries: 2)
        let request = Array(#"{"id":1,"idempotency_key":"k-1"}"#.utf8)
        #expect(try await client.query(request) == request)  // after one timeout on the silent engine
        // The next queries start on the engine that answered: the silent one got only the first.
        for _ in 0..<5 { _ = try await client.query(request) }
        #expect(live.requests == 6)
        var reachedSilent = 0
        while (try silent.receiveMultipart(wait: false)) != nil { reachedSilent += 1 }
        #expect(reachedSilent == 1)
        // One try on the silent engine only: unanswered.
        let lonely = try EngineClient(endpoints: [silent.lastEndpoint], timeout: .milliseconds(100), tries: 1)
        await #expect(throws: EngineClient.Unanswered.self) { _ = try await lonely.query(request) }
    }
}
