/// Where the engine's four ZeroMQ endpoints are: the contract's defaults, or a deployment's own.
///
/// One value for every client and server, so the defaults are written once:
///
/// ```swift
/// try socket.connect(Endpoints.default.control)  // tcp://127.0.0.1:5573
/// ```
public struct Endpoints: Sendable, Hashable {
    /// ROUTER: queries in, one reply each.
    public var query: String
    /// PUB: every decision (topic `decision.<action>.<id>`) and a heartbeat.
    public var events: String
    /// ROUTER: journalled events from a `seq` on.
    public var replay: String
    /// ROUTER: `reload`, `cti_incident`, `health`; operators only.
    public var control: String

    public init(query: String, events: String, replay: String, control: String) {
        self.query = query
        self.events = events
        self.replay = replay
        self.control = control
    }

    /// The contract's defaults: `tcp://127.0.0.1:5570` to `:5573`.
    public static let `default` = Endpoints(
        query: "tcp://127.0.0.1:5570",
        events: "tcp://127.0.0.1:5571",
        replay: "tcp://127.0.0.1:5572",
        control: "tcp://127.0.0.1:5573"
    )
}

extension Endpoints {
    /// The endpoints of several engines as a command line gives them: a repeated option, a comma list, or both.
    ///
    /// ```swift
    /// Endpoints.list(["tcp://10.0.0.1:5570,tcp://10.0.0.2:5570", "tcp://10.0.0.3:5570"])  // three endpoints
    /// ```
    /// Blanks around commas are ignored, and so is an endpoint given twice (it would only be asked twice).
    public static func list(_ values: [String]) -> [String] {
        var out: [String] = []
        for value in values {
            for part in value.split(separator: ",") {
                let endpoint = String(part.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
                if !endpoint.isEmpty && !out.contains(endpoint) { out.append(endpoint) }
            }
        }
        return out
    }
}
