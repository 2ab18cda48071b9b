import Foundation
import TestSupport
import Testing
@testable import Engine
import Wire
import ZeroMQ

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EnginePipelineTests {
    /// Room for 8 waiting queries and 2,000 sent at once from one DEALER: every query is answered, in the
    /// order sent; those that found the pipeline full are refused `unavailable`, nothing refused is
    /// journalled, and the refusals are counted in health as `overloaded`.
    @Test func aFullPipelineRefusesInOrderAndCountsTheRefusals() throws {
        let e = try RunningEngine { $0.queryQueueCapacity = 8 }
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        try dealer.set(.sendHighWaterMark, Int32(0))
        let total = 2000
        for n in 0..<total { try dealer.send(multipart: [[], Array(query(id: n).utf8)]) }
        var ids: [Int] = []
        var decided = 0, refused = 0
        for _ in 0..<total {
            let reply = try JSONReader.parse(try #require(try dealer.receiveMultipart(), "a reply never came").last!)
            ids.append(Int(try #require(reply["id"]?.number)))
            if reply["decision"] != nil { decided += 1 }
            if reply["error"]?["code"] == .string("unavailable") { refused += 1 }
        }
        #expect(ids == Array(0..<total))
        #expect(decided > 0 && refused > 0, "decided \(decided), refused \(refused)")
        #expect(decided + refused == total)
        let health = try e.control(#"{"cmd":"health"}"#)
        #expect(health["counters"]?["overloaded"] == .number(Double(refused)))
        #expect(health["counters"]?["decisions"] == .number(Double(decided)))
        #expect(health["journal"]?["seq"] == .number(Double(decided)))
        #expect(health["counters"]?["queries_in_flight"] == .number(0))
    }

    /// Malformed messages are answered by the core thread too, so they keep their place among a client's replies.
    @Test func malformedAndGoodQueriesAreAnsweredInTheOrderSent() throws {
        let e = try RunningEngine()
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        for n in 0..<300 {
            if n % 3 == 1 {
                try dealer.send(multipart: [[], Array(query(id: n).utf8), Array("extra".utf8)])
            } else {
                try dealer.send(multipart: [[], Array(query(id: n).utf8)])
            }
        }
        for n in 0..<300 {
            let reply = try JSONReader.parse(try #require(try dealer.receiveMultipart(), "a reply never came").last!)
            if n % 3 == 1 {
                #expect(reply["error"]?["code"] == .string("bad_request"), "reply \(n)")
            } else {
                #expect(reply["id"] == .number(Double(n)), "reply \(n)")
            }
        }
    }

    /// A lone query finding the pipeline empty is decided on the socket thread; a burst goes to the core
    /// thread. Mixed, every reply still comes in the order sent, and `seq` follows that order without a gap.
    @Test func queriesDecidedInPlaceAndByTheCoreThreadKeepOneOrder() throws {
        let e = try RunningEngine()
        let req = try e.requestSocket()
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        try dealer.set(.sendHighWaterMark, Int32(0))
        try dealer.set(.receiveTimeout, Int32(10_000))  // a lost reply fails the test instead of hanging it
        var seqs: [Double] = []
        var id = 0
        for _ in 0..<3 {
            let before = e.engine.meters.decidedInPlace.count
            for _ in 0..<10 {
                let reply = try e.ask(req, query(id: id))
                #expect(reply["id"] == .number(Double(id)))
                seqs.append(try #require(reply["seq"]?.number))
                id += 1
            }
            #expect(e.engine.meters.decidedInPlace.count - before == 10, "each lone query is decided in place")
            let burst = 1000
            for n in id..<(id + burst) { try dealer.send(multipart: [[], Array(query(id: n).utf8)]) }
            for n in id..<(id + burst) {
                let reply = try JSONReader.parse(try #require(try dealer.receiveMultipart(), "a reply never came").last!)
                #expect(reply["id"] == .number(Double(n)))
                seqs.append(try #require(reply["seq"]?.number))
            }
            id += burst
        }
        #expect(seqs == (1...id).map(Double.init))
        let inPlace = e.engine.meters.decidedInPlace.count
        #expect(inPlace >= 30 && inPlace < id, "\(inPlace) of \(id) decided in place: a burst goes to the core thread")
        #expect(e.engine.snapshot.lastSeq == UInt64(id))
    }

    /// Stopping while queries are queued answers every one that has arrived, each journalled before its reply.
    @Test func stoppingAnswersWhatHasArrived() throws {
        let e = try RunningEngine()
        let dealer = try e.socket(.dealer, e.engine.snapshot.queryEndpoint)
        try dealer.set(.sendHighWaterMark, Int32(0))
        let total = 5000
        for n in 0..<total { try dealer.send(multipart: [[], Array(query(id: n).utf8)]) }
        usleep(200_000)  // all arrived (loopback), most still waiting to be decided
        e.engine.stop()  // returns at once; the engine drains while the replies are read
        var answered = 0
        try dealer.set(.receiveTimeout, Int32(5000))
        while answered < total, let frames = try dealer.receiveMultipart() {
            #expect(try JSONReader.parse(frames.last!)["decision"] != nil)
            answered += 1
        }
        e.engine.wait()
        #expect(answered == total)
        #expect(e.engine.snapshot.lastSeq == UInt64(total))
    }

    @Test func theBoundsOfInFlight() {
        var inFlight = Pipeline.InFlight(queryCapacity: 2)
        let first = inFlight.admitQuery(), second = inFlight.admitQuery()
        #expect(first && second)
        #expect(!inFlight.hasRoomForQuery)
        let third = inFlight.admitQuery()
        #expect(!third, "a third query is refused")
        #expect(!inFlight.isFull)
        inFlight.admitOther()
        #expect(inFlight.isFull, "refusals and control commands stop reading at twice the capacity")
        inFlight.answered(Pipeline.Outbound(lastSeq: 0, messages: 4, queries: 2))
        #expect(inFlight.isEmpty && inFlight.hasRoomForQuery)
    }
}
