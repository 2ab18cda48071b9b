internal import CLibZMQ
#if canImport(Glibc)
import Glibc
#endif

/// A libzmq failure: the `errno` read right after the call, with libzmq's words for it.
public struct ZMQError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: Int32
    /// What was being done: `bind tcp://127.0.0.1:5570`.
    public let operation: String

    public var description: String {
        "\(operation): \(String(cString: zmq_strerror(code))) (errno \(code))"
    }

    /// The call would block (`EAGAIN`): nothing to receive, or a send queue is full.
    public var isWouldBlock: Bool { code == EAGAIN }
    /// The context is being terminated (`ETERM`): stop using the socket.
    public var isTerminated: Bool { code == ETERM }
    /// A signal interrupted the call (`EINTR`): retry it.
    public var isInterrupted: Bool { code == EINTR }

    /// Captures `zmq_errno()` at once, before anything else can change it.
    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        let code = zmq_errno()
        return ZMQError(code: code, operation: operation())
    }
}
