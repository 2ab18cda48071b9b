import Foundation
import Synchronization
import TestSupport
import Testing
import Routing
@testable import Simulator
import Wire
import ZeroMQ

/// A scripted engine on loopback: a ROUTER that answers queries idempotently by key (or drops the sends it
/// is told to), and a PUB with heartbeats and one event per decision, as contract 1.1 describes.
final class ScriptedEngine {
    let queryEndpoint: String
    let eventsEndpoint: String
    /// What arrived, in order: (query id, the bytes).
    private let arrivals = Mutex<[(Int, [UInt8])]>([])
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - drop: given a query id and how many times it arrived before, whether to leave it unanswered.
    ///   - unavailable: the same question, whether to answer `unavailable` (deciding nothing), as an engine
    ///     that cannot reach its store does.
    init(drop: @escaping @Sendable (_ id: Int, _ earlier: Int) -> Bool,
         unavailable: @escaping @Sendable (_ id: Int, _ earlier: Int) -> Bool = { _, _ in false }) throws {
        let context = try Context()
        let router = try Socket(context, .router)
        let pub = try Socket(context, .pub)
        for s in [router, pub] {
            try s.set(.linger, Int32(0))
            try s.bind("tcp://127.0.0.1:*")
        }
        queryEndpoint = router.lastEndpoint
        eventsEndpoint = pub.lastEndpoint
        let box = Owned(context: context, router: router, pub: pub, drop: drop, unavailable: unavailable)
        Thread { [self] in
            serve(box)
            finished.signal()
        }.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        finished.wait()
    }

    var received: [(Int, [UInt8])] { arrivals.withLock { $0 } }

    private func serve(_ owned: Owned) {
        let (router, pub) = (owned.router, owned.pub)
        defer {
            router.close()
            pub.close()
        }
        var seq: UInt64 = 0
        var replies: [String: [UInt8]] = [:]
        var nextHeartbeat = Date()
        var poller = Poller([router])
        let at = Timestamp.parse("2026-11-23T12:00:00+03:00")!
        while !stopping.load(ordering: .acquiring) {
            if Date() >= nextHeartbeat {
                _ = try? pub.send(multipart: [Array("heartbeat".utf8), Wire.encodeHeartbeat(seq: seq, at: at.instant)])
                nextHeartbeat = Date().addingTimeInterval(0.1)
            }
            guard (try? poller.poll(timeoutMilliseconds: 20))?[0] == true else { continue }
            while let frames = try? router.receiveMultipart(wait: false), frames.count == 2 {
                let body = frames[1]
                guard let query = try? JSONReader.parse(body), case .number(let n)? = query["id"],
                      case .string(let key)? = query["idempotency_key"], case .string(let callID)? = query["call"]?["call_id"] else {
                    Issue.record("a query without an id, a key or a call: \(String(decoding: body, as: UTF8.self))")
                    continue
                }
                let id = Int(n)
                let earlier = arrivals.withLock { list in
                    defer { list.append((id, body)) }
                    return list.filter { $0.0 == id }.count
                }
                if owned.drop(id, earlier) { continue }
                if owned.unavailable(id, earlier) {
                    let refusal = #"{"id":\#(id),"error":{"code":"unavailable","message":"the shared store cannot be reached"}}"#
                    _ = try? router.send(multipart: [frames[0], Array(refusal.utf8)])
                    continue
                }
                if let first = replies[key] {
                    _ = try? router.send(multipart: [frames[0], first])  // a repeat: the first reply, nothing published
                    continue
                }
                seq += 1
                let decision = Decision(action: .firstLine, target: nil, case: nil, procedure: "p", reason: nil, rule: "r", phrases: [],
                                        comment: "c \(id)", checks: [], validUntil: nil, validUntilOffset: 0, trace: [])
                var reply = JSONWriter()
                reply.object { o in
                    o.member("id") { $0.number(Int64(id)) }
                    o.member("seq") { $0.number(Int64(seq)) }
                    o.member("event_id") { $0.string("e-\(seq)") }
                    o.member("decision") { Wire.encode(decision, into: &$0) }
                }
                replies[key] = reply.bytes
                _ = try? router.send(multipart: [frames[0], reply.bytes])
                let event = DecisionEvent(seq: seq, eventID: "e-\(seq)", at: at.instant, atOffset: at.offsetSeconds, callID: callID,
                                          table: "t", tableVersion: "v", decision: decision)
                var w = JSONWriter()
                event.encode(into: &w)
                _ = try? pub.send(multipart: [Array(event.topic.utf8), w.bytes])
            }
        }
    }

    /// The sockets, handed to the engine's thread.
    final class Owned {
        let context: Context
        let router: Socket
        let pub: Socket
        let drop: @Sendable (Int, Int) -> Bool
        let unavailable: @Sendable (Int, Int) -> Bool
        init(context: Context, router: Socket, pub: Socket, drop: @escaping @Sendable (Int, Int) -> Bool,
             unavailable: @escaping @Sendable (Int, Int) -> Bool) {
            (self.context, self.router, self.pub, self.drop, self.unavailable) = (context, router, pub, drop, unavailable)
        }
    }
}

// Made on the test's thread, then used only by the engine's thread.
extension ScriptedEngine.Owned: @unchecked Sendable {}
extension ScriptedEngine: @unchecked Sendable {}  // its mutable state is a Mutex and an Atomic

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct LazyPirateTests {
    static func mix() throws -> CallMix {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("routing-tables/retention-ru.mix.yaml"), encoding: .utf8)
        return try CallMix(yaml: text, file: "retention-ru.mix.yaml")
    }

    static func configuration(_ engine: ScriptedEngine, calls: Int) -> Simulation.Configuration {
        var c = Simulation.Configuration()
        c.queryEndpoint = engine.queryEndpoint
        c.eventsEndpoint = engine.eventsEndpoint
        c.mode = .closedLoop(clients: 2, inFlight: 3)
        c.calls = calls
        c.duration = nil
        c.seed = 7
        c.replyTimeout = .milliseconds(300)
        c.tries = 3
        c.grace = .milliseconds(500)
        return c
    }

    /// Every other query's first send is lost: each is sent again, the same bytes with the same key, and
    /// answered once, with one event.
    @Test func aLostQueryIsSentAgainWithItsKey() throws {
        let engine = try ScriptedEngine { id, earlier in id % 2 == 0 && earlier == 0 }
        defer { engine.stop() }
        let summary = try Simulation(configuration: Self.configuration(engine, calls: 20), mix: Self.mix()).run()
        #expect(summary.sent == 20 && summary.answered == 20 && summary.unanswered == 0 && summary.gaveUp == 0)
        #expect(summary.retries >= 10)
        #expect(summary.eventsMatched == 20 && summary.eventsMissing == 0 && summary.eventsDuplicated == 0 && summary.eventsMismatched == 0)
        let received = engine.received
        for id in stride(from: 0, to: 20, by: 2) {
            let sends = received.filter { $0.0 == id }.map(\.1)
            #expect(sends.count >= 2, "query \(id) was sent \(sends.count) times")
            #expect(Set(sends).count == 1, "query \(id) was not resent byte for byte")
        }
        let keys = Set(received.compactMap { try? JSONReader.parse($0.1)["idempotency_key"] })
        #expect(keys.count == 20)  // one key per query, whatever its retries
    }

    /// Every reply comes in time: nothing is sent twice.
    @Test func noRetryWhenEveryReplyComes() throws {
        let engine = try ScriptedEngine { _, _ in false }
        defer { engine.stop() }
        var c = Self.configuration(engine, calls: 200)
        c.mode = .openLoop(rate: 2000)
        // Far beyond any wait of a loaded machine: a retry then means a reply was lost, not late.
        c.replyTimeout = .seconds(60)
        let summary = try Simulation(configuration: c, mix: Self.mix()).run()
        #expect(summary.answered == 200 && summary.retries == 0 && summary.gaveUp == 0 && summary.duplicateReplies == 0)
        #expect(engine.received.count == 200)
    }

    /// Every answer is handed over once, with the key the query carried and the seq and event id of its reply.
    @Test func eachAnswerIsReportedOnceWithItsKeyAndSeq() throws {
        let engine = try ScriptedEngine { id, earlier in id % 3 == 0 && earlier == 0 }
        defer { engine.stop() }
        var answers: [Simulation.Answer] = []
        let before = Date().timeIntervalSince1970
        let summary = try Simulation(configuration: Self.configuration(engine, calls: 30), mix: Self.mix()).run(answered: { answers.append($0) })
        #expect(summary.answered == 30 && answers.count == 30)
        #expect(Set(answers.map(\.id)) == Set(0..<30))
        let sentKeys = Dictionary(engine.received.map { ($0.0, (try? JSONReader.parse($0.1))?["idempotency_key"]?.text) }, uniquingKeysWith: { a, _ in a })
        for a in answers {
            #expect(a.idempotencyKey != nil && a.idempotencyKey == sentKeys[a.id] ?? nil, "\(a)")
            #expect(a.seq != nil && a.eventID == "e-\(a.seq ?? 0)" && a.error == nil, "\(a)")
            #expect(a.sentTo == engine.queryEndpoint && a.answeredBy == engine.queryEndpoint)
            #expect(a.sentAt >= before && a.answeredAt >= a.sentAt, "\(a)")
            let line = try JSONReader.parse(a.json)
            #expect(line["idempotency_key"]?.text == a.idempotencyKey && line["seq"] == .number(Double(a.seq ?? 0)) && line["tries"] == .number(Double(a.tries)))
        }
        #expect(Set(answers.compactMap(\.seq)).count == 30, "a seq answered twice")
        #expect(answers.filter { $0.id % 3 == 0 }.allSatisfy { $0.tries >= 2 })
    }

    /// `unavailable` decides nothing: the query is sent again with its key and its decision is the answer.
    @Test func anUnavailableReplyIsSentAgain() throws {
        let engine = try ScriptedEngine(drop: { _, _ in false }, unavailable: { id, earlier in id % 2 == 1 && earlier == 0 })
        defer { engine.stop() }
        var answers: [Simulation.Answer] = []
        let summary = try Simulation(configuration: Self.configuration(engine, calls: 10), mix: Self.mix()).run(answered: { answers.append($0) })
        #expect(summary.answered == 10 && summary.decisions == 10 && summary.errors.isEmpty && summary.unavailableReplies == 5, "\(summary)")
        #expect(summary.eventsMatched == 10 && summary.gaveUp == 0)
        #expect(answers.count == 10 && answers.allSatisfy { $0.seq != nil && $0.error == nil })
        for id in stride(from: 1, to: 10, by: 2) { #expect(engine.received.filter { $0.0 == id }.count >= 2, "query \(id)") }
    }

    /// An engine that stays `unavailable`: the query is answered with the error after its last try.
    @Test func unavailableToTheLastTryIsTheAnswer() throws {
        let engine = try ScriptedEngine(drop: { _, _ in false }, unavailable: { id, _ in id == 2 })
        defer { engine.stop() }
        var answers: [Simulation.Answer] = []
        let summary = try Simulation(configuration: Self.configuration(engine, calls: 5), mix: Self.mix()).run(answered: { answers.append($0) })
        #expect(summary.answered == 5 && summary.errors == ["unavailable": 1] && summary.unavailableReplies == 2 && summary.gaveUp == 0, "\(summary)")
        #expect(engine.received.filter { $0.0 == 2 }.count == 3)
        #expect(answers.first { $0.id == 2 }.map { $0.error == "unavailable" && $0.seq == nil && $0.tries == 3 } == true)
    }

    /// A query never answered is given up after its tries, and said so in the summary.
    @Test func aQueryIsGivenUpAfterItsTries() throws {
        let engine = try ScriptedEngine { id, _ in id == 3 }
        defer { engine.stop() }
        let summary = try Simulation(configuration: Self.configuration(engine, calls: 8), mix: Self.mix()).run()
        #expect(summary.gaveUp == 1 && summary.unanswered == 1 && summary.answered == 7)
        #expect(engine.received.filter { $0.0 == 3 }.count == 3)
        #expect(summary.eventsMatched == 7 && summary.eventsMissing == 0)
    }
}

/// Several engines: a silent one first in the list, the scripted engine second.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct FailoverTests {
    /// The first engine accepts connections and never answers (hung, or cut off after the handshake): the
    /// clients that start on it send again, the same bytes with the same key, to the next engine.
    @Test func aSilentEngineFirstFailsOverToTheNext() throws {
        let context = try Context()
        let silent = try Socket(context, .router)
        try silent.set(.linger, Int32(0))
        try silent.bind("tcp://127.0.0.1:*")
        defer { silent.close() }
        let engine = try ScriptedEngine { _, _ in false }
        defer { engine.stop() }
        var c = LazyPirateTests.configuration(engine, calls: 40)
        c.queryEndpoints = [silent.lastEndpoint, engine.queryEndpoint]
        c.eventsEndpoints = ["tcp://127.0.0.1:1", engine.eventsEndpoint]  // a dead events endpoint is no obstacle either
        var answers: [Simulation.Answer] = []
        let summary = try Simulation(configuration: c, mix: LazyPirateTests.mix()).run(answered: { answers.append($0) })
        #expect(summary.sent == 40 && summary.answered == 40 && summary.unanswered == 0 && summary.gaveUp == 0)
        #expect(summary.retries >= 1)  // the client that began on the silent engine
        // It left the silent engine, never the live one; its queries were answered by the live one after a retry.
        #expect(summary.failovers[silent.lastEndpoint] ?? 0 >= 1 && summary.failovers[engine.queryEndpoint] == 0, "\(summary.failovers)")
        #expect(answers.count == 40 && answers.allSatisfy { $0.answeredBy == engine.queryEndpoint })
        let failedOver = answers.filter { $0.sentTo == silent.lastEndpoint }
        #expect(!failedOver.isEmpty && failedOver.allSatisfy { $0.tries >= 2 && $0.answeredAt - $0.sentAt >= 0.3 }, "\(failedOver)")
        #expect(summary.eventsMatched == 40 && summary.eventsDuplicated == 0 && summary.seqGaps == 0)
        // Whatever reached the silent engine first reached the live one too, byte for byte, and was decided once.
        let received = engine.received
        #expect(Set(received.map(\.0)).count == 40)
        for id in Set(received.map(\.0)) { #expect(Set(received.filter { $0.0 == id }.map(\.1)).count == 1) }
    }
}
