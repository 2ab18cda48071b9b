/// Everything `switchboard serve` can be told; the defaults are the contract's.
public struct EngineConfiguration: Sendable {
    public var tablesDirectory = "routing-tables"
    public var dataDirectory = ".switchboard"
    public var queryEndpoint = "tcp://127.0.0.1:5570"
    public var eventsEndpoint = "tcp://127.0.0.1:5571"
    public var replayEndpoint = "tcp://127.0.0.1:5572"
    public var controlEndpoint = "tcp://127.0.0.1:5573"
    /// Larger messages make libzmq drop the sender's connection; a call is far smaller.
    public var maximumMessageSize: Int64 = 64 * 1024
    /// Journal group commit: `fdatasync` at least this often while events arrive…
    public var syncInterval: Duration = .milliseconds(5)
    /// …or after this many events, whichever comes first.
    public var syncEvery = 256
    public var heartbeatInterval: Duration = .seconds(1)
    /// Events queued for publishing while a subscriber is full; beyond this the oldest are dropped
    /// (counted), and subscribers recover them by replay.
    public var maximumPendingEvents = 100_000
    /// Per-subscriber queue in libzmq.
    public var eventsHighWaterMark: Int32 = 100_000
    /// Most events one replay reply carries.
    public var maximumReplay = 10_000
    /// CURVE encryption and client authentication on every endpoint; nil serves plain text (loopback only).
    public var curve: Curve?

    public struct Curve: Sendable {
        /// The server's Z85 secret key; clients are given its public key.
        public var serverSecretKey: String
        /// Z85 public keys of the clients admitted by the ZAP handler.
        public var allowedClientKeys: [String]

        public init(serverSecretKey: String, allowedClientKeys: [String]) {
            self.serverSecretKey = serverSecretKey
            self.allowedClientKeys = allowedClientKeys
        }
    }

    public init() {}
}
