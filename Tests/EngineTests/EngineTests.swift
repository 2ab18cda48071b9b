import Foundation
import TestSupport
import Testing
@testable import Engine
import Routing
import Wire
import ZeroMQ

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EngineQueryTests {
    @Test func requestReplyRoundTrip() throws {
        let e = try RunningEngine()
        let req = try e.requestSocket()
        let reply = try e.ask(req, query(id: 1))
        #expect(reply["id"] == .number(1))
        #expect(reply["decision"]?["action"] == .string("transfer"))
        #expect(reply["decision"]?["valid_until"] == .string("2026-11-23T23:50:00+03:00"))
        let closed = try e.ask(req, query(id: 2, at: "2026-11-23T00:30:00Z"))
        #expect(closed["decision"]?["case"]?["id"] == .string("bo-retention-transfer"))
    }

    @Test func dealerClientsPipelineWithoutADelimiter() throws {
        let e = try RunningEngine()
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        for n in 0..<200 { try dealer.send(query(id: n)) }
        var ids: Set<Int> = []
        for _ in 0..<200 {
            let frames = try #require(try dealer.receiveMultipart())
            #expect(frames.count == 1)
            let reply = try JSONReader.parse(frames[0])
            ids.insert(Int(try #require(reply["id"]?.number, "reply without a numeric id: \(reply)")))
            #expect(reply["decision"] != nil)
        }
        #expect(ids == Set(0..<200))
    }

    @Test func everyErrorCodeIsAnsweredWithTheId() throws {
        let e = try RunningEngine()
        let req = try e.requestSocket()
        let cases: [(String, String, Value)] = [
            ("{broken", "bad_json", .null),
            (#"{"id":"a","table":"retention-ru","call":{"call_id":"c","topic":"termination","facts":{"insists":true}},"extra":1}"#, "unknown_field", .string("a")),
            (#"{"id":"b","table":"nope","call":{"call_id":"c","topic":"termination"}}"#, "unknown_table", .string("b")),
            (#"{"id":"c","table":"retention-ru","at":"tomorrow","call":{"call_id":"c","topic":"termination"}}"#, "bad_time", .string("c")),
            (#"{"id":"d","table":"retention-ru","call":{"call_id":"c","topic":"leave"}}"#, "unknown_topic", .string("d")),
            (#"{"id":"e","table":"retention-ru","call":{"call_id":"c","topic":"termination"}}"#, "missing_fact", .string("e")),
            (#"{"id":"f","table":"retention-ru","call":{"call_id":"c","topic":"termination","facts":{"insists":"yes"}}}"#, "bad_type", .string("f")),
            (#"{"id":"g","table":"retention-ru"}"#, "missing_field", .string("g")),
            (#"[1,2]"#, "bad_type", .null),
        ]
        for (request, code, id) in cases {
            let reply = try e.ask(req, request)
            #expect(reply["error"]?["code"] == .string(code), "\(request) → \(reply)")
            #expect(reply["id"] == id)
        }
    }

    @Test func extraFramesGetAnErrorReply() throws {
        let e = try RunningEngine()
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        try dealer.send(multipart: [Array(query(id: 1).utf8), Array("more".utf8)])
        let frames = try #require(try dealer.receiveMultipart())
        #expect(try JSONReader.parse(frames.last!)["error"]?["code"] == .string("bad_request"))
    }

    /// The engine never stops serving because of input: 10,000 malformed requests, each answered, then a good one.
    @Test func tenThousandMalformedRequests() throws {
        let e = try RunningEngine()
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        var rng = SystemRandomNumberGenerator()
        let good = Array(query(id: 1).utf8)
        var sent = 0
        for n in 0..<10_000 {
            var bytes = good
            switch n % 4 {
            case 0: bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1: bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
            case 2: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                bytes.append(0x78)  // trailing text keeps it malformed even when the changed byte was harmless
            default: bytes = Array(#"{"id":\#(n),"table":"retention-ru","call":{"call_id":"x","topic":"termination","facts":{"insists":[\#(n)]}}}"#.utf8)
            }
            try dealer.send(bytes)
            sent += 1
        }
        var errors = 0
        for _ in 0..<sent {
            let frames = try #require(try dealer.receiveMultipart())
            let reply = try JSONReader.parse(frames.last!)
            if reply["error"] != nil { errors += 1 }
        }
        #expect(errors == sent)
        let req = try e.requestSocket()
        #expect(try e.ask(req, query(id: 42))["decision"]?["action"] == .string("transfer"))
    }

    @Test func oversizedMessagesAreDroppedAndServingGoesOn() throws {
        let e = try RunningEngine()
        let big = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        try big.send([UInt8](repeating: 0x20, count: 200_000))
        let req = try e.requestSocket()
        #expect(try e.ask(req, query(id: 1))["decision"] != nil)
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EngineEventTests {
    @Test func tenThousandDecisionsArriveWithContiguousSeq() throws {
        let e = try RunningEngine()
        let sub = try e.subscriber("decision.")
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        let total = 10_000
        // Keep a bounded number in flight so the test measures delivery, not queueing.
        var sent = 0, answered = 0
        var expected: Int64 = 1
        var topics: Set<String> = []
        // A subscriber that keeps reading gets every event live, in order (one that falls a whole
        // high-water mark behind misses some and replays; see EngineSlowSubscriberTests).
        func receive(wait: Bool) throws -> Bool {
            guard let frames = try sub.receiveMultipart(wait: wait) else { return false }
            #expect(frames.count == 2)
            let event = try JSONReader.parse(frames[1])
            #expect(event["seq"] == .number(Double(expected)))
            topics.insert(String(decoding: frames[0], as: UTF8.self))
            expected += 1
            return true
        }
        while answered < total {
            while sent < total && sent - answered < 500 {
                try dealer.send(query(id: sent, topic: sent % 3 == 0 ? "sim_block" : "termination", facts: sent % 3 == 0 ? "{}" : #"{"insists":true}"#))
                sent += 1
            }
            _ = try #require(try dealer.receiveMultipart())
            answered += 1
            while try receive(wait: false) {}
        }
        while expected <= Int64(total) { _ = try #require(try receive(wait: true)) }
        #expect(topics == ["decision.transfer.retention", "decision.first_line.sim_block.first_line"])
    }

    @Test func eventCarriesTheContractFields() throws {
        let e = try RunningEngine()
        let sub = try e.subscriber("decision.")
        let req = try e.requestSocket()
        let reply = try e.ask(req, query(id: 9))
        let frames = try #require(try sub.receiveMultipart())
        #expect(String(decoding: frames[0], as: UTF8.self) == "decision.transfer.retention")
        let event = try JSONReader.parse(frames[1])
        guard case .object(let members) = event else { Issue.record("event is not an object"); return }
        #expect(members.map(\.key) == ["seq", "event_id", "at", "call_id", "table", "table_version", "call", "decision"])
        #expect(event["call"]?["topic"] == .string("termination"))
        #expect(event["call_id"] == .string("c-9"))
        #expect(event["at"] == .string("2026-11-23T12:00:00+03:00"))
        #expect(event["decision"] == reply["decision"])
        #expect(event["event_id"]?.text.hasSuffix("-1") == true)
    }

    @Test func errorsAreAnsweredNotPublished() throws {
        let e = try RunningEngine()
        let sub = try e.subscriber("decision.")
        let req = try e.requestSocket()
        _ = try e.ask(req, "{broken")
        _ = try e.ask(req, query(id: 1))
        let frames = try #require(try sub.receiveMultipart())
        #expect(try JSONReader.parse(frames[1])["seq"] == .number(1))
    }

    @Test func heartbeatCarriesTheLatestSeq() throws {
        let e = try RunningEngine()
        let req = try e.requestSocket()
        for n in 0..<3 { _ = try e.ask(req, query(id: n)) }
        let sub = try e.socket(.sub, e.engine.snapshot.eventsEndpoint)
        try sub.subscribe("heartbeat")
        let frames = try #require(try sub.receiveMultipart())
        #expect(try JSONReader.parse(frames[1])["seq"] == .number(3))
    }

    @Test func replayReturnsExactlyTheMissedRange() throws {
        let e = try RunningEngine()
        let req = try e.requestSocket()
        for n in 0..<50 { _ = try e.ask(req, query(id: n)) }
        let replay = try e.socket(.req, e.engine.snapshot.replayEndpoint)
        let part = try e.ask(replay, #"{"from_seq": 11, "max": 20}"#)
        guard case .array(let events)? = part["events"] else { Issue.record("no events"); return }
        #expect(events.map { $0["seq"] } == (11...30).map { .number(Double($0)) })
        #expect(part["next_seq"] == .number(31))
        #expect(events.first?["call_id"] == .string("c-10"))
        let rest = try e.ask(replay, #"{"from_seq": 31}"#)
        #expect(rest["events"]?.elements?.count == 20)
        #expect(rest["next_seq"] == .number(51))
        let beyond = try e.ask(replay, #"{"from_seq": 51}"#)
        #expect(beyond["events"] == .array([]))
        #expect(beyond["next_seq"] == .number(51))
        #expect(try e.ask(replay, #"{"from_seq": 0}"#)["error"]?["field"] == .string("from_seq"))
        #expect(try e.ask(replay, #"{"max": 5}"#)["error"]?["code"] == .string("missing_field"))
        #expect(try e.ask(replay, #"{"from_seq": 1, "max": 1000000}"#)["error"]?["field"] == .string("max"))
    }

    @Test func restartContinuesSeq() throws {
        let tables = TemporaryFolder.tables()
        let data = TemporaryFolder("data")
        var first: RunningEngine? = try RunningEngine(tables: tables, data: data)
        let req = try first!.requestSocket()
        for n in 0..<25 { _ = try first!.ask(req, query(id: n)) }
        req.close()
        first!.stop()
        first = nil
        let second = try RunningEngine(tables: tables, data: data)
        let sub = try second.subscriber("decision.")
        _ = try second.ask(try second.requestSocket(), query(id: 99))
        let frames = try #require(try sub.receiveMultipart())
        let event = try JSONReader.parse(frames[1])
        #expect(event["seq"] == .number(26))
        let replay = try second.socket(.req, second.engine.snapshot.replayEndpoint)
        let all = try second.ask(replay, #"{"from_seq": 1, "max": 100}"#)
        #expect(all["events"]?.elements?.count == 26)
        // The same journal names every event: ids stay unique across restarts.
        #expect(event["event_id"]?.text.hasSuffix("-26") == true)
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EngineControlTests {
    @Test func ctiIncidentFlipsViaAndSurvivesARestart() throws {
        let tables = TemporaryFolder.tables()
        let data = TemporaryFolder("data")
        var e: RunningEngine? = try RunningEngine(tables: tables, data: data)
        let req = try e!.requestSocket()
        #expect(try e!.ask(req, query(id: 1))["decision"]?["target"]?["via"] == .string("cti"))
        #expect(try e!.control(#"{"cmd":"cti_incident","on":true}"#)["ok"] == .bool(true))
        #expect(try e!.ask(req, query(id: 2))["decision"]?["target"]?["via"] == .string("number"))
        req.close()
        e!.stop()
        e = nil
        let again = try RunningEngine(tables: tables, data: data)
        let req2 = try again.requestSocket()
        #expect(try again.ask(req2, query(id: 3))["decision"]?["target"]?["via"] == .string("number"))
        #expect(try again.control(#"{"cmd":"cti_incident","on":false}"#)["cti_incident"] == .bool(false))
        #expect(try again.ask(req2, query(id: 4))["decision"]?["target"]?["via"] == .string("cti"))
        #expect(try again.control(#"{"cmd":"cti_incident","on":"yes"}"#)["error"]?["field"] == .string("on"))
    }

    @Test func reloadOfABadTableKeepsTheOldOne() throws {
        let e = try RunningEngine { $0.core.minimumReloadInterval = .zero }
        let req = try e.requestSocket()
        let path = e.tables.url.appendingPathComponent("retention-ru.yaml")
        let original = try String(contentsOf: path, encoding: .utf8)
        try original.replacingOccurrences(of: "transfer: equipment-experts-repeat", with: "transfer: nowhere").write(to: path, atomically: true, encoding: .utf8)
        let rejected = try e.control(#"{"cmd":"reload"}"#)
        #expect(rejected["error"]?["code"] == .string("invalid_table"))
        #expect(rejected["errors"]?.elements?.first?.text.contains("unknown target 'nowhere'") == true)
        #expect(try e.ask(req, query(id: 1))["decision"]?["action"] == .string("transfer"))
        // A valid change swaps in: the 23:50 closing moves to 22:00.
        try original.replacingOccurrences(of: #"hours: "04:00-23:50""#, with: #"hours: "04:00-22:00""#).write(to: path, atomically: true, encoding: .utf8)
        let accepted = try e.control(#"{"cmd":"reload"}"#)
        #expect(accepted["ok"] == .bool(true))
        let late = try e.ask(req, query(id: 2, at: "2026-11-23T22:30:00+03:00"))
        #expect(late["decision"]?["action"] == .string("case"))
        let health = try e.control(#"{"cmd":"health"}"#)
        #expect(health["counters"]?["reloads"] == .number(1))
        #expect(health["counters"]?["reloads_rejected"] == .number(1))
    }

    @Test func reloadLosesNoRequest() throws {
        let e = try RunningEngine()
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        let control = try Socket(e.context, .dealer)
        try control.set(.linger, Int32(0))
        try control.set(.receiveTimeout, Int32(10_000))
        try control.makeOperatorClient(try e.operatorCredentials)
        try control.connect(e.engine.snapshot.controlEndpoint)
        for n in 0..<2000 {
            try dealer.send(query(id: n))
            if n % 400 == 0 { try control.send(multipart: [[], Array(#"{"cmd":"reload"}"#.utf8)]) }
        }
        var decisions = 0
        for _ in 0..<2000 where try JSONReader.parse(try #require(try dealer.receiveMultipart()).last!)["decision"] != nil { decisions += 1 }
        #expect(decisions == 2000)
        // Pipelined reloads are rate-limited (one at a time, one a second), never queued behind each other.
        var codes: [String] = []
        for _ in 0..<5 {
            let reply = try JSONReader.parse(try #require(try control.receiveMultipart()).last!)
            codes.append(reply["ok"] == .bool(true) ? "ok" : reply["error"]?["code"]?.text ?? "?")
        }
        #expect(codes.contains("ok"), "\(codes)")
        #expect(codes.allSatisfy { $0 == "ok" || $0 == "rate_limited" }, "\(codes)")
    }

    @Test func healthAndUnknownCommands() throws {
        let e = try RunningEngine()
        _ = try e.ask(try e.requestSocket(), query(id: 1))
        let health = try e.control(#"{"cmd":"health"}"#)
        #expect(health["ok"] == .bool(true))
        #expect(health["journal"]?["seq"] == .number(1))
        #expect(health["tables"]?["retention-ru"]?["topics"] == .number(19))
        #expect(health["counters"]?["decisions"] == .number(1))
        #expect(try e.control(#"{"cmd":"explode"}"#)["error"]?["code"] == .string("unknown_command"))
        #expect(try e.control(#"{}"#)["error"]?["code"] == .string("missing_field"))
        #expect(try e.control(#"nope"#)["error"]?["code"] == .string("bad_json"))
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EngineHostileInputTests {
    /// 2,000 queries in flight from one DEALER that reads nothing until it has sent them all: every one
    /// is answered (libzmq's default high-water mark of 1,000 used to drop some silently).
    @Test func twoThousandInFlightFromOneClientAreAllAnswered() throws {
        let e = try RunningEngine()
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        try dealer.set(.sendHighWaterMark, Int32(0))
        let total = 2000
        for n in 0..<total { try dealer.send(multipart: [[], Array(query(id: n).utf8)]) }
        var ids = Set<Int>()
        for _ in 0..<total {
            let reply = try JSONReader.parse(try #require(try dealer.receiveMultipart(), "a reply never came").last!)
            #expect(reply["decision"] != nil || reply["error"] != nil)
            ids.insert(Int(try #require(reply["id"]?.number)))
        }
        #expect(ids.count == total)
        #expect(try e.control(#"{"cmd":"health"}"#)["counters"]?["replies_not_sent"] == .number(0))
    }

    /// A table file rewritten line by line while reloads keep coming: no reload ever serves a truncated
    /// table, and every query keeps getting the full table's answer.
    @Test func halfWrittenTablesAreNeverServed() throws {
        let e = try RunningEngine { $0.core.minimumReloadInterval = .zero }
        let req = try e.requestSocket()
        let path = e.tables.url.appendingPathComponent("retention-ru.yaml")
        let original = try String(contentsOf: path, encoding: .utf8)
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false)
        var refusedForRemovals = 0
        for cut in stride(from: lines.count / 3, to: lines.count, by: max(1, lines.count / 40)) {
            // What an editor writing in place leaves on disk for a moment.
            try lines[..<cut].joined(separator: "\n").write(to: path, atomically: false, encoding: .utf8)
            let reply = try e.control(#"{"cmd":"reload"}"#)
            #expect(reply["ok"] == nil, "a truncated table (\(cut) of \(lines.count) lines) was served")
            if reply["error"]?["code"] == .string("reload_would_remove") { refusedForRemovals += 1 }
            #expect(try e.ask(req, query(id: cut))["decision"]?["target"]?["id"] == .string("retention"))
            #expect(try e.ask(req, query(id: cut, topic: "sim_block", facts: "{}"))["decision"] != nil)
        }
        #expect(refusedForRemovals > 0, "every cut failed to compile: the guard was never exercised")
        try original.write(to: path, atomically: true, encoding: .utf8)
        #expect(try e.control(#"{"cmd":"reload"}"#)["ok"] == .bool(true))
        #expect(try e.control(#"{"cmd":"health"}"#)["tables"]?["retention-ru"]?["topics"] == .number(19))
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EngineSlowSubscriberTests {
    /// One subscriber reads at a sixth of the event rate; the others (here a fast one, standing for the
    /// CTI adapter) get every event within a second of its decision and heartbeats never stop.
    @Test func aSlowSubscriberDelaysNobodyElse() throws {
        // A small per-subscriber queue, so the slow one overflows within the test whatever the kernel buffers.
        let e = try RunningEngine { $0.eventsHighWaterMark = 1000 }
        let endpoint = e.engine.snapshot.eventsEndpoint
        let rate = 3000.0, seconds = 8.0
        let total = Int(rate * seconds)
        let stop = DispatchSemaphore(value: 0)
        let slowDone = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var received: [UInt64: ContinuousClock.Instant] = [:]
            var heartbeatGaps: [Duration] = []
            var slowRead = 0
            var slowGapSeen = false
            var answered = 0
        }
        let box = Box()
        let ready = DispatchSemaphore(value: 0)
        let context = e.context
        // The slow one: subscribed to everything, reads one message for every six decisions answered,
        // whatever rate the machine manages.
        Thread {
            let s = try! Socket(context, .sub)
            try! s.set(.linger, Int32(0))
            try! s.set(.receiveTimeout, Int32(100))
            try! s.subscribe("")
            try! s.connect(endpoint)
            ready.signal()
            var last: UInt64 = 0
            var stopping = false
            while true {
                stopping = stopping || stop.wait(timeout: .now()) == .success
                guard let frames = try? s.receiveMultipart() else {
                    if stopping { break }  // drained after the load: what it could not take is gone
                    continue
                }
                if frames.count == 2, frames[0] != Array("heartbeat".utf8), let seq = (try? JSONReader.parse(frames[1]))?["seq"]?.number.map(UInt64.init) {
                    if last != 0 && seq != last + 1 { box.lock.lock(); box.slowGapSeen = true; box.lock.unlock() }
                    last = seq
                    box.lock.lock(); box.slowRead += 1; box.lock.unlock()
                }
                while !stopping && box.lock.withLock({ box.slowRead * 6 >= box.answered }) {
                    usleep(500)
                    stopping = stop.wait(timeout: .now()) == .success
                }
            }
            s.close()
            slowDone.signal()
        }.start()
        ready.wait()
        let fastDone = DispatchSemaphore(value: 0)
        Thread {
            let fast = try! Socket(context, .sub)
            try! fast.set(.linger, Int32(0))
            try! fast.set(.receiveTimeout, Int32(10_000))
            try! fast.subscribe("")
            try! fast.connect(endpoint)
            while let frames = try? fast.receiveMultipart(), frames.first != Array("heartbeat".utf8) {}
            ready.signal()
            var lastHeartbeat: ContinuousClock.Instant?
            var seen = 0
            while seen < total, let frames = try? fast.receiveMultipart() {
                let now = ContinuousClock.now
                if frames[0] == Array("heartbeat".utf8) {
                    box.lock.lock()
                    if let lastHeartbeat { box.heartbeatGaps.append(now - lastHeartbeat) }
                    box.lock.unlock()
                    lastHeartbeat = now
                    continue
                }
                guard let seq = (try? JSONReader.parse(frames[1]))?["seq"]?.number.map(UInt64.init) else { continue }
                box.lock.lock(); box.received[seq] = now; box.lock.unlock()
                seen += 1
            }
            fast.close()
            fastDone.signal()
        }.start()
        ready.wait()
        // The load, paced, recording when each decision was answered.
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        var answeredAt: [UInt64: ContinuousClock.Instant] = [:]
        let start = ContinuousClock.now
        var sent = 0
        while answeredAt.count < total {
            while sent < total && Double(sent) < rate * (ContinuousClock.now - start).seconds && sent - answeredAt.count < 200 {
                try dealer.send(multipart: [[], Array(query(id: sent).utf8)])
                sent += 1
            }
            guard let reply = try dealer.receiveMultipart(wait: false) else { usleep(200); continue }
            let seq = try #require(try JSONReader.parse(reply.last!)["seq"]?.number)
            answeredAt[UInt64(seq)] = ContinuousClock.now
            box.lock.withLock { box.answered += 1 }
        }
        #expect(fastDone.wait(timeout: .now() + 10) == .success, "the fast subscriber did not get every event")
        stop.signal()
        slowDone.wait()
        box.lock.lock()
        defer { box.lock.unlock() }
        #expect(box.received.count == total)
        // Liveness, not speed: with XPUB_NODROP the others stalled for tens of seconds. The bound leaves room
        // for a test machine shared with builds (the issue's 1 s was measured on a quiet one).
        let late = answeredAt.filter { seq, at in (box.received[seq].map { $0 - at } ?? .seconds(99)) > .seconds(5) }.count
        #expect(late == 0, "\(late) events reached the fast subscriber more than 5 s after their decision (or never)")
        #expect(box.heartbeatGaps.max() ?? .zero < .seconds(5), "heartbeats stopped for \(box.heartbeatGaps.max() ?? .zero)")
        #expect(box.slowRead < total, "the slow subscriber was not slow")
        // Whether the slow one also overflowed (and must replay) depends on the kernel's socket buffers,
        // which hold thousands of events on some machines: reported, not asserted.
        if !box.slowGapSeen { print("note: the slow subscriber's backlog fitted in the socket buffers this time") }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
