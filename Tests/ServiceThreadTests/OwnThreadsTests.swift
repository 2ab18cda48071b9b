import Dispatch
import Foundation
import Testing
import TestSupport

/// The trait that keeps blocking tests off Swift's cooperative pool (``OwnThreads``).
@Suite(.ownThreads, .timeLimit(.minutes(1)))
struct OwnThreadsTests {
    /// A synchronous function: `Thread.current` is not offered to async code, whose thread may change at an `await`.
    static func threadName() -> String { OwnThreads.testOfThisThread ?? "a thread of no test" }

    @Test func aSynchronousBodyRunsOnTheTestsOwnThread() {
        #expect(Self.threadName() == "aSynchronousBodyRunsOnTheTestsOwnThread()")
    }

    /// Each child task gets a thread of its own: one blocked waiting for the other cannot stop it. On one
    /// thread (or on a pool whose threads are all blocked) this test would hang until its time limit.
    @Test func childTasksWaitingForEachOtherEachHaveAThread() async {
        let released = DispatchSemaphore(value: 0)
        let names = await withTaskGroup(of: String.self) { group in
            group.addTask {
                released.wait()
                return Self.threadName()
            }
            group.addTask {
                released.signal()
                return Self.threadName()
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(names == Array(repeating: "childTasksWaitingForEachOtherEachHaveAThread()", count: 2))
    }
}
