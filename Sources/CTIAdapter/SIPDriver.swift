import Foundation
import Logging
import Routing
import Wire

/// Transfers calls on the agents' baresip softphones (1.0), over their `ctrl_tcp` control sockets.
///
/// **Which agent holds the call**: the engine's `call_id` is the call's SIP Call-ID; the driver asks each
/// agent's softphone `callfind <call_id>` and acts on the one that has it. No change to the contract.
///
/// **Blind** to a target configured `true_blind` (a queue that never answers busy): `transfer <uri>`, a
/// REFER; it succeeds only when baresip reports the NOTIFY 200 by closing the agent's leg with
/// "Call transfered". Baresip 1.0 hangs up the caller when a REFER fails: such a caller is *lost*, logged
/// at critical level with the call's id and reported as refused.
///
/// **Consult first** (warm decisions, and blind decisions to any other target): `hold` the caller, `dial`
/// the target; when the target answers, `callfind` the caller and `transfer` it to the target (REFER),
/// then hang up the consultation. If the target answers busy (486), rejects, or does not answer within
/// the timeout (the driver hangs the consultation up), baresip takes the caller off hold: the caller stays
/// with the agent and the failure is reported. baresip 1.0 has no REFER with Replaces, so the caller
/// hears hold until the specialist answers, then is connected to the specialist by a new call; the
/// specialist briefly has two calls (the consultation, then the caller).
///
/// **Exactly once**: a transfer of a call that is on no agent's phone is refused (reported, never retried);
/// after a restart, ``wasPerformed(_:)`` asks the softphones whether the call is still there.
public final class SIPDriver: CTIDriver {
    public let configuration: Configuration
    private let phones: [Softphone]
    private let logger: Logger
    private let clock = ContinuousClock()

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        phones = configuration.agents.map { Softphone(agent: $0, timing: configuration.timing, logger: logger) }
    }

    public var hasReachedTelephony: Bool { phones.contains { $0.hasConnected } }

    public func perform(_ t: Transfer) throws(DriverFailure) {
        let uri = try destination(t)
        let phone = try locate(t.callID)
        let tagged = configuration.tagCalls ? Self.tag(uri, "sbcall", t.callID) : uri
        let trueBlind = t.mode == .blind && (configuration.targets[t.target]?.trueBlind ?? false)
        if trueBlind {
            try refer(t, on: phone, to: tagged, consultation: nil)
        } else {
            try consultThenTransfer(t, on: phone, to: tagged,
                                    timeout: t.mode == .warm ? configuration.timing.warmTimeout : configuration.timing.consultTimeout)
        }
    }

    /// The URI for the transfer's target and route.
    private func destination(_ t: Transfer) throws(DriverFailure) -> String {
        if let target = configuration.targets[t.target] {
            if t.via == .number {
                guard let number = target.numberURI else {
                    throw DriverFailure(.refused, "no number_uri configured for target \(t.target): cannot transfer by number")
                }
                return number
            }
            return target.uri
        }
        if t.address.hasPrefix("sip:") || t.address.hasPrefix("sips:") { return t.address }
        throw DriverFailure(.refused, "no SIP URI configured for target \(t.target) (address \(t.address))")
    }

    /// The softphone that has the call, selected on it (`callfind`).
    private func locate(_ callID: String) throws(DriverFailure) -> Softphone {
        var unreachable: [String] = []
        for phone in phones {
            do {
                try phone.connectIfNeeded()
            } catch {
                unreachable.append(error.description)
                continue
            }
            do {
                if try phone.select(callID: callID) { return phone }
            } catch {
                phone.disconnect()
                unreachable.append("\(phone.name): \(error)")
            }
        }
        if !unreachable.isEmpty {
            throw DriverFailure(.unreachable, "call \(callID) is on no reachable softphone; \(unreachable.joined(separator: "; "))")
        }
        throw DriverFailure(.refused, "call \(callID) is not on any agent's softphone (it ended or was already transferred); not transferred")
    }

    /// Sends the selected call a REFER and waits for its outcome. `consultation`: the consultation call to
    /// hang up afterwards.
    private func refer(_ t: Transfer, on phone: Softphone, to uri: String, consultation: String?) throws(DriverFailure) {
        defer { if let consultation { hangUp(consultation, on: phone) } }
        let response: (found: Bool, ok: Bool, data: String)
        do {
            response = try phone.command(on: t.callID, "transfer", uri)
        } catch {
            throw DriverFailure(.unknownOutcome, "\(phone.name): \(error) after the REFER of call \(t.callID) to \(uri) was sent")
        }
        guard response.found else {
            // It left the phone between the check and the REFER: the REFER went to the current call, if any.
            logger.critical("call \(t.callID) left \(phone.name) just before its REFER; baresip sent the REFER on the agent's current call, if it had one: check that agent's calls",
                            metadata: ["event_id": "\(t.eventID)", "agent": "\(phone.agent.id)"])
            throw DriverFailure(.unknownOutcome, "call \(t.callID) left \(phone.name) just before its REFER")
        }
        guard response.ok else {
            throw DriverFailure(.refused, "\(phone.name) refused to send the REFER of call \(t.callID): \(response.data)")
        }
        let deadline = clock.now + .milliseconds(Int64(configuration.timing.transferTimeout * 1000))
        while true {
            let event: Value?
            do {
                event = try phone.nextEvent(until: deadline)
            } catch {
                throw DriverFailure(.unknownOutcome, "\(phone.name): \(error) while the REFER of call \(t.callID) to \(uri) was under way")
            }
            guard let event else {
                throw DriverFailure(.unknownOutcome, "no outcome of the REFER of call \(t.callID) to \(uri) within \(configuration.timing.transferTimeout) s")
            }
            guard event["id"]?.text == t.callID else { continue }
            switch event["type"]?.text {
            case "CALL_CLOSED":
                let why = event["param"]?.text ?? ""
                if why.lowercased().contains("transfer") { return }  // NOTIFY 200, then the agent's BYE
                throw lost(t, on: phone, "the agent's leg closed during the transfer (\(why))")
            case "TRANSFER_FAILED":
                throw lost(t, on: phone, "the REFER to \(uri) failed (\(event["param"]?.text ?? "no reason"))")
            default:
                continue
            }
        }
    }

    /// A caller baresip hung up: said at once, with the call's id, so an operator can call back.
    private func lost(_ t: Transfer, on phone: Softphone, _ why: String) -> DriverFailure {
        logger.critical("caller lost: \(why); baresip 1.0 hangs up the caller when a blind transfer fails",
                        metadata: ["call_id": "\(t.callID)", "event_id": "\(t.eventID)", "agent": "\(phone.agent.id)", "target": "\(t.target)"])
        return DriverFailure(.refused, "caller of call \(t.callID) lost: \(why)")
    }

    private func consultThenTransfer(_ t: Transfer, on phone: Softphone, to uri: String, timeout: Double) throws(DriverFailure) {
        let plain = destinationWithoutTag(uri)
        let consultURI = configuration.tagCalls ? Self.tag(plain, "sbconsult", t.callID) : uri
        do {
            let hold = try phone.command(on: t.callID, "hold")
            guard hold.found else {
                // The hold went to the agent's current call, if any: take it back.
                _ = try? phone.command("resume")
                throw DriverFailure(.refused, "call \(t.callID) left \(phone.name) before the consultation; not transferred")
            }
            guard hold.ok else { throw DriverFailure(.refused, "\(phone.name) cannot hold call \(t.callID): \(hold.data)") }
            let dial = try phone.command("dial", consultURI)
            guard dial.ok else {
                resume(t.callID, on: phone)
                throw DriverFailure(.refused, "\(phone.name) cannot dial \(consultURI): \(dial.data)")
            }
        } catch let error as Softphone.Broken {
            throw DriverFailure(.refused, "\(phone.name): \(error) before the REFER of call \(t.callID); not transferred (the caller may be on hold)")
        } catch let error as DriverFailure {
            throw error
        } catch {
            throw DriverFailure(.refused, "\(error)")
        }
        // The consultation: the first outgoing call that is not the caller's.
        var consultation: String?
        let deadline = clock.now + .milliseconds(Int64(timeout * 1000))
        while true {
            let event: Value?
            do {
                event = try phone.nextEvent(until: deadline)
            } catch {
                throw DriverFailure(.refused, "\(phone.name): \(error) during the consultation for call \(t.callID); not transferred (the caller may be on hold)")
            }
            guard let event else {
                if let consultation { hangUp(consultation, on: phone) } else { hangUpCurrent(on: phone) }
                resume(t.callID, on: phone)
                throw DriverFailure(.refused, "no answer from \(t.target) (\(plain)) within \(timeout) s; the caller is back with the agent")
            }
            guard let id = event["id"]?.text else { continue }
            let type = event["type"]?.text ?? ""
            if id == t.callID {
                if type == "CALL_CLOSED" {
                    if let consultation { hangUp(consultation, on: phone) }
                    throw DriverFailure(.refused, "the caller of call \(t.callID) hung up during the consultation (\(event["param"]?.text ?? ""))")
                }
                continue
            }
            if consultation == nil, event["direction"]?.text == "outgoing" { consultation = id }
            guard id == consultation else { continue }
            switch type {
            case "CALL_ESTABLISHED":
                do {
                    guard try phone.select(callID: t.callID) else {
                        hangUp(id, on: phone)
                        throw DriverFailure(.refused, "call \(t.callID) left \(phone.name) during the consultation; not transferred")
                    }
                } catch let error as Softphone.Broken {
                    throw DriverFailure(.refused, "\(phone.name): \(error) after the consultation answered; not transferred")
                } catch let error as DriverFailure {
                    throw error
                } catch {
                    throw DriverFailure(.refused, "\(error)")
                }
                if t.mode == .warm && configuration.timing.warmBrief > 0 {
                    try brief(t, on: phone, consultation: id, plain: plain)
                }
                try refer(t, on: phone, to: uri, consultation: id)
                return
            case "CALL_CLOSED":
                // baresip takes the held caller off hold by itself.
                let why = event["param"]?.text ?? "closed"
                let busy = why.contains("486") || why.lowercased().contains("busy")
                throw DriverFailure(.refused, busy ? "\(t.target) (\(plain)) is busy (486); the caller stays with the agent"
                                                   : "\(t.target) (\(plain)) refused the consultation: \(why); the caller stays with the agent")
            default:
                continue
            }
        }
    }

    /// The agent explains the case to the specialist for `warm_brief` seconds; a side hanging up meanwhile
    /// ends the transfer (the caller is taken off hold if the specialist hung up).
    private func brief(_ t: Transfer, on phone: Softphone, consultation: String, plain: String) throws(DriverFailure) {
        let until = clock.now + .milliseconds(Int64(configuration.timing.warmBrief * 1000))
        while true {
            let event: Value?
            do {
                event = try phone.nextEvent(until: until)
            } catch {
                throw DriverFailure(.refused, "\(phone.name): \(error) while the agent briefed \(t.target); not transferred (the caller may be on hold)")
            }
            guard let event else { return }
            guard event["type"]?.text == "CALL_CLOSED" else { continue }
            if event["id"]?.text == consultation {
                resume(t.callID, on: phone)
                throw DriverFailure(.refused, "\(t.target) (\(plain)) hung up during the briefing; the caller is back with the agent")
            }
            if event["id"]?.text == t.callID {
                hangUp(consultation, on: phone)
                throw DriverFailure(.refused, "the caller of call \(t.callID) hung up while the agent briefed \(t.target)")
            }
        }
    }

    private func destinationWithoutTag(_ uri: String) -> String {
        guard let r = uri.range(of: ";sbcall=") else { return uri }
        return String(uri[..<r.lowerBound])
    }

    private func hangUp(_ callID: String, on phone: Softphone) {
        guard (try? phone.select(callID: callID)) == true else { return }
        _ = try? phone.command(on: callID, "hangup")
    }

    /// The consultation before its first event: the current call, if it is not the caller's.
    private func hangUpCurrent(on phone: Softphone) {
        _ = try? phone.command("hangup")
    }

    private func resume(_ callID: String, on phone: Softphone) {
        guard (try? phone.select(callID: callID)) == true else { return }
        _ = try? phone.command(on: callID, "resume")
    }

    /// `uri` with `;name=value` added (before any `?headers`), the value percent-encoded.
    static func tag(_ uri: String, _ name: String, _ value: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.!~*'()"))
        let encoded = value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
        if let q = uri.firstIndex(of: "?") {
            return String(uri[..<q]) + ";\(name)=\(encoded)" + String(uri[q...])
        }
        return uri + ";\(name)=\(encoded)"
    }

    /// Settled by fact: a call still on an agent's phone after `settle_wait` was not transferred; a call on
    /// no phone left it (transferred, or the caller hung up): either way it is not transferred again.
    /// Unknown only if the softphones stay unreachable for all of `settle_wait`: a restarted adapter's first
    /// attempt can fail while a softphone still tears down the dead adapter's connection or is busy with
    /// many calls, and giving up at once left a caller untransferred (seen under load in the kill -9 bed).
    public func wasPerformed(_ t: Transfer) -> Bool? {
        let until = clock.now + .milliseconds(Int64(configuration.timing.settleWait * 1000))
        while true {
            do {
                _ = try locate(t.callID)
                if clock.now >= until { return false }
            } catch {
                if error.kind == .refused { return true }
                if clock.now >= until {
                    logger.warning("cannot settle call \(t.callID): the softphones stayed unreachable for settle_wait: \(error)")
                    return nil
                }
            }
            usleep(200_000)
        }
    }
}

// A SIPDriver's softphones belong to the adapter's thread.
@available(*, unavailable) extension SIPDriver: Sendable {}
