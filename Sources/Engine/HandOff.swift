import Dispatch
import Synchronization

/// A first-in-first-out hand-over between two threads: one appends, the other takes in batches.
///
/// It is not bounded by itself: the engine's socket thread, the only producer of queries, bounds what is
/// in flight before it appends (see ``Engine``), so the queue never holds more than that bound.
/// `waitForItems` lets a consumer thread sleep until something arrives; a consumer that polls sockets
/// is woken another way (an inproc socket), which the return value of ``append(contentsOf:)`` tells the
/// producer to use.
final class HandOff<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    /// Signalled on each append to an empty queue (and by ``wake()``); extra signals only cost a spurious wake-up.
    private let arrived = DispatchSemaphore(value: 0)

    init() {}

    /// Appends in order.
    /// - Returns: whether the queue was empty before, i.e. whether a consumer may be asleep and must be woken.
    @discardableResult
    func append(contentsOf new: [Element]) -> Bool {
        guard !new.isEmpty else { return false }
        let wasEmpty = items.withLock { items in
            defer { items.append(contentsOf: new) }
            return items.isEmpty
        }
        if wasEmpty { arrived.signal() }
        return wasEmpty
    }

    /// Takes up to `limit` of the oldest elements (all of them when `limit` is nil).
    func take(upTo limit: Int? = nil) -> [Element] {
        items.withLock { items in
            let count = min(items.count, limit ?? items.count)
            guard count > 0 else { return [] }
            if count == items.count {
                defer { items.removeAll(keepingCapacity: true) }
                return items
            }
            defer { items.removeFirst(count) }
            return Array(items[..<count])
        }
    }

    /// Sleeps until an append to an empty queue or ``wake()``, or until `timeout` has passed.
    func waitForItems(timeout: Duration) {
        let nanoseconds = Int(timeout / .nanoseconds(1))
        _ = arrived.wait(timeout: .now() + .nanoseconds(nanoseconds))
    }

    /// Wakes a consumer sleeping in ``waitForItems(timeout:)`` (something else than an item needs it).
    func wake() { arrived.signal() }
}
