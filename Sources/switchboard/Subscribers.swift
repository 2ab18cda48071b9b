import ArgumentParser
import EventFeed
import Foundation
import Logging
import Recorder
import ServiceLifecycle
import Telemetry
import Wire
import ZeroMQ

/// What every subscriber of the engine is told: where the engine is, and its CURVE keys when it uses CURVE.
struct SubscriberOptions: ParsableArguments {
    @Option(help: ArgumentHelp("An engine's events endpoint; several engines: repeat the option or give a comma list (default \(Endpoints.default.events)).", valueName: "EP"))
    var events: [String] = []

    @Option(help: ArgumentHelp("An engine's replay endpoint; several engines: repeat the option or give a comma list (default \(Endpoints.default.replay)).", valueName: "EP"))
    var replay: [String] = []

    @Option(help: ArgumentHelp("With a CURVE engine: the file holding its public key (NAME.pub from keygen).", valueName: "PATH"))
    var curveServerKeyFile: String?

    @Option(help: ArgumentHelp("With a CURVE engine: this client's secret key file (NAME.key from keygen).", valueName: "PATH"))
    var curveKeyFile: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (curveServerKeyFile == nil) == (curveKeyFile == nil) else {
            throw ValidationError("--curve-server-key-file and --curve-key-file go together.")
        }
    }

    /// The client's CURVE settings, or nil for plain text.
    func curve() throws -> (serverKey: String, keys: CurveKeyPair)? {
        guard let serverFile = curveServerKeyFile, let keyFile = curveKeyFile else { return nil }
        guard let server = try readKeys(serverFile, what: "the engine's public key").first,
              let secret = try readKeys(keyFile, what: "the secret key").first else { throw ValidationError("a key file is empty") }
        return (server, CurveKeyPair(publicKey: try CurveKeyPair.publicKey(forSecret: secret), secretKey: secret))
    }

    /// Every engine's events endpoint, the default when none is given.
    var eventsEndpoints: [String] { Endpoints.list(events.isEmpty ? [Endpoints.default.events] : events) }

    /// Every engine's replay endpoint, the default when none is given.
    var replayEndpoints: [String] { Endpoints.list(replay.isEmpty ? [Endpoints.default.replay] : replay) }

    /// - Parameter subscriber: its name in the feed's metrics (`switchboard_subscriber_lag_events{subscriber}`).
    func feed(meteredAs subscriber: String) throws -> EventFeed.Configuration {
        var c = EventFeed.Configuration()
        c.meteredAs = subscriber
        c.eventsEndpoints = eventsEndpoints
        c.replayEndpoints = replayEndpoints
        c.curve = try curve()
        return c
    }

    func logger(_ label: String) -> Logger { logging.bootstrap(label) }
}

/// `--log-level`, `--log-format` and `--metrics`, for the long-running commands; only they bootstrap
/// logging and metrics.
struct LoggingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "LEVEL"))
    var logLevel = "info"

    @Option(help: ArgumentHelp("text (one line for people) or json (one JSON object a line, for log collectors).", valueName: "FORMAT"))
    var logFormat = "text"

    @Option(help: ArgumentHelp("Serve Prometheus metrics, /healthz and /readyz over HTTP on HOST:PORT (port 0: a free one, logged).", valueName: "HOST:PORT"))
    var metrics: String?

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical.")
        }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json.") }
    }

    /// Sends every log line at or above the level to stderr, once per process, and routes swift-metrics
    /// into the Prometheus registry.
    func bootstrap(_ label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel)!
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        Telemetry.bootstrap()
        return Logger(label: label)
    }

    /// The `--metrics` endpoint's service, if asked for; ready at once unless `readiness` is given.
    func metricsServices(_ logger: Logger, readiness: Readiness? = nil) throws -> [any Service] {
        guard let metrics else { return [] }
        let r = readiness ?? { let r = Readiness(); r.markReady(); return r }()
        do {
            return [try MetricsServer(address: metrics, readiness: r, logger: logger)]
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// Runs services until SIGTERM or SIGINT, then exits 0 after they have drained.
func runUntilSignalled(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(configuration: .init(
        services: services.map { .init(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
    ))
    do {
        try await group.run()
    } catch {
        logger.critical("\(error)")
        throw ExitCode.failure
    }
}

/// `switchboard recorder`.
struct RecorderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recorder",
        abstract: "Store every decision's interaction comment in SQLite or PostgreSQL, once per event_id, replaying whatever it missed.",
        discussion: "Card numbers, CVV and SMS codes and passport numbers are masked before they are stored. See docs/OPERATIONS.md."
    )

    @OptionGroup var subscriber: SubscriberOptions

    @Option(help: ArgumentHelp("The SQLite file, or a postgres:// URL (schema recorder; see docs/OPERATIONS.md).", valueName: "PATH|URL"))
    var db = TableFiles.defaultDataDirectory + "/comments.sqlite"

    func run() async throws {
        let logger = subscriber.logger("switchboard.recorder")
        let store: any CommentStorage
        do {
            store = try openCommentStorage(db)
        } catch {
            logger.critical("cannot open \(isPostgresURL(db) ? PostgresCommentStore.redacted(db) : db): \(error)")
            throw ExitCode.failure
        }
        RecorderMetrics.start(store: store)
        try await runUntilSignalled([RecorderService(store: store, feed: try subscriber.feed(meteredAs: "recorder"), logger: logger)]
            + subscriber.logging.metricsServices(logger), logger: logger)
    }
}

/// `switchboard comments`.
struct CommentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comments",
        abstract: "Print the stored interaction comments as JSON lines, in seq order."
    )

    @Option(help: ArgumentHelp("The recorder's SQLite file, or its postgres:// URL.", valueName: "PATH|URL"))
    var db = TableFiles.defaultDataDirectory + "/comments.sqlite"

    @Option(help: ArgumentHelp("Only the comments of this call.", valueName: "ID"))
    var call: String?

    func run() async throws {
        guard isPostgresURL(db) || FileManager.default.fileExists(atPath: db) else {
            throw RuntimeError("no comment store at \(db); run switchboard recorder first, or give --db.")
        }
        let store: any CommentStorage
        do {
            store = try openCommentStorage(db)
        } catch {
            throw RuntimeError("cannot open \(isPostgresURL(db) ? PostgresCommentStore.redacted(db) : db): \(error)")
        }
        let out = OutputBuffer()
        try store.comments(callID: call) { row in
            var w = JSONWriter(capacity: 1024)
            w.value(.object(row.fields.map { .init($0.0, $0.1) }))
            out.append(w.bytes)
            out.append([0x0A])
        }
        out.flush()
    }
}
