import Foundation
import Synchronization
import Testing

/// Runs each test of a suite on threads of its own, not on Swift's cooperative pool.
///
/// Process, socket and database tests block: `waitUntilExit`, semaphores, blocking receives, a SIP test bed
/// that runs for minutes. Swift Testing calls a test body on the cooperative pool, which has about one thread
/// per core (two on CI's machines). Two or three tests blocked at once left no thread for the others nor for
/// the time-limit timers: a clean-clone CI run of 2026-11-23 saw whole suites stall for minutes and then fail
/// their time limits together. Off the pool, a blocked test holds only its own thread.
///
/// The pool was also what kept a few tests running at a time: Swift Testing 6.3 under `swift test` starts
/// every test at once unless `SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH` is set, so `tools/test` sets it
/// (twice the cores), and its wait happens before a test's time limit starts. Run without it, ``gate`` keeps
/// these tests to the same width, though a test's wait for it then counts toward its time limit.
package struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    package var isRecursive: Bool { true }

    /// Each test case (each argument of a parameterised test) on its own threads; a suite itself needs none.
    package func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    package func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await Self.gate.enter()
        defer { Self.gate.leave() }
        let executor = ThreadsOfOneTest(name: test.name)
        defer { executor.close() }
        try await withTaskExecutorPreference(executor) { try await function() }
    }

    /// How many of these tests run at once: Swift Testing's width when set, else twice the cores.
    static let gate = Gate(width: ProcessInfo.processInfo.environment["SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH"]
        .flatMap { Int($0) }.map { max(1, $0) } ?? 2 * ProcessInfo.processInfo.activeProcessorCount)

    /// The name of the test whose thread this is, or nil on any other thread (the cooperative pool's).
    package static var testOfThisThread: String? {
        Thread.current.threadDictionary[threadKey] as? String
    }

    static let threadKey = "switchboard.test"
}

extension Trait where Self == OwnThreads {
    /// Each test of the suite on threads of its own (see ``OwnThreads``).
    package static var ownThreads: Self { OwnThreads() }
}

/// A task executor that gives every job a thread: an idle one of its own if it has one, a new one if not.
///
/// A job that blocks its thread never delays another, so a test's own child tasks (a reader beside a writer)
/// cannot deadlock on it. Threads go when the test ends; a job that still arrives after gets a thread that
/// runs it and ends, so nothing enqueued is ever left unrun.
final class ThreadsOfOneTest: TaskExecutor, @unchecked Sendable {
    private final class Worker: @unchecked Sendable {
        let wake = DispatchSemaphore(value: 0)
        /// Set before `wake` is signalled, read after it is waited on: the semaphore orders the two.
        var job: UnownedJob?
    }

    private let name: String
    private let lock = NSLock()
    private var idle: [Worker] = []
    private var closed = false

    init(name: String) { self.name = name }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        lock.lock()
        if let worker = idle.popLast() {
            lock.unlock()
            worker.job = job
            worker.wake.signal()
        } else {
            lock.unlock()
            start(with: job)
        }
    }

    /// Lets idle threads end; called when the test has ended.
    func close() {
        lock.lock()
        closed = true
        let sleepers = idle
        idle = []
        lock.unlock()
        for worker in sleepers { worker.wake.signal() }  // with no job: the thread ends
    }

    private func start(with first: UnownedJob) {
        let worker = Worker()
        worker.job = first
        let thread = Thread { [self, name] in
            // Foundation's `Thread.name` does not reach the OS thread here (Linux gives a new thread its
            // creator's name), so the test's name is kept where `testOfThisThread` reads it.
            Thread.current.threadDictionary[OwnThreads.threadKey] = name
            while let job = worker.job {
                worker.job = nil
                job.runSynchronously(on: asUnownedTaskExecutor())
                lock.lock()
                if closed {
                    lock.unlock()
                    return
                }
                idle.append(worker)
                lock.unlock()
                worker.wake.wait()
            }
        }
        thread.start()
    }
}

/// At most `width` holders at once; the others wait without holding a thread, first come first in.
final class Gate: Sendable {
    private let state: Mutex<(free: Int, waiting: [CheckedContinuation<Void, Never>])>

    init(width: Int) { state = Mutex((width, [])) }

    func enter() async {
        await withCheckedContinuation { (entered: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.free > 0 {
                    s.free -= 1
                    return true
                }
                s.waiting.append(entered)
                return false
            }
            if now { entered.resume() }
        }
    }

    func leave() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiting.isEmpty {
                s.free += 1
                return nil
            }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }
}
