import Foundation
import Logging
import Routing
import Synchronization
import Wire
import ZeroMQ

/// Every transfer result a CTI adapter publishes (`switchboard cti --results`), in position order, each
/// once: live from its PUB, and from its replay ROUTER at start and whenever a position or heartbeat shows
/// a gap. Results the adapter no longer keeps are reported (logged and counted by the ``PopHub``'s
/// caller), then skipped.
///
/// Call ``run(_:)`` on a thread of its own: it blocks. ``stop()`` may come from any thread.
public final class CTIResultFeed: Sendable {
    public struct Configuration: Sendable {
        public var resultsEndpoint: String
        public var replayEndpoint: String
        public var replayTimeout: Duration = .seconds(5)

        public init(resultsEndpoint: String, replayEndpoint: String) {
            self.resultsEndpoint = resultsEndpoint
            self.replayEndpoint = replayEndpoint
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func stop() { stopping.store(true, ordering: .releasing) }
    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// - Parameter deliver: each result, in position order, from position 1 (everything the adapter keeps).
    public func run(_ deliver: (TransferResult) -> Void) throws {
        let context = try Context()
        let sub = try Socket(context, .sub)
        try sub.set(.linger, Int32(0))
        try sub.subscribe("result")
        try sub.subscribe("heartbeat")
        try sub.connect(configuration.resultsEndpoint)
        var replay = try replaySocket(context)
        defer {
            sub.close()
            replay.close()
        }
        var next: UInt64 = 1
        var needsReplay = true
        var poller = Poller([sub])
        while !isStopping {
            if needsReplay {
                needsReplay = !(try catchUp(&next, &replay, context: context, deliver))
                if needsReplay { Thread.sleep(forTimeInterval: 0.2); continue }
            }
            guard try poller.poll(timeoutMilliseconds: 200)[0] else { continue }
            while let frames = try sub.receiveMultipart(wait: false), frames.count == 2 {
                guard let value = try? JSONReader.parse(frames[1], limits: .trusted) else {
                    logger.warning("ignored a CTI result message that is not JSON; the gap it leaves is replayed")
                    continue
                }
                if frames[0] == Array("heartbeat".utf8) {
                    if case .number(let last)? = value["position"], UInt64(last) >= next { needsReplay = true }
                    continue
                }
                let result: TransferResult
                do { result = try TransferResult(value: value) } catch {
                    logger.warning("ignored a CTI result that does not decode: \(error)")
                    continue
                }
                if result.position < next { continue }  // replay and live overlap
                if result.position > next {
                    needsReplay = true
                    break
                }
                deliver(result)
                next += 1
            }
        }
    }

    /// Replays from `next` until the adapter has nothing more.
    /// - Returns: false when the replay endpoint did not answer in time or refused (try again).
    private func catchUp(_ next: inout UInt64, _ replay: inout Socket, context: Context, _ deliver: (TransferResult) -> Void) throws -> Bool {
        while !isStopping {
            try replay.send(multipart: [[], Array(#"{"from_position":\#(next),"max":1000}"#.utf8)])
            guard let frames = try replay.receiveMultipart(), let body = frames.last else {
                replay.close()
                replay = try replaySocket(context)
                logger.warning("the CTI adapter's results replay did not answer; retrying", metadata: ["from_position": "\(next)"])
                return false
            }
            let reply = try JSONReader.parse(body, limits: .trusted)
            if case .number(let first)? = reply["first"], UInt64(first) > next {
                logger.error("CTI results \(next)…\(UInt64(first) - 1) are no longer kept by the adapter: their screen pops are lost; going on from \(UInt64(first))")
                next = UInt64(first)
                continue
            }
            guard case .array(let items)? = reply["results"] else {
                logger.error("the CTI adapter's results replay refused: \(reply["error"]?["message"]?.text ?? "no results")")
                return false
            }
            if items.isEmpty { return true }
            for item in items {
                guard let r = try? TransferResult(value: item), r.position == next else { return false }
                deliver(r)
                next += 1
            }
        }
        return true
    }

    private func replaySocket(_ context: Context) throws -> Socket {
        let s = try Socket(context, .dealer)
        try s.set(.linger, Int32(0))
        try s.set(.receiveTimeout, Int32(configuration.replayTimeout.components.seconds * 1000))
        try s.connect(configuration.replayEndpoint)
        return s
    }
}
