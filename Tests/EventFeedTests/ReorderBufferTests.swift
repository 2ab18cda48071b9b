import TestSupport
import Testing
import EventFeed

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct ReorderBufferTests {
    @Test func handsOutTheContiguousRunOnceWhateverTheOrder() {
        var b = ReorderBuffer<FeedEvent>(after: 0, capacity: 100)
        for seq: UInt64 in [3, 1, 3, 5, 2, 1] { _ = b.admit(feedEvent(seq)) }
        #expect(b.ready().map(\.seq) == [1, 2, 3])
        b.handedOut(3)
        #expect(b.next == 4 && b.head == 5 && b.isMissingNext)
        #expect(b.admit(feedEvent(2)) == .duplicate)
        #expect(b.admit(feedEvent(5)) == .duplicate)
        #expect(b.admit(feedEvent(4)) == .accepted)
        #expect(b.ready().map(\.seq) == [4, 5])
        b.handedOut(2)
        #expect(!b.isMissingNext && b.count == 0)
    }

    @Test func aHeartbeatAheadMakesTheNextSeqMissing() {
        var b = ReorderBuffer<FeedEvent>(after: 10, capacity: 100)
        b.sawHeartbeat(10)
        #expect(!b.isMissingNext)
        b.sawHeartbeat(12)
        b.sawHeartbeat(11)  // several engines: the head is the highest
        #expect(b.head == 12 && b.isMissingNext)
    }

    /// Full: later events are refused (replay recovers them), but the one wanted next is always taken.
    @Test func whenFullRefusesAllButTheNextSeq() {
        var b = ReorderBuffer<FeedEvent>(after: 0, capacity: 3)
        for seq: UInt64 in 2...4 { #expect(b.admit(feedEvent(seq)) == .accepted) }
        #expect(b.admit(feedEvent(5)) == .overflow)
        #expect(b.admit(feedEvent(1)) == .accepted)
        #expect(b.ready().map(\.seq) == [1, 2, 3, 4])
    }

    /// Replay moves past events held live: they are forgotten, never handed out twice.
    @Test func replayedPastWhatIsHeld() {
        var b = ReorderBuffer<FeedEvent>(after: 0, capacity: 100)
        for seq: UInt64 in [5, 6, 9] { _ = b.admit(feedEvent(seq)) }
        b.handedOut(6)  // 1...6 came by replay
        #expect(b.next == 7 && b.count == 1 && b.ready().isEmpty && b.isMissingNext)
    }
}
