import Testing
@testable import Routing
import TestSupport

/// The merge key of a playbook session is a list of values, kept as a list in the session file.
@Suite(.timeLimit(.minutes(5)))
struct SessionMergeKeyTests {
    func session(_ key: [String]?) -> Session {
        Session(table: "t", topic: "alert", id: "A1", step: "contact", visits: ["contact": 1], openedAt: Instant(seconds: 1_800_000_000),
                updatedAt: Instant(seconds: 1_800_000_000), mergeKey: key, mergedInto: nil, done: false, customer: [:], facts: [:], history: [])
    }

    @Test func theKeyRoundTripsAsAList() {
        let s = session(["A\u{1F}B", "C"])
        #expect(s.value["merge_key"] == .array([.string("A\u{1F}B"), .string("C")]))
        #expect(Session(value: s.value)?.mergeKey == ["A\u{1F}B", "C"])
    }

    @Test func listsThatJoinAlikeHaveDifferentSlots() {
        #expect(session(["A\u{1F}B", "C"]).mergeSlot != session(["A", "B\u{1F}C"]).mergeSlot)
        #expect(session(["AB", "C"]).mergeSlot != session(["A", "BC"]).mergeSlot)
        #expect(session(["A", "B"]).mergeSlot == session(["A", "B"]).mergeSlot)
    }

    /// A session file written before keys were lists still opens: the old key was the values joined with U+001F.
    @Test func aKeyWrittenAsJoinedTextIsRead() {
        guard case .object(var members) = session(nil).value else { Issue.record("not an object"); return }
        members.append(.init("merge_key", .string("C1\u{1F}OP1")))
        #expect(Session(value: .object(members))?.mergeKey == ["C1", "OP1"])
    }
}
