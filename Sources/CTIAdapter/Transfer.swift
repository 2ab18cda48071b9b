import EventFeed
import Routing

/// A transfer decision as the CTI panel must carry it out.
public struct Transfer: Sendable, Hashable {
    public let seq: UInt64
    public let eventID: String
    public let callID: String
    public let target: String
    public let address: String
    /// `cti`, or `number` during a declared CTI mass incident.
    public let via: String
    public let mode: TransferMode

    /// The transfer an event asks for; nil for decisions that are not transfers.
    public init?(_ event: FeedEvent) {
        let d = event.value["decision"]
        guard d?["action"] == .string("transfer"), let t = d?["target"], case .string(let target)? = t["id"],
              case .string(let address)? = t["address"], case .string(let modeText)? = t["mode"],
              let mode = TransferMode(rawValue: modeText), case .string(let callID)? = event.value["call_id"] else { return nil }
        self.seq = event.seq
        self.eventID = event.eventID
        self.callID = callID
        self.target = target
        self.address = address
        self.via = t["via"]?.text ?? "cti"
        self.mode = mode
    }

    public init(seq: UInt64, eventID: String, callID: String, target: String, address: String, via: String, mode: TransferMode) {
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

/// Carries out transfers on the telephony side.
public protocol CTIDriver: AnyObject {
    /// Performs the transfer; returns when the telephony side has confirmed it.
    /// - Throws: ``DriverFailure`` when it was refused or could not be done.
    func perform(_ transfer: Transfer) throws(DriverFailure)

    /// Whether the driver knows it already performed this event's transfer (a crash may have come between
    /// performing and recording it): true performed, false not, nil unknown.
    func wasPerformed(eventID: String) -> Bool?
}

public struct DriverFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
