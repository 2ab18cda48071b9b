import Foundation
import ZeroMQ

/// The engine's query endpoint as the gateway uses it: one REQ round trip per query on a thread of its
/// own (a blocking `zmq_poll` never runs on the cooperative pool), retried Lazy Pirate on timeout.
///
/// Each try opens a fresh REQ socket (a REQ that sent and heard nothing cannot send again), sends the
/// same bytes — the query carries its idempotency key, so a retry of a query the engine did answer gets
/// the first answer again and decides nothing twice — and waits `timeout`. After `tries` silent tries
/// the query fails with ``Unanswered``.
public struct EngineClient: Sendable {
    public struct Unanswered: Error, CustomStringConvertible {
        public let tries: Int
        public var description: String { "the engine did not answer \(tries) tries" }
    }

    public let endpoint: String
    public let timeout: Duration
    public let tries: Int
    /// CURVE: the engine's public key and this client's key pair, when the engine serves with CURVE.
    public let curve: (serverKey: String, keys: CurveKeyPair)?
    private let context: Context

    public init(endpoint: String, timeout: Duration = .milliseconds(2500), tries: Int = 3, curve: (serverKey: String, keys: CurveKeyPair)? = nil) throws {
        self.endpoint = endpoint
        self.curve = curve
        self.timeout = timeout
        self.tries = max(1, tries)
        context = try Context()
    }

    /// Sends a query and returns the reply's bytes.
    /// - Throws: ``Unanswered`` when no try was answered in time; a `ZMQError` when a socket cannot be made.
    public func query(_ request: [UInt8]) async throws -> [UInt8] {
        let context = self.context, endpoint = self.endpoint, tries = self.tries, curve = self.curve
        let ms = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: try EngineClient.roundTrip(request, context: context, endpoint: endpoint, curve: curve, tries: tries, timeoutMilliseconds: ms))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
    }

    private static func roundTrip(_ request: [UInt8], context: Context, endpoint: String, curve: (serverKey: String, keys: CurveKeyPair)?,
                                  tries: Int, timeoutMilliseconds: Int) throws -> [UInt8] {
        for _ in 0..<tries {
            let socket = try Socket(context, .req)
            defer { socket.close() }
            try socket.set(.linger, Int32(0))
            if let curve { try socket.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
            try socket.connect(endpoint)
            _ = try socket.send(request)
            var poller = Poller([socket])
            if try poller.poll(timeoutMilliseconds: timeoutMilliseconds)[0], let frames = try socket.receiveMultipart(wait: false), let last = frames.last {
                return last
            }
        }
        throw Unanswered(tries: tries)
    }
}
