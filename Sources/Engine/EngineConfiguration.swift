import EngineCore
import Wire

/// Everything `switchboard serve` can be told; the defaults are the contract's.
public struct EngineConfiguration: Sendable {
    public var tablesDirectory = "routing-tables"
    public var dataDirectory = ".switchboard"
    /// A PostgreSQL URL (or libpq keyword string) for the journal, keys, sessions and operations state,
    /// shared with every engine given the same; nil keeps them in ``dataDirectory``.
    public var store: String?
    public var queryEndpoint = Endpoints.default.query
    public var eventsEndpoint = Endpoints.default.events
    public var replayEndpoint = Endpoints.default.replay
    public var controlEndpoint = Endpoints.default.control
    /// Larger messages make libzmq drop the sender's connection; a call is far smaller.
    public var maximumMessageSize: Int64 = 64 * 1024
    /// Journal group commit: `fdatasync` at least this often while events arrive…
    public var syncInterval: Duration = .milliseconds(5)
    /// …or after this many events, whichever comes first.
    public var syncEvery = 256
    public var heartbeatInterval: Duration = .seconds(1)
    /// Events libzmq queues for one subscriber; a subscriber that falls further behind misses the rest of
    /// the live stream (the others do not notice) and catches up by replay when it sees the gap.
    public var eventsHighWaterMark: Int32 = 10_000
    /// The longest subscription prefix accepted (a longer one drops its sender's connection, unstored)…
    public var maximumSubscriptionSize = 256
    /// …and the most distinct prefixes; past it the events socket is reset (see ``Engine``).
    public var maximumSubscriptions = 10_000
    /// Replies libzmq queues for one query client that does not read them; past it a reply cannot be
    /// sent, which is counted and logged (`ROUTER_MANDATORY`), never silent.
    public var replyHighWaterMark: Int32 = 100_000
    /// Queries waiting for, or in, the core thread; one more is answered `unavailable` (counted as
    /// `overloaded`) instead of waiting. About 3 MB of queries, and half a second of work at the
    /// engine's pace on these machines: a client waits longer than that only in a failure.
    public var queryQueueCapacity = 10_000
    /// Idempotency keys are answered again for this long (contract 1.1: 24 hours by default)…
    public var idempotencyRetention: Duration = .seconds(24 * 3600)
    /// …and at most this many are kept; beyond it the oldest are forgotten early (counted in health).
    public var idempotencyCapacity = IdempotencyKeys.defaultCapacity
    /// Replay bounds, at most one reload per interval.
    public var core = EngineCore.Configuration()
    /// CURVE encryption and client authentication on the query, events and replay endpoints; nil serves
    /// them in plain text (loopback only). The control endpoint is always CURVE (see ``operatorKeys``).
    public var curve: Curve?
    /// Z85 public keys admitted on the control endpoint, besides the one in `DATA/operator.key`.
    public var operatorKeys: [String] = []

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
