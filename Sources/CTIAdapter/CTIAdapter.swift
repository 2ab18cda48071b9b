import EventFeed
import Foundation
import Logging
import Routing
import Storage
import Wire
import ZeroMQ

/// Performs every transfer decision exactly once, and declares a CTI mass incident when transfers keep failing.
///
/// For each contiguous batch from the ``EventFeed``: every transfer not yet done is recorded as started
/// (durably), performed through the driver, and recorded as done. When `failuresForIncident` transfers
/// in a row fail, it tells the engine's control endpoint `{"cmd":"cti_incident","on":true}`, so decisions
/// switch to transfer by number, as the operator's instruction says to do during a CTI incident; after
/// `successesToClear` successes in a row it clears the incident.
///
/// What does *not* count toward an incident: a storage error of the transfer record (the adapter stops
/// performing transfers and retries its storage with backoff until it can record again: nothing is lost,
/// nothing doubled), and the failures of a driver that has never reached its telephony since start-up
/// (more likely a wrong host or secret than an outage). A transfer whose outcome the driver cannot know
/// (sent, then silence) is recorded `unknown`, counted as a failure and never sent again.
///
/// Belongs to one thread: the one that calls ``handle(_:)``.
public final class CTIAdapter {
    public struct Configuration: Sendable {
        /// Every engine's control endpoint: a declaration the first one does not confirm goes to the next
        /// (engines sharing a PostgreSQL store share the incident, so any one of them is enough).
        public var controlEndpoints = [Endpoints.default.control]
        public var failuresForIncident = 3
        public var successesToClear = 3
        /// The operator's credentials for the control endpoint (`DATA/operator.key`); nil talks plain text,
        /// which only an engine before contract 1.1 accepts.
        public var operatorCredentials: OperatorCredentials?
        /// The first wait before retrying the transfer record after a storage error; it doubles up to the ceiling.
        public var storageRetryDelay: Duration = .milliseconds(100)
        public var storageRetryCeiling: Duration = .seconds(30)
        /// The least time between two attempts to tell the engine about an incident.
        public var controlRetryInterval: Duration = .seconds(5)

        public init() {}

        /// The first control endpoint; setting it makes it the only one.
        public var controlEndpoint: String {
            get { controlEndpoints[0] }
            set { controlEndpoints = [newValue] }
        }
    }

    /// Why the adapter is stopping in the middle of a batch (a shutdown while its storage was failing).
    public struct Stopped: Error, CustomStringConvertible {
        public var description: String { "stopped while the transfer record could not be written" }
    }

    public let configuration: Configuration
    private let driver: CTIDriver
    private let record: TransferRecord
    private let logger: Logger
    /// Read between storage retries: a shutdown does not wait for the storage to come back.
    public var isStopping: @Sendable () -> Bool = { false }
    /// Where each result goes once recorded as done (`--results`); nil publishes nothing.
    public var results: ResultPublisher?
    private let clock = ContinuousClock()

    private var consecutiveFailures = 0
    private var consecutiveSuccesses = 0
    /// Whether this adapter has declared an incident it has not cleared yet.
    public private(set) var incidentDeclared = false
    private var control: (context: Context, socket: Socket)?
    /// Which of the control endpoints to try next; moves on after each refusal or silence.
    private var controlIndex = 0
    private var nextControlAttempt: ContinuousClock.Instant?

    /// The storage error in force, while the transfer record cannot be written.
    public private(set) var storageFailure: StorageError?
    /// The kind of the failures in a row, while transfers fail; logged once when it starts.
    private var failing: DriverFailure.Kind?
    private var failedInARow = 0
    private var warnedUnreachableAtStart = false

    public init(configuration: Configuration, driver: CTIDriver, record: TransferRecord, logger: Logger) {
        self.configuration = configuration
        self.driver = driver
        self.record = record
        self.logger = logger
    }

    /// The `seq` to resume after: before the earliest transfer a crash interrupted, so the replay brings it back.
    public var resumeAfter: UInt64 {
        record.unfinished.values.min().map { $0 - 1 } ?? record.lastSeq
    }

    /// Handles a contiguous batch of decisions.
    /// - Throws: ``Stopped`` when a shutdown comes while the record cannot be written; the batch is then
    ///   handled again after a restart, from the record.
    public func handle(_ batch: [FeedEvent]) throws {
        for event in batch {
            guard let transfer = Transfer(event) else { continue }
            if record.unfinished[transfer.eventID] != nil {
                try settle(transfer)
                continue
            }
            guard event.seq > record.lastSeq else { continue }  // already handled before a restart
            try durably { () throws(StorageError) in try record.start(seq: transfer.seq, eventID: transfer.eventID) }
            try perform(transfer)
        }
        if let last = batch.last { try durably { () throws(StorageError) in try record.seen(through: last.seq) } }
    }

    /// Runs a write of the transfer record until it succeeds, waiting between attempts (doubling, with a
    /// ceiling), and says once when the storage fails and once when it is back.
    private func durably(_ write: () throws(StorageError) -> Void) throws {
        var delay = configuration.storageRetryDelay
        while true {
            do {
                try write()
                if let failure = storageFailure {
                    storageFailure = nil
                    logger.notice("the transfer record can be written again; performing transfers", metadata: ["was": "\(failure)"])
                }
                return
            } catch {
                if storageFailure?.code != error.code || storageFailure?.errno != error.errno {
                    logger.critical("cannot write the transfer record: \(error); no transfer is performed until it can be, retrying")
                }
                storageFailure = error
            }
            let until = clock.now + delay
            while clock.now < until {
                if isStopping() { throw Stopped() }
                let nap = min(.milliseconds(50), until - clock.now).components
                usleep(UInt32(max(0, nap.seconds * 1_000_000 + nap.attoseconds / 1_000_000_000_000)))
            }
            delay = min(delay * 2, configuration.storageRetryCeiling)
        }
    }

    private func perform(_ transfer: Transfer) throws {
        var failure: DriverFailure?
        do {
            try driver.perform(transfer)
        } catch {
            failure = error
        }
        let outcome: TransferRecord.Outcome = failure == nil ? .ok : failure!.kind == .unknownOutcome ? .unknown : .failed
        try recordDone(transfer, outcome)
        let call = SensitiveData.mask(transfer.callID)
        guard let failure else {
            logger.info("transferred", metadata: ["call_id": "\(call)", "to": "\(transfer.target)", "mode": "\(transfer.mode.rawValue)",
                                                  "via": "\(transfer.via.rawValue)", "seq": "\(transfer.seq)"])
            succeeded()
            return
        }
        if failure.kind == .unknownOutcome {
            // Each one is a call an operator may have to check: always said, with its event.
            logger.warning("transfer outcome unknown, not sent again: \(failure)",
                           metadata: ["call_id": "\(call)", "seq": "\(transfer.seq)", "event_id": "\(transfer.eventID)"])
        }
        if failure.kind == .unreachable && !driver.hasReachedTelephony {
            if !warnedUnreachableAtStart {
                warnedUnreachableAtStart = true
                logger.critical("the telephony has not been reachable since start-up: \(failure); transfers fail, and no CTI incident is declared for a driver that never connected (check its host, port and secret)")
            }
            return
        }
        failed(failure, call: call, seq: transfer.seq)
    }

    /// A transfer a crash interrupted between "start" and "done": performed now only if the driver knows it
    /// was not; never a second time.
    private func settle(_ transfer: Transfer) throws {
        // Each way names the call, the seq and the event id: the line is what explains a caller that was
        // never (or twice) transferred after a crash.
        let which: Logger.Metadata = ["seq": "\(transfer.seq)", "event_id": "\(transfer.eventID)", "call_id": "\(transfer.callID)"]
        switch driver.wasPerformed(transfer) {
        case true?:
            logger.notice("a transfer a restart interrupted had happened (the call is no longer on the agent's side); recorded as done", metadata: which)
            try recordDone(transfer, .ok)
        case false?:
            logger.notice("performing a transfer a restart interrupted", metadata: which)
            try perform(transfer)
        case nil:
            logger.warning("a transfer was interrupted and the driver cannot tell whether it happened; it is not performed again", metadata: which)
            try recordDone(transfer, .unknown)
        }
    }

    /// Records the outcome, then publishes it. (A crash before the record is synced leaves the transfer to be
    /// settled after the restart, which publishes its result again at the same position.)
    private func recordDone(_ transfer: Transfer, _ outcome: TransferRecord.Outcome) throws {
        try durably { () throws(StorageError) in try record.done(seq: transfer.seq, eventID: transfer.eventID, outcome: outcome) }
        results?.publish(TransferResult(position: UInt64(record.doneCount), seq: transfer.seq, eventID: transfer.eventID, callID: transfer.callID,
                                        target: transfer.target, outcome: TransferResult.Outcome(rawValue: outcome.rawValue)!))
    }

    private func succeeded() {
        if failing != nil {
            logger.notice("transfers succeed again after \(failedInARow) failed")
            failing = nil
            failedInARow = 0
        }
        consecutiveFailures = 0
        consecutiveSuccesses += 1
        if incidentDeclared && consecutiveSuccesses >= configuration.successesToClear {
            if tellEngine(incident: false) {
                incidentDeclared = false
                logger.notice("CTI incident cleared: \(consecutiveSuccesses) transfers in a row succeeded")
            }
        }
    }

    private func failed(_ failure: DriverFailure, call: String, seq: UInt64) {
        failedInARow += 1
        if failing != failure.kind {
            // Once per change of state, not once per call: an outage at 1000 calls a second is one line.
            logger.error("transfers are failing (\(failure.kind)): \(failure); each is recorded, further ones are not logged until this changes",
                         metadata: ["call_id": "\(call)", "seq": "\(seq)"])
            failing = failure.kind
        } else {
            logger.debug("transfer failed: \(failure)", metadata: ["call_id": "\(call)", "seq": "\(seq)"])
        }
        consecutiveSuccesses = 0
        consecutiveFailures += 1
        if !incidentDeclared && consecutiveFailures >= configuration.failuresForIncident {
            if tellEngine(incident: true) {
                incidentDeclared = true
                logger.critical("CTI mass incident declared: \(consecutiveFailures) transfers in a row failed; decisions now transfer by number")
            }
        }
    }

    /// Sends `cti_incident` to the engine's control endpoint, as an operator; at most once per
    /// `controlRetryInterval` while the engine does not confirm.
    /// - Returns: whether the engine confirmed it.
    private func tellEngine(incident on: Bool) -> Bool {
        if let next = nextControlAttempt, clock.now < next { return false }
        do {
            if control == nil {
                let context = try Context()
                let socket = try Socket(context, .dealer)
                try socket.set(.linger, Int32(0))
                try socket.set(.receiveTimeout, Int32(5000))
                if let credentials = configuration.operatorCredentials { try socket.makeOperatorClient(credentials) }
                try socket.connect(configuration.controlEndpoints[controlIndex % configuration.controlEndpoints.count])
                control = (context, socket)
            }
            let socket = control!.socket
            try socket.send(multipart: [[], Array(#"{"cmd":"cti_incident","on":\#(on)}"#.utf8)])
            guard let reply = try socket.receiveMultipart(), let body = reply.last else {
                return refused("the engine did not answer cti_incident \(on) within 5 s")
            }
            let answer = try JSONReader.parse(body, limits: .trusted)
            guard answer["ok"] == .bool(true) else {
                return refused("the engine refused cti_incident \(on): \(answer["error"]?["message"]?.text ?? "no reason given")")
            }
            nextControlAttempt = nil
            return true
        } catch {
            return refused("cannot reach the engine's control endpoint: \(error)")
        }
    }

    private func refused(_ why: String) -> Bool {
        control = nil  // a fresh connection next time, to the next engine
        controlIndex += 1
        let first = nextControlAttempt == nil
        nextControlAttempt = clock.now + configuration.controlRetryInterval
        if first { logger.error("\(why); retrying every \(configuration.controlRetryInterval)") }
        return false
    }
}

// A CTIAdapter belongs to the thread that handles batches: not Sendable.
@available(*, unavailable) extension CTIAdapter: Sendable {}
