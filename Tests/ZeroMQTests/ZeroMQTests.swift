import Foundation
import TestSupport
import Testing
@testable import ZeroMQ

/// Real libzmq sockets on loopback; ports are chosen by the system (`tcp://127.0.0.1:*`) so tests run in parallel.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ZeroMQTests {
    @Test func versionAndCurve() {
        #expect(Context.version.major == 4)
        #expect(Context.hasCurve)
    }

    @Test func requestReplyRoundTrip() throws {
        let context = try Context()
        let rep = try Socket(context, .rep)
        try rep.set(.linger, Int32(0))
        try rep.bind("tcp://127.0.0.1:*")
        let req = try Socket(context, .req)
        try req.set(.linger, Int32(0))
        try req.connect(rep.lastEndpoint)
        try req.send("ping")
        #expect(try rep.receiveMultipart() == [Array("ping".utf8)])
        try rep.send("pong")
        #expect(try req.receiveMultipart() == [Array("pong".utf8)])
        req.close()
        rep.close()
    }

    @Test func routerSeesTheEnvelopeAndRepliesThroughIt() throws {
        let context = try Context()
        let router = try Socket(context, .router)
        try router.set(.linger, Int32(0))
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try Socket(context, .dealer)
        try dealer.set(.linger, Int32(0))
        try dealer.connect(router.lastEndpoint)
        try dealer.send(multipart: [Array("a".utf8), Array("b".utf8)])
        let frames = try #require(try router.receiveMultipart())
        #expect(frames.count == 3)  // identity, a, b
        #expect(Array(frames[1...]) == [Array("a".utf8), Array("b".utf8)])
        try router.send(multipart: [frames[0], Array("reply".utf8)])
        #expect(try dealer.receiveMultipart() == [Array("reply".utf8)])
    }

    @Test func nonBlockingReceiveReturnsNilWhenEmpty() throws {
        let context = try Context()
        let pull = try Socket(context, .pull)
        try pull.set(.linger, Int32(0))
        try pull.bind("tcp://127.0.0.1:*")
        #expect(try pull.receiveMultipart(wait: false) == nil)
    }

    /// Two PULL sockets bound on loopback and a PUSH connected to the second: a poller's view of one
    /// readable socket beside one that never is.
    func twoPullsAndAPushToTheSecond(_ context: Context) throws -> (a: Socket, b: Socket, push: Socket) {
        let a = try Socket(context, .pull), b = try Socket(context, .pull)
        for s in [a, b] { try s.set(.linger, Int32(0)); try s.bind("tcp://127.0.0.1:*") }
        let push = try Socket(context, .push)
        try push.set(.linger, Int32(0))
        try push.connect(b.lastEndpoint)
        return (a, b, push)
    }

    @Test func pollerReportsReadableSockets() throws {
        let context = try Context()
        let (a, b, push) = try twoPullsAndAPushToTheSecond(context)
        try push.send("x")
        var poller = Poller([a, b])
        var ready = [false, false]
        for _ in 0..<50 where !ready[1] { ready = try poller.poll(timeoutMilliseconds: 100) }
        #expect(ready == [false, true])
    }

    /// The sub-millisecond wait: nothing there and no wait returns at once; a message already queued is seen
    /// without sleeping; a message arriving during a long wait ends it (the sockets' ZMQ_FD woke `ppoll`),
    /// for each of many messages in turn, as the simulator's loop uses it.
    @Test func pollerWaitsInNanosecondsAndWakesForEachMessage() throws {
        let context = try Context()
        let (a, b, push) = try twoPullsAndAPushToTheSecond(context)
        var poller = Poller([a, b])
        #expect(try poller.poll(timeoutNanoseconds: 0) == [false, false])
        #expect(try poller.poll(timeoutNanoseconds: 300_000) == [false, false])  // 300 µs, nothing sent
        try push.send("queued")
        var ready = [false, false]
        for _ in 0..<50 where !ready[1] { ready = try poller.poll(timeoutNanoseconds: 100_000_000) }
        #expect(ready == [false, true])
        #expect(try b.receiveMultipart(wait: false) == [Array("queued".utf8)])
        // Each message sent from another thread while the poller sleeps for up to a minute wakes it.
        let sender = try Socket(context, .push)
        try sender.set(.linger, Int32(0))
        try sender.connect(b.lastEndpoint)
        let box = UncheckedBox(sender)
        Thread {
            for i in 0..<20 {
                usleep(20_000)
                try? box.value.send("m\(i)")
            }
        }.start()
        let start = Date()
        var received: [String] = []
        while received.count < 20 {
            let ready = try poller.poll(timeoutNanoseconds: 60_000_000_000)
            #expect(ready[0] == false)
            while let frames = try b.receiveMultipart(wait: false) { received.append(String(decoding: frames[0], as: UTF8.self)) }
        }
        #expect(received == (0..<20).map { "m\($0)" })
        #expect(Date().timeIntervalSince(start) < 30)  // woken by the messages, not by the minute's end
    }

    @Test func publishSubscribeWithPrefix() throws {
        let context = try Context()
        let pub = try Socket(context, .pub)
        try pub.set(.linger, Int32(0))
        try pub.bind("tcp://127.0.0.1:*")
        let sub = try Socket(context, .sub)
        try sub.set(.linger, Int32(0))
        try sub.subscribe("decision.")
        try sub.set(.receiveTimeout, Int32(2000))
        try sub.connect(pub.lastEndpoint)
        // A subscription takes a moment to reach the publisher: send until one arrives.
        var received: [[UInt8]]?
        for _ in 0..<100 where received == nil {
            try pub.send(multipart: [Array("other".utf8), Array("x".utf8)])
            try pub.send(multipart: [Array("decision.case.x".utf8), Array("{}".utf8)])
            received = try sub.receiveMultipart(wait: false)
            if received == nil { Thread.sleep(forTimeInterval: 0.02) }
        }
        #expect(received == [Array("decision.case.x".utf8), Array("{}".utf8)])
    }

    /// XPUB with NODROP refuses a send (EAGAIN) when a subscriber's queue is full, instead of dropping silently.
    @Test func xpubNoDropSaysWhenASubscriberIsFull() throws {
        let context = try Context()
        let xpub = try Socket(context, .xpub)
        try xpub.set(.linger, Int32(0))
        try xpub.set(.xpubNoDrop, Int32(1))
        try xpub.set(.sendHighWaterMark, Int32(10))
        try xpub.bind("tcp://127.0.0.1:*")
        let sub = try Socket(context, .sub)
        try sub.set(.linger, Int32(0))
        try sub.set(.receiveHighWaterMark, Int32(10))
        try sub.subscribe("")
        try sub.connect(xpub.lastEndpoint)
        // Wait for the subscription to arrive at the XPUB.
        var subscribed = false
        for _ in 0..<100 where !subscribed {
            subscribed = try xpub.receiveMultipart(wait: false) != nil
            if !subscribed { Thread.sleep(forTimeInterval: 0.02) }
        }
        #expect(subscribed)
        var refused = 0
        let payload = [UInt8](repeating: 7, count: 1000)
        for _ in 0..<100_000 where refused == 0 {
            if !(try xpub.send(payload, wait: false)) { refused += 1 }
        }
        #expect(refused == 1)
    }

    @Test func maximumMessageSizeDisconnectsTheSender() throws {
        let context = try Context()
        let router = try Socket(context, .router)
        try router.set(.linger, Int32(0))
        try router.set(.maximumMessageSize, Int64(1024))
        try router.bind("tcp://127.0.0.1:*")
        let big = try Socket(context, .dealer)
        try big.set(.linger, Int32(0))
        try big.connect(router.lastEndpoint)
        try big.send([UInt8](repeating: 1, count: 4096))
        let small = try Socket(context, .dealer)
        try small.set(.linger, Int32(0))
        try small.connect(router.lastEndpoint)
        try small.send("ok")
        try router.set(.receiveTimeout, Int32(2000))
        let frames = try router.receiveMultipart()
        #expect(frames?.last == Array("ok".utf8))  // the oversized message never arrives
        try router.set(.receiveTimeout, Int32(200))
        #expect(try router.receiveMultipart() == nil)  // the receive timeout passes with nothing
    }

    @Test func errorsNameTheOperationAndErrno() throws {
        let context = try Context()
        let s = try Socket(context, .rep)
        try s.set(.linger, Int32(0))
        #expect {
            try s.bind("tcp://256.0.0.1:1")
        } throws: { error in
            let e = error as! ZMQError
            return e.description.hasPrefix("bind tcp://256.0.0.1:1: ") && e.code != 0
        }
        #expect(throws: ZMQError.self) { try s.connect("nonsense") }
    }

    @Test func curveKeys() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.count == 40 && pair.secretKey.count == 40)
        #expect(try CurveKeyPair.publicKey(forSecret: pair.secretKey) == pair.publicKey)
        let raw = try #require(CurveKeyPair.decode(pair.publicKey))
        #expect(CurveKeyPair.encode(raw) == pair.publicKey)
        #expect(CurveKeyPair.decode("too short") == nil)
    }
}

/// Hands a socket to the one other thread that uses it from then on.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
