import ArgumentParser
import EventFeed
import Foundation
import Gateway
import Logging
import Metrics
import Recorder
import Routing
import ServiceLifecycle
import Telemetry
import Wire

/// `switchboard gateway`: the HTTP/WebSocket API and the agents' panel, a ZeroMQ client of the engine.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Serve the HTTP JSON API (/v1), the agents' WebSocket streams and the panel, as a client of the engine.",
        discussion: "Agents sign in with a token checked against --agents (hashed; see switchboard gateway-agent). See docs/PROTOCOL.md (HTTP API) and docs/OPERATIONS.md."
    )

    @Option(help: ArgumentHelp("Where to listen for HTTP; port 0 picks a free one (the panel's address is logged).", valueName: "HOST:PORT"))
    var listen = "127.0.0.1:5580"

    @Option(help: ArgumentHelp("An engine's query endpoint; several engines: repeat the option or give a comma list, tried in turn on timeout (default \(Endpoints.default.query)).", valueName: "EP"))
    var query: [String] = []

    @OptionGroup var subscriber: SubscriberOptions

    @Option(help: ArgumentHelp("Folder of the routing tables the engine serves (the forms are built from them).", valueName: "DIR"))
    var tables = TableFiles.defaultDirectory

    @Option(help: ArgumentHelp("The agents file: one JSON line per agent with a PBKDF2 hash of its token.", valueName: "PATH"))
    var agents = TableFiles.defaultDataDirectory + "/agents.jsonl"

    @Option(help: ArgumentHelp("The recorder's SQLite file, or its postgres:// URL, read for stored comments.", valueName: "PATH|URL"))
    var commentsDb = TableFiles.defaultDataDirectory + "/comments.sqlite"

    @Option(help: ArgumentHelp("How long to wait for the engine per try, in milliseconds (Lazy Pirate).", valueName: "MS"))
    var queryTimeout = 2500

    @Option(help: ArgumentHelp("How many tries per query before answering unavailable.", valueName: "N"))
    var queryTries = 3

    /// Every engine's query endpoint, the default when none is given.
    var queryEndpoints: [String] { Endpoints.list(query.isEmpty ? [Endpoints.default.query] : query) }

    @Option(help: ArgumentHelp("The CTI adapter's --results endpoint: a transfer pops the receiving agent's panel when the adapter reports it done (ok), not on the decision. With --cti-results-replay.", valueName: "EP"))
    var ctiResults: String?

    @Option(help: ArgumentHelp("The CTI adapter's --results-replay endpoint, for results missed while disconnected.", valueName: "EP"))
    var ctiResultsReplay: String?

    func validate() throws {
        guard (ctiResults == nil) == (ctiResultsReplay == nil) else {
            throw ValidationError("--cti-results and --cti-results-replay go together: the CTI adapter's --results and --results-replay.")
        }
    }

    func run() async throws {
        let logger = subscriber.logger("switchboard.gateway")
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw ValidationError("--listen must be HOST:PORT, like 127.0.0.1:5580.")
        }
        var loaded: [Table] = []
        for path in try TableFiles.all(in: tables) {
            do throws(TableFiles.Failure) {
                loaded.append(try TableFiles.load(path))
            } catch {
                throw RuntimeError("\(path) does not load: \(error)")
            }
        }
        let directory: AgentDirectory
        do { directory = try AgentDirectory(file: agents) } catch { throw RuntimeError("\(error); write one with switchboard gateway-agent") }
        var configuration = Gateway.Configuration()
        configuration.host = String(listen[..<colon])
        configuration.port = port
        configuration.commentsDB = commentsDb
        if let ctiResults, let ctiResultsReplay {
            configuration.ctiResults = .init(resultsEndpoint: ctiResults, replayEndpoint: ctiResultsReplay)
        }
        let readiness = Readiness()
        let gateway = Gateway(
            configuration: configuration, catalog: Catalog(tables: loaded), directory: directory,
            engine: try EngineClient(endpoints: queryEndpoints, timeout: .milliseconds(queryTimeout), tries: queryTries, curve: try subscriber.curve()),
            feed: try subscriber.feed(meteredAs: "gateway"), readiness: readiness, logger: logger
        )
        logger.info("gateway starting", metadata: ["tables": "\(loaded.count)", "agents": "\(directory.count)", "engines": "\(queryEndpoints.joined(separator: ","))"])
        try await runUntilSignalled([gateway] + subscriber.logging.metricsServices(logger, readiness: readiness), logger: logger)
    }
}

/// `switchboard gateway-agent`: prints an agents-file line for an agent and token (the token read from stdin).
struct GatewayAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-agent",
        abstract: "Print the agents-file line for an agent: the token (read from stdin) hashed with PBKDF2-HMAC-SHA256 and a random salt.",
        discussion: "Append it to the gateway's --agents file: echo -n TOKEN | switchboard gateway-agent a-17 --target retention >> .switchboard/agents.jsonl"
    )

    @Argument(help: "The agent's id.")
    var agent: String

    @Option(help: "The agent's name, shown on the panel.")
    var name: String?

    @Option(name: .customLong("target"), help: ArgumentHelp("A table target id whose transfers ring this agent (repeatable).", valueName: "ID"))
    var targets: [String] = []

    @Option(help: "PBKDF2 iterations.")
    var iterations = 100_000

    func run() throws {
        let token = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .newlines)
        guard !token.isEmpty else { throw ValidationError("give the token on stdin (echo -n TOKEN | switchboard gateway-agent …).") }
        print(AgentDirectory.line(agent: agent, name: name, token: token, targets: targets, iterations: iterations))
    }
}

/// The recorder's rows as gauges, read from its store every second (the recorder's own counters).
enum RecorderMetrics {
    static func start(store: any CommentStorage) {
        let rows = Gauge(label: "switchboard_recorder_rows")
        let lastSeq = Gauge(label: "switchboard_recorder_last_seq")
        let thread = Thread {
            while true {
                if let c = try? store.counts() { rows.record(c.rows) }
                if let s = try? store.lastSeq() { lastSeq.record(Int64(s)) }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        thread.start()
    }
}
