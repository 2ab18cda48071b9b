import EventFeed
import Foundation
import Logging
import Routing
import Synchronization
import Testing
import Wire
import ZeroMQ
import TestSupport

/// An event as an engine publishes it, encoded by the real encoder.
func eventBytes(_ seq: UInt64) -> [UInt8] {
    let decision = Decision(action: .transfer, target: .init(id: "retention", address: "cti:retention", via: .cti, mode: .blind), case: nil,
                            procedure: nil, reason: nil, rule: "termination.insists", phrases: ["Фраза"], comment: "comment \(seq)", checks: [],
                            validUntil: nil, validUntilOffset: 0, trace: [])
    let at = Timestamp.parse("2026-11-23T12:00:00+03:00")!
    let event = DecisionEvent(seq: seq, eventID: "shared-\(seq)", at: at.instant, atOffset: at.offsetSeconds, callID: "c-\(seq)",
                              table: "retention-ru", tableVersion: "v1", decision: decision)
    var w = JSONWriter()
    event.encode(into: &w)
    return w.bytes
}

func feedEvent(_ seq: UInt64) -> FeedEvent { FeedEvent(try! Wire.DecodedEvent(json: eventBytes(seq))) }

/// Several engines sharing one journal, as with PostgreSQL: each has a PUB (events, heartbeats with the
/// journal's head) and a replay ROUTER answering from the shared journal. Which engine publishes which
/// `seq` is up to the test, and an engine can be killed (its sockets closed) at any point.
final class FakeCluster: @unchecked Sendable {  // state behind Mutexes; each engine's sockets on its own thread
    let journal = SharedJournal()
    private(set) var engines: [FakeEngine] = []

    init(engines count: Int) throws {
        for _ in 0..<count { engines.append(try FakeEngine(journal: journal)) }
    }

    var eventsEndpoints: [String] { engines.map(\.eventsEndpoint) }
    var replayEndpoints: [String] { engines.map(\.replayEndpoint) }

    /// Journals the next `seq` and has the engines in `publishers` publish it. Returns the seq.
    @discardableResult func decide(publishedBy publishers: [Int]) -> UInt64 {
        let seq = journal.events.withLock { j in
            j.append(eventBytes(UInt64(j.count + 1)))
            return UInt64(j.count)
        }
        let bytes = journal.events.withLock { $0[Int(seq) - 1] }
        for p in publishers { engines[p].publish(bytes) }
        return seq
    }

    func stop() { for e in engines { e.kill() } }
}

/// The deployment's journal (PostgreSQL's role): events by seq, the first at index 0.
final class SharedJournal: Sendable {
    let events = Mutex<[[UInt8]]>([])
}

final class FakeEngine: @unchecked Sendable {  // the sockets belong to its thread; the rest is atomic or a Mutex
    let eventsEndpoint: String
    let replayEndpoint: String
    private let outbox = Mutex<[[UInt8]]>([])
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let replays = Atomic<Int>(0)

    init(journal: SharedJournal) throws {
        let context = try Context()
        let pub = try Socket(context, .pub)
        let router = try Socket(context, .router)
        for s in [pub, router] {
            try s.set(.linger, Int32(0))
            try s.bind("tcp://127.0.0.1:*")
        }
        try pub.set(.sendHighWaterMark, Int32(0))
        eventsEndpoint = pub.lastEndpoint
        replayEndpoint = router.lastEndpoint
        let sockets = Sockets(context: context, pub: pub, router: router)
        Thread { [self] in
            serve(sockets, journal: journal)
            finished.signal()
        }.start()
    }

    /// Replay requests this engine answered.
    var replaysAnswered: Int { replays.load(ordering: .relaxed) }

    func publish(_ event: [UInt8]) { outbox.withLock { $0.append(event) } }

    /// Stops at once, like `kill -9`: what is still in its outbox is never published, its sockets close.
    func kill() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }

    private func serve(_ sockets: Sockets, journal: SharedJournal) {
        let (pub, router) = (sockets.pub, sockets.router)
        defer {
            pub.close()
            router.close()
        }
        var poller = Poller([router])
        var nextHeartbeat = Date()
        let at = Timestamp.parse("2026-11-23T12:00:00+03:00")!
        while !stopping.load(ordering: .acquiring) {
            for event in outbox.withLock({ o in defer { o.removeAll() }; return o }) {
                let topic = Array("decision.transfer.retention".utf8)
                _ = try? pub.send(multipart: [topic, event])
            }
            if Date() >= nextHeartbeat {
                let head = journal.events.withLock { UInt64($0.count) }
                _ = try? pub.send(multipart: [Array("heartbeat".utf8), Wire.encodeHeartbeat(seq: head, at: at.instant)])
                nextHeartbeat = Date().addingTimeInterval(0.1)
            }
            guard (try? poller.poll(timeoutMilliseconds: 5))?[0] == true else { continue }
            while let frames = try? router.receiveMultipart(wait: false), let body = frames.last {
                guard let request = try? JSONReader.parse(body), case .number(let from)? = request["from_seq"], case .number(let max)? = request["max"] else {
                    Issue.record("a replay request the fake cannot read: \(String(decoding: body, as: UTF8.self))")
                    continue
                }
                let events = journal.events.withLock { j in Array(j.dropFirst(Int(from) - 1).prefix(Int(max))) }
                var reply = Array(#"{"events":["#.utf8)
                for (i, e) in events.enumerated() {
                    if i > 0 { reply.append(UInt8(ascii: ",")) }
                    reply += e
                }
                reply += Array(#"],"next_seq":\#(Int(from) + events.count)}"#.utf8)
                _ = try? router.send(multipart: Array(frames.dropLast()) + [reply])
                replays.add(1, ordering: .relaxed)
            }
        }
    }

    final class Sockets: @unchecked Sendable {  // made on the test's thread, then used only by the engine's thread
        let context: Context
        let pub: Socket
        let router: Socket
        init(context: Context, pub: Socket, router: Socket) { (self.context, self.pub, self.router) = (context, pub, router) }
    }
}

/// Runs a feed on a thread of its own, collecting every seq and event_id it delivers.
final class FeedRun: @unchecked Sendable {  // guarded by the lock
    private let lock = NSLock()
    private var seqs: [UInt64] = []
    private var ids: [String] = []
    private let done = DispatchSemaphore(value: 0)
    let feed: EventFeed

    init(_ configuration: EventFeed.Configuration, logger: Logger, until count: Int) {
        feed = EventFeed(configuration: configuration, after: 0, logger: logger)
        let feed = self.feed
        Thread { [self] in
            do {
                try feed.run { batch in
                    let total = lock.withLock {
                        seqs += batch.map(\.seq)
                        ids += batch.map(\.eventID)
                        return seqs.count
                    }
                    if total >= count { feed.stop() }
                }
            } catch {
                Issue.record("the feed failed: \(error)")
            }
            done.signal()
        }.start()
    }

    var delivered: [UInt64] { lock.withLock { seqs } }
    var eventIDs: [String] { lock.withLock { ids } }

    func wait(seconds: Double) -> Bool {
        let ok = done.wait(timeout: .now() + seconds) == .success
        if !ok { feed.stop(); done.wait() }
        return ok
    }
}
