import Foundation
import Logging
import Metrics
import Routing
import Synchronization
import Wire
import ZeroMQ

/// Publishes each transfer result once the adapter has recorded it as done (`switchboard cti --results`),
/// so a gateway can pop an agent's panel when the call really reaches their phone.
///
/// Two endpoints, the same pattern the engine uses for its events: a PUB for live results (topic `result`,
/// and a `heartbeat` with the last position about once a second) and a ROUTER that replays results from
/// a position (`{"from_position": N, "max": M}`). Results are numbered by their place in the transfer
/// record, without gaps, so a subscriber knows when it missed one and asks the replay endpoint.
///
/// Bounded: the last `capacity` results are kept for replay; an older position is answered with the
/// error `gone` and the first position still kept, so the subscriber says what it lost. The results of an
/// earlier run of the adapter are not kept (the record holds no call or target), so a restart starts the
/// replay window afresh at the record's next position.
///
/// The sockets belong to a thread of their own; ``publish(_:)`` may be called from any thread.
public final class ResultPublisher: Sendable {
    public struct Configuration: Sendable {
        /// PUB: live results.
        public var resultsEndpoint: String
        /// ROUTER: results from a position on.
        public var replayEndpoint: String
        /// Results kept for replay.
        public var capacity = 10_000
        /// Results per replay reply, at most.
        public var maximumReplay = 1000

        public init(resultsEndpoint: String, replayEndpoint: String) {
            self.resultsEndpoint = resultsEndpoint
            self.replayEndpoint = replayEndpoint
        }
    }

    private struct Kept {
        var results: [TransferResult] = []
        /// Published results are those at or below this position.
        var published: UInt64 = 0
    }

    public let configuration: Configuration
    /// The endpoints as bound, with the ports the system chose for `tcp://host:*`.
    public var boundEndpoints: (results: String, replay: String) { bound.withLock { $0 } }
    private let bound = Mutex(("", ""))
    private let kept = Mutex(Kept())
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let logger: Logger
    private let sent = Counter(label: "switchboard_cti_results_published_total")
    private let replays = Counter(label: "switchboard_cti_results_replays_total")

    /// Binds both endpoints and starts the publishing thread.
    /// - Throws: ``ZMQError`` when an endpoint cannot be bound (in use, malformed).
    public init(configuration: Configuration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let failure = Mutex<ZMQError?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            let context: Context, pub: Socket, router: Socket
            do throws(ZMQError) {
                context = try Context()
                pub = try Socket(context, .pub)
                router = try Socket(context, .router)
                try pub.set(.linger, Int32(0))
                try router.set(.linger, Int32(0))
                try pub.bind(configuration.resultsEndpoint)
                try router.bind(configuration.replayEndpoint)
                bound.withLock { $0 = (pub.lastEndpoint, router.lastEndpoint) }
            } catch {
                failure.withLock { $0 = error }
                ready.signal()
                finished.signal()
                return
            }
            ready.signal()
            serve(pub: pub, router: router)
            pub.close()
            router.close()
            _ = context
            finished.signal()
        }
        thread.name = "cti-results"
        thread.start()
        ready.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Keeps a result for replay and hands it to the publishing thread.
    public func publish(_ result: TransferResult) {
        kept.withLock { k in
            k.results.append(result)
            if k.results.count > configuration.capacity + configuration.capacity / 4 {
                k.results.removeFirst(k.results.count - configuration.capacity)
            }
        }
    }

    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }

    private func serve(pub: Socket, router: Socket) {
        var poller = Poller([router])
        var lastHeartbeat = ContinuousClock.now
        while !stopping.load(ordering: .acquiring) {
            if (try? poller.poll(timeoutMilliseconds: 20))?[0] == true {
                while let frames = (try? router.receiveMultipart(wait: false)) ?? nil, frames.count >= 2 {
                    let reply = answer(frames.last!)
                    replays.increment()
                    // A requester that reads no replies loses them (ROUTER drops at its high-water mark); it asks again.
                    _ = try? router.send(multipart: Array(frames.dropLast()) + [reply], wait: false)
                }
            }
            let fresh: [TransferResult] = kept.withLock { k in
                // The unpublished ones are at the end: look back only that far, not through all that is kept.
                var start = k.results.endIndex
                while start > k.results.startIndex, k.results[start - 1].position > k.published { start -= 1 }
                if let last = k.results.last, start < k.results.endIndex { k.published = last.position }
                return Array(k.results[start...])
            }
            for r in fresh {
                // A subscriber too slow for the PUB's queue loses live results; the next position or heartbeat shows the gap and it replays.
                _ = try? pub.send(multipart: [Array("result".utf8), r.json], wait: false)
                sent.increment()
            }
            if ContinuousClock.now - lastHeartbeat >= .seconds(1) {
                lastHeartbeat = .now
                let last = kept.withLock { $0.published }
                _ = try? pub.send(multipart: [Array("heartbeat".utf8), Array(#"{"position":\#(last)}"#.utf8)], wait: false)
            }
        }
    }

    /// `{"from_position": N, "max": M}` → `{"results": [...], "last": L}`, or `{"error": {...}, "first": F}`.
    func answer(_ body: [UInt8]) -> [UInt8] {
        let from: UInt64, maximum: Int
        do throws(InputError) {
            let request = try JSONReader.parse(body)
            guard case .number(let n)? = request["from_position"], n >= 1, n == n.rounded(), n < 9e15 else {
                throw InputError(.badRequest, "from_position must be a whole number of at least 1.", field: "from_position")
            }
            var m = configuration.maximumReplay
            if let given = request["max"] {
                guard case .number(let x) = given, x >= 1, x == x.rounded() else {
                    throw InputError(.badRequest, "max must be a whole number of at least 1.", field: "max")
                }
                m = min(Int(min(x, 1e9)), m)
            }
            (from, maximum) = (UInt64(n), m)
        } catch {
            return Self.error(error, first: nil)
        }
        let (slice, first, last): ([TransferResult], UInt64?, UInt64) = kept.withLock { k in
            let first = k.results.first?.position
            if let first, from < first { return ([], first, k.published) }
            let published = k.published
            return (Array(k.results.lazy.filter { $0.position >= from && $0.position <= published }.prefix(maximum)), nil, published)
        }
        if let first {
            logger.warning("a results subscriber asked for positions no longer kept", metadata: ["from_position": "\(from)", "first_kept": "\(first)"])
            return Self.error(InputError(InputError.Code(rawValue: "gone"), "results before position \(first) are no longer kept (the last \(configuration.capacity) since this adapter started are).", field: "from_position"), first: first)
        }
        var w = JSONWriter(capacity: 64 + slice.count * 160)
        w.object { o in
            o.member("results") { $0.array(slice) { w, r in r.encode(into: &w) } }
            o.member("last") { $0.number(Int64(last)) }
        }
        return w.bytes
    }

    static func error(_ error: InputError, first: UInt64?) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.object { o in
            o.member("error") { Wire.encodeErrorBody(error, into: &$0) }
            if let first { o.member("first") { $0.number(Int64(first)) } }
        }
        return w.bytes
    }
}
