internal import CLibZMQ

/// A libzmq socket. It belongs to the thread that uses it: libzmq sockets are not thread-safe, so
/// `Socket` is not `Sendable`, and blocking calls on it belong on a thread of its own, never on
/// Swift's cooperative pool (a blocked `zmq_recv` there starves every task).
public final class Socket {
    public enum Kind: Sendable {
        case pair, pub, sub, req, rep, dealer, router, pull, push, xpub, xsub

        var raw: Int32 {
            switch self {
            case .pair: ZMQ_PAIR
            case .pub: ZMQ_PUB
            case .sub: ZMQ_SUB
            case .req: ZMQ_REQ
            case .rep: ZMQ_REP
            case .dealer: ZMQ_DEALER
            case .router: ZMQ_ROUTER
            case .pull: ZMQ_PULL
            case .push: ZMQ_PUSH
            case .xpub: ZMQ_XPUB
            case .xsub: ZMQ_XSUB
            }
        }
    }

    let handle: UnsafeMutableRawPointer
    public let kind: Kind
    private var isClosed = false
    /// Keeps the context alive while the socket is open.
    private let context: Context

    public init(_ context: Context, _ kind: Kind) throws(ZMQError) {
        guard let h = zmq_socket(context.handle, kind.raw) else { throw ZMQError.last("zmq_socket") }
        handle = h
        self.kind = kind
        self.context = context
    }

    deinit { close() }

    /// Closes the socket; pending outgoing messages are kept for the linger period (see ``Option/linger``).
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        zmq_close(handle)
    }

    public func bind(_ endpoint: String) throws(ZMQError) {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws(ZMQError) {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("connect \(endpoint)") }
    }

    public func disconnect(_ endpoint: String) throws(ZMQError) {
        guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError.last("disconnect \(endpoint)") }
    }

    /// The endpoint last bound, with the port the system chose for `tcp://127.0.0.1:*`.
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Sending

    /// Sends one frame.
    /// - Parameters:
    ///   - more: further frames of the same message follow.
    ///   - wait: block until the frame is queued; when false, a full queue returns false.
    /// - Returns: false when `wait` is false and the frame could not be queued (`EAGAIN`).
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        let flags = (more ? ZMQ_SNDMORE : 0) | (wait ? 0 : ZMQ_DONTWAIT)
        while true {
            if zmq_send(handle, bytes.baseAddress, bytes.count, flags) >= 0 { return true }
            let error = ZMQError.last("send")
            if error.isInterrupted { continue }
            if error.isWouldBlock { return false }
            throw error
        }
    }

    @discardableResult
    public func send(_ bytes: [UInt8], more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        try bytes.withUnsafeBytes { b in Result { () throws(ZMQError) in try send(b, more: more, wait: wait) } }.get()
    }

    @discardableResult
    public func send(_ text: String, more: Bool = false, wait: Bool = true) throws(ZMQError) -> Bool {
        try send(Array(text.utf8), more: more, wait: wait)
    }

    /// Sends a multipart message; with `wait` false, either every frame is queued or none is attempted
    /// past the first refusal (libzmq queues a multipart message atomically once its first frame is accepted).
    @discardableResult
    public func send(multipart frames: [[UInt8]], wait: Bool = true) throws(ZMQError) -> Bool {
        for (i, frame) in frames.enumerated() {
            let more = i < frames.count - 1
            if !(try send(frame, more: more, wait: wait || i > 0)) { return false }
        }
        return true
    }

    // MARK: Receiving

    /// Receives one whole message, every frame of it.
    /// - Parameter wait: block until a message arrives (or the socket's receive timeout passes);
    ///   when false, return at once.
    /// - Returns: the frames, or nil when no message came (`EAGAIN`).
    public func receiveMultipart(wait: Bool = true) throws(ZMQError) -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        while true {
            let n = zmq_msg_recv(&message, handle, wait || !frames.isEmpty ? 0 : ZMQ_DONTWAIT)
            if n < 0 {
                let error = ZMQError.last("receive")
                if error.isInterrupted { continue }
                if error.isWouldBlock && frames.isEmpty { return nil }
                throw error
            }
            let size = zmq_msg_size(&message)
            let data = zmq_msg_data(&message)
            frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size)))
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }

    // MARK: Options

    public func set(_ option: Option, _ value: Int32) throws(ZMQError) {
        var v = value
        guard zmq_setsockopt(handle, option.raw, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("set option \(option)")
        }
    }

    public func set(_ option: Option, _ value: Int64) throws(ZMQError) {
        var v = value
        guard zmq_setsockopt(handle, option.raw, &v, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("set option \(option)")
        }
    }

    public func set(_ option: Option, bytes: [UInt8]) throws(ZMQError) {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option.raw, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError.last("set option \(option)") }
    }

    public func set(_ option: Option, _ text: String) throws(ZMQError) {
        try set(option, bytes: Array(text.utf8))
    }

    public func getInt32(_ option: Option) throws(ZMQError) -> Int32 {
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, option.raw, &v, &size) == 0 else { throw ZMQError.last("get option \(option)") }
        return v
    }

    /// Subscribes a SUB socket to messages whose first frame starts with `prefix` ("" for all).
    public func subscribe(_ prefix: String = "") throws(ZMQError) { try set(.subscribe, prefix) }

    /// Removes a subscription made with ``subscribe(_:)``.
    public func unsubscribe(_ prefix: String) throws(ZMQError) { try set(.unsubscribe, prefix) }

    /// Whether a message can be received now (`ZMQ_EVENTS` has `POLLIN`).
    public var hasIncoming: Bool { ((try? getInt32(.events)) ?? 0) & Int32(ZMQ_POLLIN) != 0 }

    /// The socket options Switchboard uses.
    public struct Option: Sendable, Hashable, CustomStringConvertible {
        let raw: Int32
        let name: String

        public var description: String { name }

        public static let linger = Option(raw: ZMQ_LINGER, name: "LINGER")
        public static let sendHighWaterMark = Option(raw: ZMQ_SNDHWM, name: "SNDHWM")
        public static let receiveHighWaterMark = Option(raw: ZMQ_RCVHWM, name: "RCVHWM")
        public static let immediate = Option(raw: ZMQ_IMMEDIATE, name: "IMMEDIATE")
        public static let maximumMessageSize = Option(raw: ZMQ_MAXMSGSIZE, name: "MAXMSGSIZE")
        public static let heartbeatInterval = Option(raw: ZMQ_HEARTBEAT_IVL, name: "HEARTBEAT_IVL")
        public static let heartbeatTimeout = Option(raw: ZMQ_HEARTBEAT_TIMEOUT, name: "HEARTBEAT_TIMEOUT")
        public static let heartbeatTTL = Option(raw: ZMQ_HEARTBEAT_TTL, name: "HEARTBEAT_TTL")
        public static let receiveTimeout = Option(raw: ZMQ_RCVTIMEO, name: "RCVTIMEO")
        public static let sendTimeout = Option(raw: ZMQ_SNDTIMEO, name: "SNDTIMEO")
        public static let subscribe = Option(raw: ZMQ_SUBSCRIBE, name: "SUBSCRIBE")
        public static let unsubscribe = Option(raw: ZMQ_UNSUBSCRIBE, name: "UNSUBSCRIBE")
        public static let xpubNoDrop = Option(raw: ZMQ_XPUB_NODROP, name: "XPUB_NODROP")
        public static let routerMandatory = Option(raw: ZMQ_ROUTER_MANDATORY, name: "ROUTER_MANDATORY")
        public static let events = Option(raw: ZMQ_EVENTS, name: "EVENTS")
        public static let reconnectInterval = Option(raw: ZMQ_RECONNECT_IVL, name: "RECONNECT_IVL")
        public static let curveServer = Option(raw: ZMQ_CURVE_SERVER, name: "CURVE_SERVER")
        public static let curvePublicKey = Option(raw: ZMQ_CURVE_PUBLICKEY, name: "CURVE_PUBLICKEY")
        public static let curveSecretKey = Option(raw: ZMQ_CURVE_SECRETKEY, name: "CURVE_SECRETKEY")
        public static let curveServerKey = Option(raw: ZMQ_CURVE_SERVERKEY, name: "CURVE_SERVERKEY")
        public static let zapDomain = Option(raw: ZMQ_ZAP_DOMAIN, name: "ZAP_DOMAIN")
        public static let handshakeInterval = Option(raw: ZMQ_HANDSHAKE_IVL, name: "HANDSHAKE_IVL")
    }
}

// A socket is used by one thread at a time; moving it between threads is the caller's explicit
// business, never implicit through concurrency.
@available(*, unavailable)
extension Socket: Sendable {}
