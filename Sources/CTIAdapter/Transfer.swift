import EventFeed
import Routing
import Wire

/// A transfer decision as the CTI panel must carry it out.
public struct Transfer: Sendable, Hashable {
    public let seq: UInt64
    public let eventID: String
    public let callID: String
    public let target: String
    public let address: String
    /// `cti`, or `number` during a declared CTI mass incident.
    public let via: Decision.Via
    public let mode: TransferMode

    /// The transfer an event asks for; nil for decisions that are not transfers.
    public init?(_ event: FeedEvent) {
        let e = event.event
        guard e.decision.action == .transfer, let t = e.decision.target else { return nil }
        self.init(seq: e.seq, eventID: e.eventID, callID: e.callID, target: t.id, address: t.address, via: t.via, mode: t.mode)
    }

    public init(seq: UInt64, eventID: String, callID: String, target: String, address: String, via: Decision.Via, mode: TransferMode) {
        self.seq = seq
        self.eventID = eventID
        self.callID = callID
        self.target = target
        self.address = address
        self.via = via
        self.mode = mode
    }

    /// The CSTA steps: a blind transfer is one SingleStepTransferCall; a warm one a ConsultationCall,
    /// waiting for the specialist to answer, then TransferCall.
    public var cstaSteps: [String] {
        mode == .blind ? ["SingleStepTransferCall"] : ["ConsultationCall", "TransferCall"]
    }
}

/// Carries out transfers on the telephony side. Used by one thread: the adapter's.
public protocol CTIDriver: AnyObject {
    /// Performs the transfer; returns when the telephony side has confirmed it.
    /// - Throws: ``DriverFailure``: refused (not done), unreachable (nothing was sent), or an unknown
    ///   outcome (something was sent and no answer came: it may have happened, so it is never sent again).
    func perform(_ transfer: Transfer) throws(DriverFailure)

    /// Whether the driver knows it already performed this transfer (a crash may have come between performing
    /// and recording it): true performed, false not, nil unknown. The log driver reads its file by event id;
    /// the sip driver asks the softphones whether the call is still on the agent's phone.
    ///
    /// One requirement, with no default, so a driver wrapping another must forward exactly this question (a
    /// default once let the metering wrapper answer "unknown" for the sip driver, leaving callers untransferred).
    func wasPerformed(_ transfer: Transfer) -> Bool?

    /// Whether the driver has reached its telephony at least once since it started. One that never has is
    /// more likely misconfigured than facing an outage, so its failures do not declare a mass incident.
    var hasReachedTelephony: Bool { get }
}

extension CTIDriver {
    public var hasReachedTelephony: Bool { true }
}

/// Why a transfer did not go through, and whether it may have.
public struct DriverFailure: Error, Sendable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public var description: String { name }

        /// The telephony answered no: the call was not transferred.
        public static let refused = Kind(name: "refused")
        /// The telephony could not be reached; nothing was sent.
        public static let unreachable = Kind(name: "unreachable")
        /// The request was sent (or may have been) and no answer came: the call may or may not have been
        /// transferred. Never retried; an operator checks.
        public static let unknownOutcome = Kind(name: "unknown")
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
