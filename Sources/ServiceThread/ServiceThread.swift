import Foundation
import ServiceLifecycle
import Synchronization

/// Runs a socket owner — code that blocks in `zmq_poll`, `recv` or `poll(2)` — on a thread of its own,
/// and waits for it from async code without blocking the cooperative pool.
///
/// Graceful shutdown (a `ServiceGroup` signal) and task cancellation both ask the thread to stop: the
/// ``Stop`` handed to the body is set and the actions registered with ``Stop/whenRequested(_:)`` run (to
/// wake something the body is blocked on, like `EventFeed.stop()`). The call returns when the body does,
/// with its result or its error; it never leaves the thread running behind it.
///
/// ```swift
/// public func run() async throws {
///     try await ServiceThread.run(name: "recorder-feed") { stop in
///         let feed = EventFeed(configuration: configuration, after: try store.lastSeq(), logger: logger)
///         stop.whenRequested { feed.stop() }
///         try feed.run { batch in try store.store(batch) }
///     }
/// }
/// ```
public enum ServiceThread {
    /// Whether the thread has been asked to stop, and what to do when it is.
    public final class Stop: Sendable {
        private let state = Mutex<(requested: Bool, actions: [@Sendable () -> Void])>((false, []))

        public init() {}

        /// Whether a stop was requested; a body's loop reads it between blocking waits.
        public var isRequested: Bool { state.withLock { $0.requested } }

        /// Runs `action` when a stop is requested, or now if one was already. It must not block.
        public func whenRequested(_ action: @escaping @Sendable () -> Void) {
            let now = state.withLock { s in
                if s.requested { return true }
                s.actions.append(action)
                return false
            }
            if now { action() }
        }

        /// Requests the stop: sets the flag and runs the registered actions, once.
        public func request() {
            let actions = state.withLock { s in
                if s.requested { return [@Sendable () -> Void]() }
                s.requested = true
                defer { s.actions = [] }
                return s.actions
            }
            for action in actions { action() }
        }
    }

    /// Runs `body` on a new thread named `name` and returns its result.
    ///
    /// - Parameters:
    ///   - name: the thread's name, as `top -H` and a debugger show it.
    ///   - body: the thread's work, given the ``Stop`` that graceful shutdown and task cancellation set. It
    ///     is `sending`: the caller gives up the values it captures (a socket, a driver), which from then on
    ///     belong to the new thread alone, so they need not be `Sendable`.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw. A stop does not throw by itself: the body decides what it means (most
    ///   finish the work in hand and return).
    public static func run<T: Sendable>(name: String, _ body: sending @escaping (Stop) throws -> T) async throws -> T {
        let stop = Stop()
        let work = Handed(body)
        return try await withTaskCancellationOrGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, Error>) in
                let thread = Thread {
                    nameCurrentThread(name)
                    done.resume(with: Result { try work.body(stop) })
                }
                thread.start()
            }
        } onCancelOrGracefulShutdown: {
            stop.request()
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
