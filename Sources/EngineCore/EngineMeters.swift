import Metrics
import Synchronization

/// The engine's counts, kept once: `health` reads them and `--metrics` exports the same counts.
///
/// Each count is a ``MeteredCount``: one call increments the value `health` reads and the swift-metrics
/// counter the Prometheus registry exports, so the two cannot drift apart (one process serves one engine).
/// Without a metrics backend bootstrapped (tests, `switchboard route`) the exported side is swift-metrics'
/// no-op and `health` still counts.
///
/// Safe from any thread: the socket thread, the core thread, the replay thread and a scrape may touch it at once.
public final class EngineMeters: Sendable {
    /// Query requests taken, answered or refused.
    public let queries = MeteredCount("switchboard_engine_queries_total")
    /// Decisions journalled and answered, by table, topic and action (`health.counters.decisions` is their sum).
    public let decisions = MeteredCounts("switchboard_engine_decisions_total", by: ["table", "topic", "action"])
    /// A key's first answer sent again (a retry).
    public let repeats = MeteredCount("switchboard_engine_repeats_total")
    /// Query and control requests answered with an error, by the contract's code.
    public let errors = MeteredCounts("switchboard_engine_errors_total", by: ["code"])
    public let reloads = MeteredCount("switchboard_engine_reloads_total")
    public let reloadsRejected = MeteredCount("switchboard_engine_reloads_rejected_total")
    /// Replay requests answered, and those answered with an error, by code.
    public let replays = MeteredCount("switchboard_engine_replays_total")
    public let replayErrors = MeteredCounts("switchboard_engine_replay_errors_total", by: ["code"])
    /// Replay replies libzmq could not queue (a requester gone or not reading).
    public let replaysNotSent = MeteredCount("switchboard_engine_replays_not_sent_total")
    /// Events handed to the events socket.
    public let published = MeteredCount("switchboard_engine_published_total")
    /// Query and control replies libzmq could not queue.
    public let repliesNotSent = MeteredCount("switchboard_engine_replies_not_sent_total")
    /// Queries answered `unavailable` unread because the engine's pipeline already held its capacity.
    public let overloaded = MeteredCount("switchboard_engine_overloaded_total")
    /// Queries the socket thread decided itself, the pipeline being empty (a share of `queries`).
    public let decidedInPlace = MeteredCount("switchboard_engine_queries_decided_in_place_total")
    /// Queries taken from the socket and not yet answered (waiting for, or in, the core thread).
    public let queriesInFlight = MeteredGauge("switchboard_engine_queries_in_flight")
    /// Times the events endpoint was closed and bound again for too many subscriptions.
    public let eventsEndpointResets = MeteredCount("switchboard_engine_events_endpoint_resets_total")
    /// Distinct subscription prefixes live on the events socket.
    public let subscriptions = MeteredGauge("switchboard_engine_subscriptions")
    /// The journal's last `seq`, set after each batch.
    public let journalSeq = MeteredGauge("switchboard_engine_journal_seq")
    /// A query, from the server taking it to its batch's replies sent (queueing and the journal write included).
    private let queryDuration = Timer(label: "switchboard_engine_query_duration_seconds")

    public init() {}

    /// Records a batch's duration once for each of its `queries` (each waited that long for its reply).
    public func recordBatch(queries: Int, duration: Duration) {
        let nanoseconds = Int64(duration / .nanoseconds(1))
        for _ in 0..<queries { queryDuration.recordNanoseconds(nanoseconds) }
    }
}

/// A monotonic count that `health` reads and swift-metrics exports, incremented by one call.
public final class MeteredCount: Sendable {
    private let value = Atomic<Int>(0)
    private let exported: Counter

    public init(_ label: String, dimensions: [(String, String)] = []) {
        exported = Counter(label: label, dimensions: dimensions)
    }

    public func increment(by amount: Int = 1) {
        _ = value.wrappingAdd(amount, ordering: .relaxed)
        exported.increment(by: Int64(amount))
    }

    public var count: Int { value.load(ordering: .relaxed) }
}

/// A value that goes up and down (a level, not a count), read by `health` and exported as a gauge.
public final class MeteredGauge: Sendable {
    private let value = Atomic<Int>(0)
    private let exported: Gauge

    public init(_ label: String) { exported = Gauge(label: label) }

    public func set(_ level: Int) {
        value.store(level, ordering: .relaxed)
        exported.record(Int64(level))
    }

    public var level: Int { value.load(ordering: .relaxed) }
}

/// Counts by label values (errors by code; decisions by table, topic and action), each a ``MeteredCount``
/// made on first use.
public final class MeteredCounts: Sendable {
    private let label: String
    private let dimensions: [String]
    private let counts = Mutex<[[String]: MeteredCount]>([:])

    public init(_ label: String, by dimensions: [String]) {
        self.label = label
        self.dimensions = dimensions
    }

    /// - Parameter values: one per dimension, in the order given at init.
    public func increment(_ values: String..., by amount: Int = 1) {
        precondition(values.count == dimensions.count, "\(label) takes \(dimensions.joined(separator: ", "))")
        let count = counts.withLock { c in
            if let existing = c[values] { return existing }
            let made = MeteredCount(label, dimensions: Array(zip(dimensions, values)))
            c[values] = made
            return made
        }
        count.increment(by: amount)
    }

    /// Each set of label values with its count, sorted by the values.
    public var snapshot: [(values: [String], count: Int)] {
        counts.withLock { c in c.map { ($0.key, $0.value.count) } }.sorted { $0.values.lexicographicallyPrecedes($1.values) }
    }

    public var total: Int { snapshot.reduce(0) { $0 + $1.count } }
}
