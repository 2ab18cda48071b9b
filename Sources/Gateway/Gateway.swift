import EventFeed
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Metrics
import Recorder
import Routing
import ServiceLifecycle
import Synchronization
import Telemetry
import Wire

/// `switchboard gateway`: the HTTP JSON API under `/v1`, one WebSocket stream per agent, and the panel,
/// for agent desktops that cannot speak ZeroMQ. A client of the engine like any other.
public struct Gateway: Service {
    public struct Configuration: Sendable {
        /// `HOST:PORT` to listen on (port 0: a free one, logged as `gateway: panel at http://…/`).
        public var host = "127.0.0.1"
        public var port = 5580
        /// The largest request body accepted, in bytes (the engine takes 64 KiB queries).
        public var maximumBody = 64 * 1024
        /// The recorder's SQLite file, read for `GET /v1/calls/{id}/comments`.
        public var commentsDB: String?
        /// The CTI adapter's results (`--cti-results`): screen pops wait for the adapter's `ok`. Without it
        /// a transfer pops on the engine's decision.
        public var ctiResults: CTIResultFeed.Configuration?
        public init() {}
    }

    public let configuration: Configuration
    let catalog: Catalog
    let directory: AgentDirectory
    let engine: EngineClient
    let feed: EventFeed.Configuration
    let hub: PopHub
    let readiness: Readiness
    let logger: Logger
    let onBound: @Sendable (Int) -> Void

    public init(configuration: Configuration, catalog: Catalog, directory: AgentDirectory, engine: EngineClient,
                feed: EventFeed.Configuration, readiness: Readiness, logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.configuration = configuration
        self.catalog = catalog
        self.directory = directory
        self.engine = engine
        self.feed = feed
        self.hub = PopHub(directory: directory, popsOnResults: configuration.ctiResults != nil, logger: logger)
        self.readiness = readiness
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let api = API(gateway: self)
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        api.addRoutes(to: router)
        MetricsServer.addRoutes(to: router, readiness: readiness)
        let logger = self.logger, onBound = self.onBound, readiness = self.readiness
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(maxFrameSize: 1 << 16)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "switchboard-gateway"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("gateway: panel at http://\(channel.localAddress?.ipAddress ?? "127.0.0.1"):\(port)/")
                readiness.markReady()
                onBound(port)
            },
            logger: logger
        )
        // The engine's events, every one once in order, on a thread of their own; they feed the streams.
        let eventFeed = EventFeed(configuration: feed, after: 0, logger: logger)
        let hub = self.hub
        let thread = Thread {
            do { try eventFeed.run { hub.take($0) } } catch { logger.error("the event feed stopped: \(error)") }
        }
        thread.start()
        defer { eventFeed.stop() }
        // The CTI adapter's results, on a thread of their own: a transfer pops when the adapter reports it done.
        let resultFeed = configuration.ctiResults.map { CTIResultFeed(configuration: $0, logger: logger) }
        if let resultFeed {
            Thread {
                do { try resultFeed.run { hub.take($0) } } catch { logger.error("the CTI results feed stopped: \(error)") }
            }.start()
        }
        defer { resultFeed?.stop() }
        // The process's ServiceGroup owns SIGTERM/SIGINT and shuts this down in order; an app catching them
        // itself would finish before its turn, which the group reports as "finished unexpectedly" (exit 1).
        try await app.runService(gracefulShutdownSignals: [])
    }
}

/// Turns Hummingbird's own errors (no route, a body too large) into the contract's error object.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPResponseError {
            let status = error.status
            let code: String
            let message: String
            switch status {
            case .notFound: (code, message) = ("not_found", "no such resource: \(request.method) \(request.uri.path); see /v1/openapi.json.")
            case .contentTooLarge: (code, message) = ("too_large", "the request body is larger than the gateway accepts.")
            case .methodNotAllowed: (code, message) = ("method_not_allowed", "\(request.method) is not allowed on \(request.uri.path).")
            default: (code, message) = ("bad_request", "the request could not be read (HTTP \(status.code)).")
            }
            Counter(label: "switchboard_gateway_errors_total", dimensions: [("code", code)]).increment()
            return API.json(API.errorValue(code: code, message: message, field: nil), status: status)
        }
    }
}
