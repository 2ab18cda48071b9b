import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

/// Metrics and logs the same way in every process: swift-metrics recorded into one Prometheus registry,
/// served as text on `--metrics HOST:PORT` with `/healthz` and `/readyz`.
public enum Telemetry {
    /// The registry every process's metrics go to.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped = Mutex(false)

    /// Routes swift-metrics into ``registry``; once per process (later calls do nothing).
    public static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// What each metric means, written as `# HELP` before its `# TYPE` line (promtool wants one for every metric).
    static let help: [String: String] = [
        "switchboard_engine_queries_total": "Query requests the engine took (health: counters.queries).",
        "switchboard_engine_decisions_total": "Decisions journalled by the engine, by table, topic and action (health: counters.decisions is their sum).",
        "switchboard_engine_repeats_total": "Idempotency keys' first answers sent again (health: counters.repeats).",
        "switchboard_engine_errors_total": "Query and control requests the engine answered with an error, by the contract's code (health: counters.errors).",
        "switchboard_engine_reloads_total": "Table reloads installed (health: counters.reloads).",
        "switchboard_engine_reloads_rejected_total": "Table reloads refused (health: counters.reloads_rejected).",
        "switchboard_engine_replays_total": "Replay requests answered (health: counters.replays).",
        "switchboard_engine_replay_errors_total": "Replay requests answered with an error, by code (health: counters.replay_errors).",
        "switchboard_engine_replays_not_sent_total": "Replay replies that could not be queued (health: counters.replays_not_sent).",
        "switchboard_engine_published_total": "Events handed to the events socket (health: counters.published).",
        "switchboard_engine_replies_not_sent_total": "Query and control replies that could not be queued (health: counters.replies_not_sent).",
        "switchboard_engine_events_endpoint_resets_total": "Times the events endpoint was reset for too many subscriptions (health: counters.events_endpoint_resets).",
        "switchboard_engine_subscriptions": "Distinct subscription prefixes on the events socket (health: counters.subscriptions).",
        "switchboard_engine_query_duration_seconds": "Time from a query batch's hand-over to its replies being sent (journal sync included), per query.",
        "switchboard_engine_journal_seq": "The engine journal's last seq (health: journal.seq).",
        "switchboard_engine_journal_synced_seq": "The last seq known to be on disk (health: journal.synced_seq).",
        "switchboard_engine_journal_fsync_duration_seconds": "Each group sync of the journal (and the idempotency keys before it): the fdatasync calls together.",
        "switchboard_subscriber_seq": "The last seq a subscriber (recorder, cti, gateway) has handled.",
        "switchboard_subscriber_lag_events": "Events a subscriber is behind the journal's head as it last saw it (live events and heartbeats).",
        "switchboard_gateway_decisions_total": "Decisions the gateway relayed, by table, topic and action.",
        "switchboard_gateway_errors_total": "Gateway requests answered with an error, by code.",
        "switchboard_gateway_query_duration_seconds": "Gateway decide/outcome/key requests, from arrival to the engine's reply (Lazy Pirate retries included).",
        "switchboard_gateway_stream_seq": "The last engine seq the gateway's agent streams have.",
        "switchboard_recorder_rows": "Comments stored by the recorder.",
        "switchboard_recorder_last_seq": "The last seq the recorder has stored.",
        "switchboard_cti_transfers_total": "Transfers the CTI adapter asked its driver for, by result (ok, refused, unreachable, unknown).",
        "switchboard_cti_incident": "1 while the CTI adapter has declared a CTI mass incident, else 0.",
    ]

    /// The registry's text (Prometheus exposition format 0.0.4), each metric with its `# HELP`.
    public static func text() -> [UInt8] {
        let raw = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        var out = ""
        out.reserveCapacity(raw.utf8.count + 2048)
        for line in raw.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).split(separator: " ").first.map(String.init) ?? ""
                out += "# HELP \(name) \(help[name] ?? name.replacingOccurrences(of: "_", with: " ") + ".")\n"
            }
            out += line
            out += "\n"
        }
        if out.hasSuffix("\n\n") { out.removeLast() }
        return Array(out.utf8)
    }
}

/// Whether a process is ready for traffic (`/readyz`): set once its sockets are bound and it has caught up.
public final class Readiness: Sendable {
    private let ready = Atomic<Bool>(false)
    private let reason = Mutex("starting")

    public init() {}

    public func markReady() { ready.store(true, ordering: .releasing) }

    public func markNotReady(_ why: String) {
        reason.withLock { $0 = why }
        ready.store(false, ordering: .releasing)
    }

    public var isReady: Bool { ready.load(ordering: .acquiring) }
    public var whyNot: String { reason.withLock { $0 } }
}

/// `--metrics HOST:PORT`: `GET /metrics` (Prometheus text), `GET /healthz` (200 while the process runs),
/// `GET /readyz` (200 once ready, else 503 with the reason).
public struct MetricsServer: Service {
    public let host: String
    public let port: Int
    public let readiness: Readiness
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    /// - Parameter address: `HOST:PORT`; port 0 picks a free one, reported to `onBound` (and logged).
    public init(address: String, readiness: Readiness, logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            throw TelemetryError("--metrics must be HOST:PORT, like 127.0.0.1:9464 (got \"\(address)\")")
        }
        host = String(address[..<colon])
        self.port = port
        self.readiness = readiness
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let router = Router()
        Self.addRoutes(to: router, readiness: readiness)
        let logger = self.logger, onBound = self.onBound
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "switchboard-metrics"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("metrics on http://\(channel.localAddress?.ipAddress ?? "?"):\(port)/metrics")
                onBound(port)
            },
            logger: logger
        )
        // The process's ServiceGroup owns SIGTERM/SIGINT and shuts this down in order; an app catching them
        // itself would finish before its turn, which the group reports as "finished unexpectedly" (exit 1).
        try await app.runService(gracefulShutdownSignals: [])
    }

    /// `/metrics`, `/healthz` and `/readyz` on any router (the gateway serves them on its own port too).
    public static func addRoutes<Context: RequestContext>(to router: Router<Context>, readiness: Readiness) {
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: Telemetry.text())))
        }
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"ok\":true}")))
        }
        router.get("/readyz") { _, _ -> Response in
            let ready = readiness.isReady
            let body = ready ? "{\"ready\":true}" : "{\"ready\":false,\"reason\":\(jsonString(readiness.whyNot))}"
            return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                             body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }
}

public struct TelemetryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `--log-format json`: one JSON object a line on stderr, `{"ts", "level", "label", "msg", "source", …metadata}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var all = metadata
        if let extra { all.merge(extra) { _, new in new } }
        let ts = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        var text = "{\"ts\":\(jsonString(ts)),\"level\":\(jsonString(level.rawValue)),\"label\":\(jsonString(label)),\"msg\":\(jsonString(message.description))"
        text += ",\"source\":\(jsonString(source))"
        for (k, v) in all.sorted(by: { $0.key < $1.key }) where !["ts", "level", "label", "msg", "source"].contains(k) {
            text += ",\(jsonString(k)):\(jsonString(v.description))"
        }
        text += "}\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
