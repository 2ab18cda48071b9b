import EventFeed
import Foundation
import Logging
import Routing
import Wire
import ZeroMQ

/// Performs every transfer decision exactly once, and declares a CTI mass incident when transfers keep failing.
///
/// For each contiguous batch from the ``EventFeed``: every transfer not yet done is recorded as started
/// (durably), performed through the driver, and recorded as done. When `failuresForIncident` transfers
/// in a row fail, it tells the engine's control endpoint `{"cmd":"cti_incident","on":true}`, so decisions
/// switch to transfer by number, as the operator's instruction says to do during a CTI incident; after
/// `successesToClear` successes in a row it clears the incident.
public final class CTIAdapter {
    public struct Configuration: Sendable {
        public var controlEndpoint = "tcp://127.0.0.1:5573"
        public var failuresForIncident = 3
        public var successesToClear = 3
        public var curve: (serverKey: String, keys: CurveKeyPair)?

        public init() {}
    }

    public let configuration: Configuration
    private let driver: CTIDriver
    private let record: TransferRecord
    private let logger: Logger
    private var consecutiveFailures = 0
    private var consecutiveSuccesses = 0
    /// Whether this adapter has declared an incident it has not cleared yet.
    public private(set) var incidentDeclared = false
    private var control: (context: Context, socket: Socket)?

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
    public func handle(_ batch: [FeedEvent]) throws {
        for event in batch {
            guard let transfer = Transfer(event) else { continue }
            if record.unfinished[transfer.eventID] != nil {
                try settle(transfer)
                continue
            }
            guard event.seq > record.lastSeq else { continue }  // already handled before a restart
            try record.start(seq: transfer.seq, eventID: transfer.eventID)
            try perform(transfer)
        }
        if let last = batch.last { try record.seen(through: last.seq) }
    }

    private func perform(_ transfer: Transfer) throws {
        do {
            try driver.perform(transfer)
            try record.done(seq: transfer.seq, eventID: transfer.eventID, ok: true)
            logger.info("transferred", metadata: ["call_id": "\(SensitiveData.mask(transfer.callID))", "to": "\(transfer.target)",
                                                  "mode": "\(transfer.mode.rawValue)", "via": "\(transfer.via)", "seq": "\(transfer.seq)"])
            succeeded()
        } catch let failure as DriverFailure {
            try record.done(seq: transfer.seq, eventID: transfer.eventID, ok: false)
            logger.error("transfer failed: \(failure)", metadata: ["call_id": "\(SensitiveData.mask(transfer.callID))", "seq": "\(transfer.seq)"])
            failed()
        }
    }

    /// A transfer a crash interrupted between "start" and "done": performed now only if the driver knows it
    /// was not; never a second time.
    private func settle(_ transfer: Transfer) throws {
        switch driver.wasPerformed(eventID: transfer.eventID) {
        case true?:
            try record.done(seq: transfer.seq, eventID: transfer.eventID, ok: true)
        case false?:
            logger.notice("performing a transfer a restart interrupted", metadata: ["seq": "\(transfer.seq)"])
            try perform(transfer)
        case nil:
            logger.warning("a transfer was interrupted and the driver cannot tell whether it happened; it is not performed again",
                           metadata: ["seq": "\(transfer.seq)", "event_id": "\(transfer.eventID)"])
            try record.done(seq: transfer.seq, eventID: transfer.eventID, ok: false)
        }
    }

    private func succeeded() {
        consecutiveFailures = 0
        consecutiveSuccesses += 1
        if incidentDeclared && consecutiveSuccesses >= configuration.successesToClear {
            if tellEngine(incident: false) {
                incidentDeclared = false
                logger.notice("CTI incident cleared: \(consecutiveSuccesses) transfers in a row succeeded")
            }
        }
    }

    private func failed() {
        consecutiveSuccesses = 0
        consecutiveFailures += 1
        if !incidentDeclared && consecutiveFailures >= configuration.failuresForIncident {
            if tellEngine(incident: true) {
                incidentDeclared = true
                logger.critical("CTI mass incident declared: \(consecutiveFailures) transfers in a row failed; decisions now transfer by number")
            }
        }
    }

    /// Sends `cti_incident` to the engine's control endpoint.
    /// - Returns: whether the engine confirmed it.
    private func tellEngine(incident on: Bool) -> Bool {
        do {
            if control == nil {
                let context = try Context()
                let socket = try Socket(context, .dealer)
                try socket.set(.linger, Int32(0))
                try socket.set(.receiveTimeout, Int32(5000))
                if let curve = configuration.curve { try socket.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
                try socket.connect(configuration.controlEndpoint)
                control = (context, socket)
            }
            let socket = control!.socket
            try socket.send(multipart: [[], Array(#"{"cmd":"cti_incident","on":\#(on)}"#.utf8)])
            guard let reply = try socket.receiveMultipart(), let body = reply.last, try JSONReader.parse(body, limits: .trusted)["ok"] == .bool(true) else {
                control = nil  // a fresh connection next time
                logger.error("the engine did not confirm cti_incident \(on)")
                return false
            }
            return true
        } catch {
            control = nil
            logger.error("cannot reach the engine's control endpoint: \(error)")
            return false
        }
    }
}
