import Foundation
import Logging
import ServiceLifecycle
import ServiceThread
import Synchronization
import TestSupport
import Testing

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ServiceThreadTests {
    @Test func returnsWhatTheBodyReturnsFromAThreadOfItsOwn() async throws {
        let name = try await ServiceThread.run(name: "st-test") { _ in
            // The kernel's name of the thread running the body (what `top -H` shows).
            ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
        }
        #expect(name == "st-test")
    }

    @Test func throwsWhatTheBodyThrows() async {
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await ServiceThread.run(name: "st-throw") { _ throws -> Int in throw Boom() } }
    }

    /// Cancelling the task sets the stop and runs what the body registered, and the call returns once the body does.
    @Test func cancellationStopsTheThread() async throws {
        let woken = Flag()
        let task = Task {
            try await ServiceThread.run(name: "st-cancel") { stop in
                stop.whenRequested { woken.set() }
                var loops = 0
                while !stop.isRequested && loops < 500 {  // a socket owner's poll loop, 10 ms a turn, 5 s at most
                    Thread.sleep(forTimeInterval: 0.01)
                    loops += 1
                }
                return stop.isRequested
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        #expect(try await task.value == true)
        #expect(woken.isSet)
    }

    /// Graceful shutdown of a ServiceGroup does the same.
    @Test func gracefulShutdownStopsTheThread() async throws {
        struct Looping: Service {
            func run() async throws {
                try await ServiceThread.run(name: "st-graceful") { stop in
                    while !stop.isRequested { Thread.sleep(forTimeInterval: 0.01) }
                }
            }
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: Looping())], logger: .init(label: "test")))
        async let run: Void = group.run()
        try await Task.sleep(for: .milliseconds(100))
        await group.triggerGracefulShutdown()
        try await run
    }

    @Test func anActionRegisteredAfterTheStopRunsAtOnce() {
        let stop = ServiceThread.Stop()
        stop.request()
        let ran = Flag()
        stop.whenRequested { ran.set() }
        #expect(ran.isSet)
        #expect(stop.isRequested)
    }
}

final class Flag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
