import Foundation
import Routing
import Wire

extension SIPDriver {
    /// One agent's softphone: where its `ctrl_tcp` listens, and its SIP identity.
    public struct Agent: Sendable, Hashable {
        public var id: String
        public var host: String
        public var port: UInt16
        /// The agent's SIP address of record, for logs and the operator (`sip:agent1@10.0.0.5:5060`).
        public var sip: String

        public init(id: String, host: String, port: UInt16, sip: String) {
            self.id = id
            self.host = host
            self.port = port
            self.sip = sip
        }
    }

    /// Where one table target is reached over SIP.
    public struct Target: Sendable, Hashable {
        /// The URI a transfer `via: cti` goes to.
        public var uri: String
        /// The URI a transfer `via: number` goes to (during a declared CTI incident); nil: none configured.
        public var numberURI: String?
        /// Whether a blind decision may be a true blind transfer (a REFER straight away). Only for a target
        /// that never refuses (a queue that never answers busy): baresip 1.0 hangs up the caller when a
        /// REFER fails. Otherwise a blind decision consults first, so a refusal leaves the caller with the agent.
        public var trueBlind: Bool

        public init(uri: String, numberURI: String? = nil, trueBlind: Bool = false) {
            self.uri = uri
            self.numberURI = numberURI
            self.trueBlind = trueBlind
        }
    }

    /// How long the driver waits, in seconds.
    public struct Timing: Sendable {
        /// A `ctrl_tcp` connection and a command's response.
        public var responseTimeout: Double = 5
        /// A consultation the specialist must answer before the caller is transferred (warm transfers).
        public var warmTimeout: Double = 30
        /// Warm only: how long the agent talks with the specialist (explaining the case) after the specialist
        /// answers and before the caller is transferred. 0: at once.
        public var warmBrief: Double = 0
        /// A consultation made only to learn whether a blind target accepts the call.
        public var consultTimeout: Double = 20
        /// A REFER's outcome (NOTIFY 200 and the agent's leg closed, or a failure).
        public var transferTimeout: Double = 30
        /// After a restart, how long a call still on the agent's phone is watched before concluding that an
        /// interrupted transfer did not go out (a REFER in flight finishes in well under a second).
        public var settleWait: Double = 3
        public var reconnectDelay: Double = 0.5
        public var reconnectCeiling: Double = 30

        public init() {}
    }

    public struct Configuration: Sendable {
        public var agents: [Agent] = []
        /// By table target id.
        public var targets: [String: Target] = [:]
        public var timing = Timing()
        /// Adds `;sbcall=<call id>` to the URI the caller is sent to, so the target's logs name the call.
        public var tagCalls = true

        public init() {}

        /// Reads a configuration file (JSON):
        ///
        /// ```json
        /// {"agents": [{"id": "agent1", "control": "127.0.0.1:4444", "sip": "sip:agent1@127.0.0.1:5062"}],
        ///  "targets": {"retention": {"uri": "sip:retention@10.0.0.9", "number_uri": "sip:88005550100@trunk",
        ///                            "true_blind": false}},
        ///  "timing": {"warm_timeout": 30, "warm_brief": 0, "consult_timeout": 20, "transfer_timeout": 30, "response_timeout": 5,
        ///             "settle_wait": 3, "reconnect_delay": 0.5, "reconnect_ceiling": 30},
        ///  "tag_calls": true}
        /// ```
        /// - Throws: ``ConfigurationError`` naming the file and the member at fault.
        public init(contentsOf path: String) throws(ConfigurationError) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(path: path, "cannot read the file")
            }
            let root: Value
            do {
                root = try JSONReader.parse(Array(data))
            } catch {
                throw ConfigurationError(path: path, "not JSON: \(error)")
            }
            try self.init(root, path: path)
        }

        init(_ root: Value, path: String) throws(ConfigurationError) {
            guard case .array(let agents)? = root["agents"], !agents.isEmpty else {
                throw ConfigurationError(path: path, "agents: expected a non-empty array of {id, control, sip}")
            }
            for (i, a) in agents.enumerated() {
                guard case .string(let id)? = a["id"], case .string(let control)? = a["control"], case .string(let sip)? = a["sip"] else {
                    throw ConfigurationError(path: path, "agents[\(i)]: expected strings id, control (host:port) and sip (the agent's SIP URI)")
                }
                guard let colon = control.lastIndex(of: ":"), let port = UInt16(control[control.index(after: colon)...]) else {
                    throw ConfigurationError(path: path, "agents[\(i)].control: expected host:port, got \(control)")
                }
                self.agents.append(Agent(id: id, host: String(control[..<colon]), port: port, sip: sip))
            }
            if case .object(let targets)? = root["targets"] {
                for member in targets {
                    let t = member.value
                    guard case .string(let uri)? = t["uri"], uri.hasPrefix("sip:") || uri.hasPrefix("sips:") else {
                        throw ConfigurationError(path: path, "targets.\(member.key).uri: expected a SIP URI")
                    }
                    var target = Target(uri: uri)
                    if let n = t["number_uri"] {
                        guard case .string(let number) = n, number.hasPrefix("sip:") || number.hasPrefix("sips:") else {
                            throw ConfigurationError(path: path, "targets.\(member.key).number_uri: expected a SIP URI")
                        }
                        target.numberURI = number
                    }
                    if let b = t["true_blind"] {
                        guard case .bool(let blind) = b else { throw ConfigurationError(path: path, "targets.\(member.key).true_blind: expected true or false") }
                        target.trueBlind = blind
                    }
                    self.targets[member.key] = target
                }
            } else if root["targets"] != nil {
                throw ConfigurationError(path: path, "targets: expected an object keyed by table target id")
            }
            if let timing = root["timing"] {
                func seconds(_ key: String, _ into: inout Double) throws(ConfigurationError) {
                    guard let v = timing[key] else { return }
                    guard case .number(let n) = v, n > 0 else { throw ConfigurationError(path: path, "timing.\(key): expected seconds (> 0)") }
                    into = n
                }
                try seconds("response_timeout", &self.timing.responseTimeout)
                try seconds("warm_timeout", &self.timing.warmTimeout)
                try seconds("consult_timeout", &self.timing.consultTimeout)
                if timing["warm_brief"] == .number(0) { self.timing.warmBrief = 0 } else { try seconds("warm_brief", &self.timing.warmBrief) }
                try seconds("transfer_timeout", &self.timing.transferTimeout)
                try seconds("settle_wait", &self.timing.settleWait)
                try seconds("reconnect_delay", &self.timing.reconnectDelay)
                try seconds("reconnect_ceiling", &self.timing.reconnectCeiling)
            }
            if let tag = root["tag_calls"] {
                guard case .bool(let b) = tag else { throw ConfigurationError(path: path, "tag_calls: expected true or false") }
                tagCalls = b
            }
        }
    }

    /// A configuration file that cannot be used, and why.
    public struct ConfigurationError: Error, CustomStringConvertible {
        public let path: String
        public let message: String
        init(path: String, _ message: String) {
            self.path = path
            self.message = message
        }
        public var description: String { "\(path): \(message)" }
    }
}
