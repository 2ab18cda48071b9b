internal import CLibZMQ

/// A libzmq context: the I/O threads every socket of a process shares.
///
/// Terminate it only after closing its sockets: `zmq_ctx_term` blocks while any is open.
public final class Context {
    let handle: UnsafeMutableRawPointer

    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let h = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        zmq_ctx_set(h, ZMQ_IO_THREADS, ioThreads)
        handle = h
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// libzmq's version, e.g. (4, 3, 4).
    public static var version: (major: Int32, minor: Int32, patch: Int32) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (major, minor, patch)
    }

    /// Whether this libzmq was built with CURVE security.
    public static var hasCurve: Bool { zmq_has("curve") == 1 }
}

// libzmq contexts are thread-safe: sockets on many threads share one.
extension Context: @unchecked Sendable {}
