import Foundation
import Logging
import Routing
import Wire
import ZeroMQ

/// The replay endpoints of one or several engines, asked one at a time: on silence or refusal the next
/// one is asked (the zguide's Lazy Pirate across servers), so a gap is filled from whichever engine answers.
///
/// Engines that share one journal (PostgreSQL) hold the same events under the same `seq`, so any of them
/// can fill any gap. The client stays with the engine that last answered.
public final class ReplayClient {
    /// What one request got.
    public enum Answer<Record: FeedRecord> {
        /// The journalled events from the `seq` asked, each read as `Record` (empty when the journal has nothing more).
        case events([Record])
        /// The events before the first that could not be read, and why it could not.
        case undecodable([Record], Error)
        /// The engine answered with an error (`unavailable`: its journal cannot be read), or not with a reply.
        case refused(endpoint: String, reason: String)
        /// No answer within the timeout.
        case unanswered(endpoint: String)
    }

    public let endpoints: [String]
    public let timeout: Duration
    private let context: Context
    private let curve: (serverKey: String, keys: CurveKeyPair)?
    private var socket: Socket?
    /// The endpoint asked next: the one that answered last, or the one after a silent or refusing one.
    public private(set) var current = 0
    /// Failures since the last answer, to tell one engine down from all of them.
    public private(set) var failuresInARow = 0

    public init(context: Context, endpoints: [String], timeout: Duration, curve: (serverKey: String, keys: CurveKeyPair)?) {
        precondition(!endpoints.isEmpty, "a replay client needs at least one endpoint")
        self.context = context
        self.endpoints = endpoints
        self.timeout = timeout
        self.curve = curve
    }

    /// Whether every endpoint has failed since the last answer: time to pause rather than ask again at once.
    public var everyEndpointFailed: Bool { failuresInARow >= endpoints.count }

    /// Asks for the events from `fromSeq` on, at most `max`, each read as `Record`.
    public func request<Record: FeedRecord>(fromSeq: UInt64, max: Int, as _: Record.Type) throws -> Answer<Record> {
        let endpoint = endpoints[current]
        let s = try connected()
        _ = try s.send(multipart: [[], Array(#"{"from_seq":\#(fromSeq),"max":\#(max)}"#.utf8)])
        guard let frames = try s.receiveMultipart(), let body = frames.last else {
            // A fresh connection, so a lost request cannot leave the socket waiting for ever.
            failed()
            return .unanswered(endpoint: endpoint)
        }
        let answer = ReplayClient.read(body, as: Record.self, from: endpoint)
        if case .refused = answer { failed() } else { failuresInARow = 0 }
        return answer
    }

    /// Reads a replay reply `{"events": [...], "next_seq"}` event by event, without parsing it whole.
    static func read<Record: FeedRecord>(_ body: [UInt8], as _: Record.Type, from endpoint: String) -> Answer<Record> {
        body.withUnsafeBufferPointer { buffer in
            var records: [Record] = []
            var failure: Error?
            var scanner = JSONScanner(buffer)
            var sawEvents = false
            do {
                try scanner.members { key, scanner in
                    guard JSONScanner.equal(key, "events") else { try scanner.skipValue(); return }
                    sawEvents = true
                    try scanner.elements { scanner in
                        let range = try scanner.skipValue()
                        guard failure == nil else { return }
                        do {
                            records.append(try Record(eventJSON: buffer[range]))
                        } catch {
                            failure = error
                        }
                    }
                }
            } catch {
                return .refused(endpoint: endpoint, reason: "the reply is not JSON as expected (\(error))")
            }
            if let failure { return .undecodable(records, failure) }
            if sawEvents { return .events(records) }
            let error = (try? JSONReader.parse(body, limits: .trusted))?["error"]
            return .refused(endpoint: endpoint, reason: error.map { "\($0)" } ?? "no events")
        }
    }

    /// Closes the socket.
    public func close() {
        socket?.close()
        socket = nil
    }

    private func failed() {
        close()
        failuresInARow += 1
        current = (current + 1) % endpoints.count
    }

    private func connected() throws -> Socket {
        if let socket { return socket }
        let s = try Socket(context, .dealer)
        try s.set(.linger, Int32(0))
        let ms = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        try s.set(.receiveTimeout, Int32(clamping: Swift.max(1, ms)))
        if let curve { try s.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
        try s.connect(endpoints[current])
        socket = s
        return s
    }
}

// A replay client belongs to the one thread that asks through it.
@available(*, unavailable) extension ReplayClient: Sendable {}
