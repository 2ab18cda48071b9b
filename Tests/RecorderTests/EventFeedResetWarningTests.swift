import Foundation
import Logging
import Testing
import EventFeed
import TestSupport

/// The "was it reset?" warning (issue 13, finding 9): never during a normal catch-up, once when the journal really
/// ends before what the subscriber has handled.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct EventFeedResetWarningTests {
    /// Heartbeats published while the feed replays are still queued on the live stream when the replay has got past
    /// them. They are old, not a sign of a reset.
    @Test func catchingUpWhileTheEngineDecidesWarnsOfNothing() throws {
        let h = try EventFeedTests.Harness()
        try h.decide(100)
        let log = LogCapture()
        let feed = EventFeed(configuration: h.feedConfiguration, after: 0, logger: log.logger)
        let decided = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let seen = EventFeedTests.Seen()
        Thread {
            try? feed.run { batch in
                // The first batch waits until 1,500 more decisions (and about ten heartbeats, each below the journal's
                // end by the time the replay reaches it) are on the stream.
                if seen.all.isEmpty { decided.wait() }
                seen.add(batch.map(\.seq))
                if seen.all.count >= 1600 { feed.stop() }
            }
            done.signal()
        }.start()
        try h.decide(1500, from: 100)
        Thread.sleep(forTimeInterval: 0.3)  // heartbeats at the journal's end, 100 ms apart, also queued
        decided.signal()
        #expect(done.wait(timeout: .now() + 60) == .success, "the feed did not finish; got \(seen.all.count) events")
        feed.stop()
        #expect(seen.all == Array(1...1600))
        #expect(log.lines(atLeast: .warning).isEmpty, "\(log.lines(atLeast: .warning))")
    }

    /// A subscriber that has handled more than the journal holds is told so, once, however many heartbeats say it.
    @Test func aJournalThatEndsEarlierIsReportedOnce() throws {
        let h = try EventFeedTests.Harness()
        try h.decide(10)
        let log = LogCapture()
        let feed = EventFeed(configuration: h.feedConfiguration, after: 500, logger: log.logger)
        let done = DispatchSemaphore(value: 0)
        Thread {
            try? feed.run { _ in }
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 1.5)  // about fifteen heartbeats at seq 10
        feed.stop()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(log.lines(atLeast: .warning).count == 1, "\(log.lines(atLeast: .warning))")
        #expect(log.lines(atLeast: .warning).first?.contains("ends at seq 10, before this subscriber's 500: was it reset?") == true)
    }
}
