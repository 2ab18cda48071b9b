import Foundation
import Synchronization
import ZeroMQ

/// The query endpoints of one engine or several as the gateway uses them: one REQ round trip per query on a
/// thread of its own (a blocking `zmq_poll` never runs on the cooperative pool), retried Lazy Pirate on
/// timeout, each retry on the next engine.
///
/// Each try opens a fresh REQ socket (a REQ that sent and heard nothing cannot send again), sends the same
/// bytes — the query carries its idempotency key, so a retry of a query an engine did answer gets the first
/// answer again, from any engine of a deployment that shares its keys, and decides nothing twice — and waits
/// `timeout`. A silent engine is left for the next one in the list, and the client stays with whichever
/// answered, so one dead engine costs one timeout, not one per query. After `tries` silent tries the query
/// fails with ``Unanswered``.
public struct EngineClient: Sendable {
    public struct Unanswered: Error, CustomStringConvertible {
        public let tries: Int
        public var description: String { "the engine did not answer \(tries) tries" }
    }

    public let endpoints: [String]
    public let timeout: Duration
    public let tries: Int
    /// CURVE: the engines' public key and this client's key pair, when the engines serve with CURVE.
    public let curve: (serverKey: String, keys: CurveKeyPair)?
    private let context: Context
    /// The index of the endpoint that answered last, where the next query starts.
    private let preferred: Preferred

    public init(endpoints: [String], timeout: Duration = .milliseconds(2500), tries: Int = 3, curve: (serverKey: String, keys: CurveKeyPair)? = nil) throws {
        precondition(!endpoints.isEmpty, "an engine client needs at least one query endpoint")
        self.endpoints = endpoints
        self.curve = curve
        self.timeout = timeout
        self.tries = max(1, tries)
        context = try Context()
        preferred = Preferred()
    }

    /// Sends a query and returns the reply's bytes.
    /// - Throws: ``Unanswered`` when no try was answered in time; a `ZMQError` when a socket cannot be made.
    public func query(_ request: [UInt8]) async throws -> [UInt8] {
        let ms = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            let thread = Thread { [self] in
                do {
                    continuation.resume(returning: try roundTrip(request, timeoutMilliseconds: ms))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
    }

    private func roundTrip(_ request: [UInt8], timeoutMilliseconds: Int) throws -> [UInt8] {
        let first = preferred.index.load(ordering: .relaxed)
        for attempt in 0..<tries {
            let index = (first + attempt) % endpoints.count
            let socket = try Socket(context, .req)
            defer { socket.close() }
            try socket.set(.linger, Int32(0))
            if let curve { try socket.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
            try socket.connect(endpoints[index])
            _ = try socket.send(request)
            var poller = Poller([socket])
            if try poller.poll(timeoutMilliseconds: timeoutMilliseconds)[0], let frames = try socket.receiveMultipart(wait: false), let last = frames.last {
                preferred.index.store(index, ordering: .relaxed)
                return last
            }
        }
        throw Unanswered(tries: tries)
    }

    /// Shared by every copy of the client (it is a struct handed to request handlers).
    private final class Preferred: Sendable {
        let index = Atomic<Int>(0)
    }
}
