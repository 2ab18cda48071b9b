internal import CLibZMQ

/// Waits until any of a set of sockets can receive (`zmq_poll`).
public struct Poller: ~Copyable {
    private var items: [zmq_pollitem_t]

    public init(_ sockets: [Socket]) {
        items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever).
    /// - Returns: for each socket, in the order given, whether it has a message waiting.
    public mutating func poll(timeoutMilliseconds: Int) throws(ZMQError) -> [Bool] {
        while true {
            let rc = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
            if rc >= 0 { return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 } }
            let error = ZMQError.last("poll")
            if error.isInterrupted { return Array(repeating: false, count: items.count) }
            throw error
        }
    }
}
