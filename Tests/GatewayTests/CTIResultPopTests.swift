@testable import CTIAdapter
import EventFeed
import Foundation
import Logging
import Routing
import TestSupport
import Testing
import Wire
@testable import Gateway

/// The screen pop on the CTI adapter's result, over real ZeroMQ sockets: a ``ResultPublisher`` (the
/// adapter's side) and a ``CTIResultFeed`` feeding a ``PopHub`` (the gateway's side).
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct CTIResultPopTests {
    static let logger = Logger(label: "test")
    static let directory = AgentDirectory(agents: [
        .init(id: "spec", name: "S", targets: ["retention"], iterations: 1, salt: [0], hash: Array(repeating: 0, count: 32)),
    ])

    static func result(_ position: UInt64, seq: UInt64, _ outcome: TransferResult.Outcome) -> TransferResult {
        TransferResult(position: position, seq: seq, eventID: "e-\(seq)", callID: "c\(seq)", target: "retention", outcome: outcome)
    }

    /// A publisher on free loopback ports (the adapter's side), a results feed into a hub that pops on results
    /// (the gateway's side), and agent spec's stream from the start.
    final class Rig {
        let hub = PopHub(directory: CTIResultPopTests.directory, popsOnResults: true)
        let publisher: ResultPublisher
        let feed: CTIResultFeed
        let stream: Reader
        private let sub: PopHub.Subscription

        init() throws {
            publisher = try ResultPublisher(configuration: .init(resultsEndpoint: "tcp://127.0.0.1:*", replayEndpoint: "tcp://127.0.0.1:*"),
                                            logger: CTIResultPopTests.logger)
            feed = CTIResultFeed(configuration: .init(resultsEndpoint: publisher.boundEndpoints.results, replayEndpoint: publisher.boundEndpoints.replay),
                                 logger: CTIResultPopTests.logger)
            let (hub, feed) = (hub, feed)
            Thread { try? feed.run { hub.take($0) } }.start()
            let (s, sub) = hub.subscribe(agent: "spec", after: 0)
            (stream, self.sub) = (Reader(s), sub)
        }

        func close() {
            hub.unsubscribe(sub)
            feed.stop()
            publisher.stop()
        }
    }

    /// Reads a stream with timeouts. (Cancelling a task that iterates an AsyncStream would end the stream,
    /// so one task reads it for good and this waits on what it read.)
    final class Reader: @unchecked Sendable {
        private let lock = NSLock()
        private var got: [String] = []

        init(_ stream: AsyncStream<String>) {
            Task { for await m in stream { self.lock.withLock { self.got.append(m) } } }
        }

        func next(within seconds: Double = 30) async -> String? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let m = lock.withLock({ got.isEmpty ? nil : got.removeFirst() }) { return m }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return nil
        }
    }

    static func next(_ reader: Reader, within seconds: Double = 30) async -> String? { await reader.next(within: seconds) }

    static func seq(_ json: String) -> UInt64? {
        (try? JSONReader.parse(json))?["seq"].flatMap { if case .number(let n) = $0 { UInt64(n) } else { nil } }
    }

    @Test func aTransferPopsOnlyOnItsOkResult_notOnTheDecisionNorOnFailure() async throws {
        let rig = try Rig()
        defer { rig.close() }
        let (hub, publisher, stream) = (rig.hub, rig.publisher, rig.stream)
        hub.take([PopHubTests.transfer(seq: 1, callID: "c1", target: "retention"), PopHubTests.transfer(seq: 2, callID: "c2", target: "retention")])
        #expect(await Self.next(stream, within: 1) == nil, "a decision alone pops nothing")
        #expect(hub.heldCount == 2)
        publisher.publish(Self.result(1, seq: 1, .failed))
        publisher.publish(Self.result(2, seq: 2, .ok))
        let pop = try #require(await Self.next(stream))
        #expect(pop.contains("\"type\":\"pop\"") && pop.contains("\"call_id\":\"c2\"") && pop.contains("comment c2"))
        #expect(await Self.next(stream, within: 1) == nil, "the failed transfer (c1) never pops")
        #expect(hub.heldCount == 0)
    }

    @Test func aResultBeforeItsDecisionPopsWhenTheDecisionArrives() async throws {
        let rig = try Rig()
        defer { rig.close() }
        let (hub, publisher, stream) = (rig.hub, rig.publisher, rig.stream)
        publisher.publish(Self.result(1, seq: 5, .ok))
        #expect(await Self.next(stream, within: 1) == nil)
        hub.take([PopHubTests.transfer(seq: 5, callID: "c5", target: "retention")])
        let pop = try #require(await Self.next(stream))
        #expect(pop.contains("\"call_id\":\"c5\""))
    }

    /// Results published before the gateway's feed connects come by replay, later ones live: every ok pops
    /// once, in seq order; a panel reconnecting after the 10th pop gets exactly the rest, none twice.
    @Test func replayThenLive_andAReconnectingPanelMissesAndDoublesNothing() async throws {
        let hub = PopHub(directory: Self.directory, popsOnResults: true)
        var c = ResultPublisher.Configuration(resultsEndpoint: "tcp://127.0.0.1:*", replayEndpoint: "tcp://127.0.0.1:*")
        c.maximumReplay = 7  // several replay rounds
        let publisher = try ResultPublisher(configuration: c, logger: Self.logger)
        defer { publisher.stop() }
        hub.take((1...40).map { PopHubTests.transfer(seq: $0, callID: "c\($0)", target: "retention") })
        for s in UInt64(1)...20 { publisher.publish(Self.result(s, seq: s, .ok)) }
        let feed = CTIResultFeed(configuration: .init(resultsEndpoint: publisher.boundEndpoints.results, replayEndpoint: publisher.boundEndpoints.replay), logger: Self.logger)
        Thread { try? feed.run { hub.take($0) } }.start()
        defer { feed.stop() }
        let (s1, sub1) = hub.subscribe(agent: "spec", after: 0)
        let first = Reader(s1)
        var seen: [UInt64] = []
        while seen.count < 10, let m = await Self.next(first) { seen.append(Self.seq(m)!) }
        hub.unsubscribe(sub1)  // the panel goes away after its 10th pop
        for s in UInt64(21)...40 { publisher.publish(Self.result(s, seq: s, .ok)) }
        // Decisions of other calls move on meanwhile; the pop cursor is apart from theirs.
        hub.noteDecider(callID: "c41", agent: "spec")
        hub.take([PopHubTests.transfer(seq: 41, callID: "c41", target: "elsewhere")])
        let (s2, sub2) = hub.subscribe(agent: "spec", after: 41, popsAfter: seen.last!)
        let again = Reader(s2)
        defer { hub.unsubscribe(sub2) }
        while seen.count < 40, let m = await Self.next(again) { seen.append(Self.seq(m)!) }
        #expect(seen == Array(1...40))
        #expect(await Self.next(again, within: 1) == nil, "nothing doubled")
    }

    @Test func resultsNoLongerKeptAreSkippedAndTheFeedGoesOn() async throws {
        let hub = PopHub(directory: Self.directory, popsOnResults: true)
        var c = ResultPublisher.Configuration(resultsEndpoint: "tcp://127.0.0.1:*", replayEndpoint: "tcp://127.0.0.1:*")
        c.capacity = 4
        let publisher = try ResultPublisher(configuration: c, logger: Self.logger)
        defer { publisher.stop() }
        hub.take((1...12).map { PopHubTests.transfer(seq: $0, callID: "c\($0)", target: "retention") })
        for s in UInt64(1)...10 { publisher.publish(Self.result(s, seq: s, .ok)) }  // 1…5 pushed out (kept: the last 4 to 5)
        let feed = CTIResultFeed(configuration: .init(resultsEndpoint: publisher.boundEndpoints.results, replayEndpoint: publisher.boundEndpoints.replay), logger: Self.logger)
        Thread { try? feed.run { hub.take($0) } }.start()
        defer { feed.stop() }
        let (s, sub) = hub.subscribe(agent: "spec", after: 0)
        let stream = Reader(s)
        defer { hub.unsubscribe(sub) }
        let firstPop = try #require(await Self.next(stream))
        #expect(Self.seq(firstPop)! > 1, "the first results are gone")
        publisher.publish(Self.result(11, seq: 11, .ok))
        var last = Self.seq(firstPop)!
        while last < 11, let m = await Self.next(stream) { last = Self.seq(m)! }
        #expect(last == 11, "live results go on after the gap")
    }

    @Test func theReplayEndpointNamesABadField() throws {
        let publisher = try ResultPublisher(configuration: .init(resultsEndpoint: "tcp://127.0.0.1:*", replayEndpoint: "tcp://127.0.0.1:*"), logger: Self.logger)
        defer { publisher.stop() }
        let reply = String(decoding: publisher.answer(Array(#"{"from_position":0}"#.utf8)), as: UTF8.self)
        #expect(reply.contains("\"field\":\"from_position\""))
        let empty = String(decoding: publisher.answer(Array(#"{"from_position":1}"#.utf8)), as: UTF8.self)
        #expect(empty == #"{"results":[],"last":0}"#)
    }
}
