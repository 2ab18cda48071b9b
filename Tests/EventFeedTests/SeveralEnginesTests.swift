import EventFeed
import Foundation
import Logging
import Testing
import TestSupport

/// A subscriber of several engines that share one journal: real sockets on loopback, engines that publish
/// every `seq` or only their own, one killed mid-stream. Every `seq` is delivered exactly once, in order.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct SeveralEnginesTests {
    static func configuration(_ cluster: FakeCluster) -> EventFeed.Configuration {
        var c = EventFeed.Configuration()
        c.eventsEndpoints = cluster.eventsEndpoints
        c.replayEndpoints = cluster.replayEndpoints
        c.replayTimeout = .milliseconds(300)
        c.replayBatch = 50
        return c
    }

    static var quiet: Logger {
        var l = Logger(label: "feed")
        l.logLevel = .critical
        return l
    }

    /// Every engine publishes every seq (engines that tail the shared journal): three copies of each, one delivered.
    @Test func everyEnginePublishingEverySeq() throws {
        let cluster = try FakeCluster(engines: 3)
        defer { cluster.stop() }
        let run = FeedRun(Self.configuration(cluster), logger: Self.quiet, until: 600)
        for _ in 0..<600 { cluster.decide(publishedBy: [0, 1, 2]) }
        #expect(run.wait(seconds: 60), "delivered \(run.delivered.count)")
        #expect(run.delivered == Array(1...600))
        #expect(Set(run.eventIDs).count == 600)
    }

    /// Each engine publishes only the seqs it assigned, each on its own thread's schedule: they interleave out of order.
    @Test func eachEnginePublishingItsOwnSeqs() throws {
        let cluster = try FakeCluster(engines: 3)
        defer { cluster.stop() }
        let run = FeedRun(Self.configuration(cluster), logger: Self.quiet, until: 900)
        for n in 0..<900 {
            // Runs of ten per engine, as group commit assigns them.
            cluster.decide(publishedBy: [(n / 10) % 3])
            if n % 100 == 99 { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(run.wait(seconds: 60), "delivered \(run.delivered.count)")
        #expect(run.delivered == Array(1...900))
    }

    /// The first engine journals ten seqs and is killed before publishing them; its replay endpoint, first in the
    /// list, is gone too. The gap is replayed from the next engine; nothing is lost or doubled.
    @Test func anEngineKilledBetweenJournallingAndPublishing() throws {
        let cluster = try FakeCluster(engines: 3)
        defer { cluster.stop() }
        let run = FeedRun(Self.configuration(cluster), logger: Self.quiet, until: 600)
        for n in 0..<300 { cluster.decide(publishedBy: [n % 3]) }
        Thread.sleep(forTimeInterval: 0.2)
        for _ in 0..<10 { cluster.decide(publishedBy: [0]) }
        cluster.engines[0].kill()  // whatever it had not yet sent is never published
        for n in 0..<290 { cluster.decide(publishedBy: [1 + n % 2]) }
        #expect(run.wait(seconds: 60), "delivered \(run.delivered.count)")
        #expect(run.delivered == Array(1...600))
        #expect(Set(run.eventIDs).count == 600)
        #expect(cluster.engines[1].replaysAnswered + cluster.engines[2].replaysAnswered > 0)
    }

    /// A seq no engine ever publishes (its engine died after journalling it) while the others are idle: their
    /// heartbeats show it exists, and it is replayed.
    @Test func aSeqNobodyPublishesIsFoundThroughTheHeartbeats() throws {
        let cluster = try FakeCluster(engines: 2)
        defer { cluster.stop() }
        let run = FeedRun(Self.configuration(cluster), logger: Self.quiet, until: 3)
        cluster.decide(publishedBy: [0, 1])
        Thread.sleep(forTimeInterval: 0.5)  // caught up and following live
        cluster.decide(publishedBy: [])
        cluster.decide(publishedBy: [])
        #expect(run.wait(seconds: 30), "delivered \(run.delivered)")
        #expect(run.delivered == [1, 2, 3])
    }

    /// More events wait behind a missing seq than the buffer holds: the overflow is reported once, typed, and
    /// what did not fit is replayed.
    @Test func aFullReorderBufferIsReportedAndRecoveredByReplay() throws {
        let cluster = try FakeCluster(engines: 2)
        defer { cluster.stop() }
        var c = Self.configuration(cluster)
        c.reorderCapacity = 20
        c.reorderWait = .seconds(30)  // only the overflow may trigger the replay
        let log = LogCapture()
        let run = FeedRun(c, logger: log.logger, until: 201)
        cluster.decide(publishedBy: [0, 1])
        Thread.sleep(forTimeInterval: 0.5)
        cluster.decide(publishedBy: [])  // seq 2: journalled, never published
        for _ in 0..<199 { cluster.decide(publishedBy: [1]) }
        #expect(run.wait(seconds: 20), "delivered \(run.delivered.count)")
        #expect(run.delivered == Array(1...201))
        #expect(run.feed.reorderOverflows > 0)
        let overflows = log.lines(atLeast: .warning).filter { $0.contains(EventFeedError.reorderBufferFull.description) }
        #expect(overflows.count == 1, "\(log.lines(atLeast: .warning))")
    }

    /// At start the first replay endpoint is silent (a hung engine that accepts and never answers): the catch-up
    /// comes from the second.
    @Test func catchUpFromWhicheverEngineAnswers() throws {
        let cluster = try FakeCluster(engines: 2)
        defer { cluster.stop() }
        for _ in 0..<120 { cluster.decide(publishedBy: []) }
        cluster.engines[0].kill()
        let run = FeedRun(Self.configuration(cluster), logger: Self.quiet, until: 120)
        #expect(run.wait(seconds: 30), "delivered \(run.delivered.count)")
        #expect(run.delivered == Array(1...120))
    }
}
