internal import CLibZMQ
import Foundation
import Synchronization

/// A ZAP handler (ZeroMQ RFC 27) that admits CURVE clients whose public key is on the allow-list of the
/// socket's ZAP domain: the engine's query endpoints use one list (`switchboard`), its control endpoint
/// another (`operator`), so a client admitted for queries is not admitted for control.
///
/// Start it before binding any CURVE server socket of the same context. Servers set
/// `ZAP_ENFORCE_DOMAIN`, so while no handler answers, libzmq refuses every connection rather than
/// admitting any key (which is what CURVE does without a handler). A domain with no list refuses all.
public final class ZAPHandler: @unchecked Sendable {
    // @unchecked: the socket is used only by the handler's own thread; other threads touch the atomics.
    public static let endpoint = "inproc://zeromq.zap.01"
    private let allowed: [String: Set<[UInt8]>]
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let onDecision: @Sendable (String, String, Bool) -> Void

    /// The ZAP domain of the engine's query, events and replay endpoints.
    public static let clientDomain = "switchboard"
    /// The ZAP domain of the engine's control endpoint.
    public static let operatorDomain = "operator"

    /// - Parameters:
    ///   - allowedKeys: Z85 public keys of the clients to admit, by ZAP domain.
    ///   - onDecision: told each domain, client key (Z85) and whether it was admitted, for the log.
    public init(allowedKeys: [String: [String]], onDecision: @escaping @Sendable (String, String, Bool) -> Void = { _, _, _ in }) throws(ZMQError) {
        var lists: [String: Set<[UInt8]>] = [:]
        for (domain, keys) in allowedKeys {
            var set: Set<[UInt8]> = []
            for key in keys {
                guard let raw = CurveKeyPair.decode(key) else { throw ZMQError(code: EINVAL, operation: "allow-list key '\(key)' is not 40 characters of Z85") }
                set.insert(raw)
            }
            lists[domain] = set
        }
        allowed = lists
        self.onDecision = onDecision
    }

    /// One allow-list for the client domain.
    public convenience init(allowedKeys: [String], onDecision: @escaping @Sendable (String, Bool) -> Void = { _, _ in }) throws(ZMQError) {
        try self.init(allowedKeys: [ZAPHandler.clientDomain: allowedKeys]) { _, key, admitted in onDecision(key, admitted) }
    }

    /// Binds the handler in `context` and answers requests on a thread of its own until ``stop()``.
    public func start(in context: Context) throws(ZMQError) {
        let socket = try Socket(context, .rep)
        try socket.set(.linger, Int32(0))
        try socket.bind(ZAPHandler.endpoint)
        running.store(true, ordering: .releasing)
        let box = SocketBox(socket)
        let thread = Thread { [self] in
            serve(box.socket)
            box.socket.close()
            running.store(false, ordering: .releasing)
            finished.signal()
        }
        thread.name = "zap-handler"
        thread.start()
    }

    /// Whether the handler is answering.
    public var isRunning: Bool { running.load(ordering: .acquiring) }

    /// Stops answering; from then on enforcing servers refuse new connections.
    public func stop() {
        guard isRunning else { return }
        stopping.store(true, ordering: .releasing)
        finished.wait()
    }

    private func serve(_ socket: Socket) {
        var poller = Poller([socket])
        while !stopping.load(ordering: .acquiring) {
            guard let ready = try? poller.poll(timeoutMilliseconds: 100), ready[0] else { continue }
            guard let request = try? socket.receiveMultipart(wait: false) else { continue }
            // version, request id, domain, address, identity, mechanism, credentials…
            let version = request.count > 0 ? request[0] : []
            let requestID = request.count > 1 ? request[1] : []
            let domain = request.count > 2 ? String(decoding: request[2], as: UTF8.self) : ""
            let mechanism = request.count > 5 ? String(decoding: request[5], as: UTF8.self) : ""
            let key = request.count > 6 ? request[6] : []
            let admitted = version == Array("1.0".utf8) && mechanism == "CURVE" && (allowed[domain]?.contains(key) ?? false)
            onDecision(domain, CurveKeyPair.encode(key) ?? "(\(mechanism.isEmpty ? "no" : mechanism) credentials)", admitted)
            let reply: [[UInt8]] = [
                Array("1.0".utf8), requestID, Array((admitted ? "200" : "400").utf8),
                Array((admitted ? "OK" : "client key not allowed").utf8), admitted ? Array("client".utf8) : [], [],
            ]
            _ = try? socket.send(multipart: reply)
        }
    }
}

/// Hands a socket to the thread that will own it from then on.
private final class SocketBox: @unchecked Sendable {
    let socket: Socket
    init(_ socket: Socket) { self.socket = socket }
}

extension Socket {
    /// Makes this a CURVE server that asks the ZAP handler about every client, and refuses all while none answers.
    public func makeCurveServer(secretKey: String, domain: String = ZAPHandler.clientDomain) throws(ZMQError) {
        try set(.curveServer, Int32(1))
        try set(.curveSecretKey, secretKey)
        try set(.zapDomain, domain)
        try set(.zapEnforceDomain, Int32(1))
    }

    /// Makes this a CURVE client of the server whose public key is `serverKey`.
    public func makeCurveClient(serverKey: String, keys: CurveKeyPair) throws(ZMQError) {
        try set(.curveServerKey, serverKey)
        try set(.curvePublicKey, keys.publicKey)
        try set(.curveSecretKey, keys.secretKey)
    }
}

extension Socket.Option {
    /// `ZMQ_ZAP_ENFORCE_DOMAIN` (93): a draft option in libzmq 4.3's header, present in Debian's build.
    public static let zapEnforceDomain = Socket.Option(raw: 93, name: "ZAP_ENFORCE_DOMAIN")
}
