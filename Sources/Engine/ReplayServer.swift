import EngineCore
import Foundation
import Logging
import Routing
import ServiceThread
import Storage
import Synchronization
import Wire
import ZeroMQ

/// Answers replay requests on a thread of its own, so reading and copying the journal for a subscriber
/// that catches up never holds a query back.
///
/// Bounded: a reply carries at most `maximumReplayBytes`, and a requester that does not read its
/// replies holds at most a few (the socket's send high-water mark); past that its replies are not
/// sent, counted and logged once per episode, like query replies.
final class ReplayServer: Sendable {
    typealias Reader = @Sendable (UInt64, Int, Int) throws(StorageError) -> [ArraySlice<UInt8>]

    private let read: Reader
    private let configuration: EngineCore.Configuration
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let meters: EngineMeters
    private let unsent = Mutex(UnsentReplies())

    init(read: @escaping Reader, configuration: EngineCore.Configuration, meters: EngineMeters, logger: Logger) {
        self.read = read
        self.meters = meters
        self.configuration = configuration
        self.logger = logger
    }

    /// Takes over a bound socket; from here on only the replay thread touches it.
    func start(_ socket: Socket) {
        let box = SocketHandOver(socket)
        let thread = Thread { [self] in
            nameCurrentThread("engine-replay")
            // Catching up is background work: on a busy machine queries go first. (On Linux the nice value
            // is per thread, and `who` 0 is the calling thread.)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            serve(box.socket)
            box.socket.close()
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        finished.wait()
        finished.signal()
    }

    private func serve(_ socket: Socket) {
        var poller = Poller([socket])
        while !stopping.load(ordering: .acquiring) {
            guard let ready = try? poller.poll(timeoutMilliseconds: 100), ready[0] else { continue }
            while let frames = (try? socket.receiveMultipart(wait: false)) ?? nil {
                let envelope: ArraySlice<[UInt8]>
                let reply: [UInt8]
                var failure: InputError?
                switch RouterMessage(frames) {
                case nil: continue  // no envelope: nobody to answer
                case .malformed(let e, let count):
                    envelope = e
                    failure = InputError(.badRequest, "a replay request is one frame of JSON after the envelope; got \(count) frames.")
                    var w = JSONWriter(capacity: 256)
                    Wire.encode(failure!, into: &w)
                    reply = w.bytes
                case .request(let e, let body):
                    envelope = e
                    (reply, failure) = EngineCore.answerReplay(body, configuration: configuration, read: read)
                }
                if let failure, failure.code == .unavailable { logger.error("replay: \(failure.message)") }
                // Counted before the answer leaves: a requester that asks for health once answered must see its
                // replay counted (counting after the send let a CI run read health in between).
                meters.replays.increment()
                if let failure { meters.replayErrors.increment(failure.code.rawValue) }
                var sent = false
                do { sent = try socket.send(multipart: Array(envelope) + [reply], wait: false) } catch {}
                if !sent { meters.replaysNotSent.increment() }
                if unsent.withLock({ $0.record(sent: sent) }) {
                    logger.warning("replay reply not sent: the requester is gone or does not read its replies; counted in health as replays_not_sent")
                }
            }
        }
    }
}

/// Hands a socket to the thread that owns it from then on (libzmq allows moving a socket between
/// threads with a full memory barrier, which starting a thread is).
private final class SocketHandOver: @unchecked Sendable {
    let socket: Socket
    init(_ socket: Socket) { self.socket = socket }
}
