import ArgumentParser
import Dispatch
import Engine
import Foundation
import Logging
import ServiceLifecycle
import Wire

/// `switchboard serve`: the engine over ZeroMQ until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the routing engine over ZeroMQ (query, events, replay, control) until SIGINT or SIGTERM.",
        discussion: "On SIGINT or SIGTERM it answers what has arrived, publishes what it can, flushes the journal and exits 0. SIGHUP reloads the tables like {\"cmd\":\"reload\"}. One engine per data folder (a lock in it). The control endpoint admits only operators (DATA/operator.key, --operator-keys). See docs/PROTOCOL.md and docs/OPERATIONS.md."
    )

    @Option(help: ArgumentHelp("Folder of routing tables to serve.", valueName: "DIR"))
    var tables = TableFiles.defaultDirectory

    @Option(help: ArgumentHelp("Folder for the journal and state; $SWITCHBOARD_DATA sets the default.", valueName: "DIR"))
    var data = TableFiles.defaultDataDirectory

    @Option(help: ArgumentHelp("Keep the journal, idempotency keys, playbook sessions and CTI-incident flag in PostgreSQL, shared by every engine given the same URL (postgres://USER@HOST/DB or a libpq keyword string); the data folder then holds only the lock and control keys. Default: the data folder's files.", valueName: "URL"))
    var store: String?

    @Option(help: ArgumentHelp("Query endpoint (ROUTER).", valueName: "EP"))
    var query = Endpoints.default.query

    @Option(help: ArgumentHelp("Events endpoint (XPUB).", valueName: "EP"))
    var events = Endpoints.default.events

    @Option(help: ArgumentHelp("Replay endpoint (ROUTER).", valueName: "EP"))
    var replay = Endpoints.default.replay

    @Option(help: ArgumentHelp("Control endpoint (ROUTER).", valueName: "EP"))
    var control = Endpoints.default.control

    @Option(help: ArgumentHelp("Journal group commit: fdatasync at least this often, in milliseconds.", valueName: "MS"))
    var syncInterval = 5

    @Option(help: ArgumentHelp("Journal group commit: fdatasync after this many events.", valueName: "N"))
    var syncEvery = 256

    @Option(help: ArgumentHelp("Most queries waiting to be decided; one more is answered unavailable at once (counted in health as overloaded).", valueName: "N"))
    var queryQueue = EngineConfiguration().queryQueueCapacity

    @Option(help: ArgumentHelp("Serve with CURVE: the engine's secret key file (switchboard keygen --out NAME writes NAME.key).", valueName: "PATH"))
    var curveSecretKeyFile: String?

    @Option(help: ArgumentHelp("With CURVE: a file of client public keys to admit, one per line.", valueName: "PATH"))
    var curveAllow: String?

    @Option(help: ArgumentHelp("A file of further operator public keys admitted on the control endpoint, one per line.", valueName: "PATH"))
    var operatorKeys: String?

    @Option(help: ArgumentHelp("How long an idempotency key is answered again, in hours.", valueName: "H"))
    var idempotencyRetention = 24

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard syncInterval >= 1 else { throw ValidationError("--sync-interval must be at least 1 ms.") }
        if let store, !(store.hasPrefix("postgres://") || store.hasPrefix("postgresql://") || store.contains("=")) {
            throw ValidationError("--store must be a postgres:// URL or a libpq keyword string (host=… dbname=…); got \"\(store)\".")
        }
        guard syncEvery >= 1 else { throw ValidationError("--sync-every must be at least 1.") }
        guard queryQueue >= 1 else { throw ValidationError("--query-queue must be at least 1; got \(queryQueue).") }
        guard idempotencyRetention >= 1 else { throw ValidationError("--idempotency-retention must be at least 1 hour.") }
        guard (curveSecretKeyFile == nil) == (curveAllow == nil) else {
            throw ValidationError("--curve-secret-key-file and --curve-allow go together: CURVE needs the server's key and the clients it admits.")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap("switchboard.engine")
        var configuration = EngineConfiguration()
        configuration.tablesDirectory = tables
        configuration.dataDirectory = data
        configuration.store = store
        configuration.queryEndpoint = query
        configuration.eventsEndpoint = events
        configuration.replayEndpoint = replay
        configuration.controlEndpoint = control
        configuration.syncInterval = .milliseconds(syncInterval)
        configuration.syncEvery = syncEvery
        configuration.queryQueueCapacity = queryQueue
        configuration.idempotencyRetention = .seconds(idempotencyRetention * 3600)
        if let operatorKeys { configuration.operatorKeys = try readKeys(operatorKeys, what: "the operator key list") }
        if let secretFile = curveSecretKeyFile, let allowFile = curveAllow {
            guard let secret = try readKeys(secretFile, what: "the secret key file").first else { throw ValidationError("\(secretFile) holds no key") }
            configuration.curve = .init(serverSecretKey: secret, allowedClientKeys: try readKeys(allowFile, what: "the client allow-list"))
        }
        let engine: Engine
        do {
            engine = try Engine(configuration: configuration, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        // SIGHUP reloads, as operators expect of a daemon (its default action would kill the engine).
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler { engine.requestReload() }
        hangup.resume()
        defer { hangup.cancel() }
        try await runUntilSignalled([EngineService(engine: engine)] + logging.metricsServices(logger), logger: logger)
    }
}
