internal import CLibZMQ
import Glibc

/// Waits until any of a set of sockets can receive (`zmq_poll`).
public struct Poller: ~Copyable {
    private var items: [zmq_pollitem_t]
    /// Each socket's `ZMQ_FD`, for waits shorter than `zmq_poll`'s millisecond (``poll(timeoutNanoseconds:)``).
    private var descriptors: [pollfd]

    public init(_ sockets: [Socket]) {
        items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        descriptors = sockets.map { socket in
            var fd: Int32 = -1
            var size = MemoryLayout<Int32>.size
            if zmq_getsockopt(socket.handle, ZMQ_FD, &fd, &size) != 0 { fd = -1 }
            return pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        }
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

    /// Waits up to `timeoutNanoseconds`, to the microsecond or so.
    ///
    /// `zmq_poll` counts whole milliseconds, so a caller that must act in 300 µs (an open-loop sender between
    /// two arrivals) could only poll with 0 in a loop, a core spent spinning. This does what `zmq_poll` does
    /// inside: look at the sockets' `ZMQ_EVENTS` first (`zmq_poll` with 0), and only when none can receive,
    /// sleep in `ppoll(2)` on their `ZMQ_FD`s, which signal when something may have changed; then look again.
    /// - Returns: for each socket, in the order given, whether it has a message waiting.
    public mutating func poll(timeoutNanoseconds: UInt64) throws(ZMQError) -> [Bool] {
        let ready = try poll(timeoutMilliseconds: 0)
        guard timeoutNanoseconds > 0, !ready.contains(true) else { return ready }
        // A socket whose ZMQ_FD could not be read would never wake `ppoll`: wait in whole milliseconds instead.
        if descriptors.contains(where: { $0.fd < 0 }) {
            return try poll(timeoutMilliseconds: Int(min((timeoutNanoseconds + 999_999) / 1_000_000, UInt64(Int32.max))))
        }
        for i in descriptors.indices { descriptors[i].revents = 0 }
        // EINTR or a spurious wake-up: the look below says what is there.
        _ = switchboard_ppoll(&descriptors, nfds_t(descriptors.count), Int64(min(timeoutNanoseconds, UInt64(Int64.max))))
        return try poll(timeoutMilliseconds: 0)
    }
}
