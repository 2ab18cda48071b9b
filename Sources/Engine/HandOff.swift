import Dispatch
import Synchronization

/// A first-in-first-out hand-over between two threads: one appends, the other takes in batches.
///
/// It is not bounded by itself: the engine's socket thread, the only producer of queries, bounds what is
/// in flight before it appends (see ``Pipeline/InFlight``), so the queue never holds more than that bound.
/// A consumer thread may sleep in ``waitForItems(timeout:)`` until something arrives; a consumer that
/// polls sockets is woken another way (an inproc socket), which the return value of
/// ``append(contentsOf:)`` tells the producer to use.
final class HandOff<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        /// Set by a consumer about to sleep; an append or ``wake()`` clears it and signals, so signals never pile up.
        var consumerAsleep = false
    }

    private let state = Mutex(State())
    private let arrived = DispatchSemaphore(value: 0)

    init() {}

    /// Appends in order.
    /// - Returns: whether the queue was empty before, i.e. whether a consumer polling sockets must be woken.
    @discardableResult
    func append(contentsOf new: [Element]) -> Bool {
        guard !new.isEmpty else { return false }
        let (wasEmpty, asleep) = state.withLock { s in
            defer {
                s.items.append(contentsOf: new)
                s.consumerAsleep = false
            }
            return (s.items.isEmpty, s.consumerAsleep)
        }
        if asleep { arrived.signal() }
        return wasEmpty
    }

    /// Takes up to `limit` of the oldest elements (all of them when `limit` is nil).
    func take(upTo limit: Int? = nil) -> [Element] {
        state.withLock { s in
            let count = min(s.items.count, limit ?? s.items.count)
            guard count > 0 else { return [] }
            if count == s.items.count {
                defer { s.items.removeAll(keepingCapacity: true) }
                return s.items
            }
            defer { s.items.removeFirst(count) }
            return Array(s.items[..<count])
        }
    }

    /// Sleeps until an append or ``wake()``, or until `timeout` has passed; returns at once when items are waiting.
    func waitForItems(timeout: Duration) {
        let sleep = state.withLock { s in
            guard s.items.isEmpty else { return false }
            s.consumerAsleep = true
            return true
        }
        guard sleep else { return }
        _ = arrived.wait(timeout: .now() + .nanoseconds(Int(timeout / .nanoseconds(1))))
        // A signal that raced the timeout leaves one spurious wake-up for next time, never more.
        state.withLock { $0.consumerAsleep = false }
    }

    /// Wakes a consumer sleeping in ``waitForItems(timeout:)`` for something else than an item (a finished
    /// reload, a stop). One that is not asleep sees it when it next looks, at the latest after its timeout.
    func wake() {
        let asleep = state.withLock { s in
            defer { s.consumerAsleep = false }
            return s.consumerAsleep
        }
        if asleep { arrived.signal() }
    }
}
