import Foundation
import ServiceLifecycle
import Synchronization

/// Runs a socket owner — code that blocks in `zmq_poll`, `recv` or `poll(2)` — on a thread of its own,
/// and waits for it from async code without blocking the cooperative pool.
///
/// Graceful shutdown (a `ServiceGroup` signal) and task cancellation both ask the thread to stop: the
/// ``Stop`` handed to the body is set, then `onStop` runs (to wake something the body is blocked on, like
/// `EventFeed.stop()`). The call returns when the body does, with its result or its error; it never leaves
/// the thread running behind it.
///
/// ```swift
/// public func run() async throws {
///     let feed = EventFeed(configuration: configuration, after: 0, logger: logger)
///     try await ServiceThread.run(name: "recorder-feed", onStop: { feed.stop() }) { _ in
///         try feed.run { batch in try store.store(batch) }
///     }
/// }
/// ```
public enum ServiceThread {
    /// Whether the thread has been asked to stop; the body polls it between blocking waits.
    public final class Stop: Sendable {
        private let flag = Atomic<Bool>(false)

        public init() {}

        public var isRequested: Bool { flag.load(ordering: .acquiring) }

        /// Sets the flag; returns whether this call set it (false when it was set already).
        @discardableResult
        public func request() -> Bool {
            !flag.exchange(true, ordering: .acquiringAndReleasing)
        }
    }

    /// Runs `body` on a new thread named `name` and returns its result.
    ///
    /// - Parameters:
    ///   - name: the thread's name, as `top -H` and a debugger show it.
    ///   - onStop: called once, from whatever task or thread triggers it, on graceful shutdown or task
    ///     cancellation, after the ``Stop`` is set. It must not block; typically it sets a flag the body's
    ///     loop reads within its poll timeout.
    ///   - body: the thread's work. It is `sending`: the caller gives up the values it captures (a socket, a
    ///     driver), which from then on belong to the new thread alone, so they need not be `Sendable`.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw. Cancellation does not throw by itself: the body decides what a stop
    ///   means (most return normally).
    public static func run<T: Sendable>(
        name: String,
        onStop: @escaping @Sendable () -> Void = {},
        _ body: sending @escaping (Stop) throws -> T
    ) async throws -> T {
        let stop = Stop()
        let work = Handed(body)
        return try await withTaskCancellationOrGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, Error>) in
                let thread = Thread {
                    done.resume(with: Result { try work.body(stop) })
                }
                thread.name = name
                thread.start()
            }
        } onCancelOrGracefulShutdown: {
            if stop.request() { onStop() }
        }
    }
}

/// The body, carried to the thread that alone calls it.
private final class Handed<T> {
    let body: (ServiceThread.Stop) throws -> T
    init(_ body: @escaping (ServiceThread.Stop) throws -> T) { self.body = body }
}

// The caller passed the body as `sending`, so nothing else holds what it captures; only the new thread
// calls it, once.
extension Handed: @unchecked Sendable {}
