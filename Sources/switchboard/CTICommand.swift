import ArgumentParser
import CTIAdapter
import Foundation
import Wire
import ZeroMQ

/// `switchboard cti`.
struct CTICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cti",
        abstract: "Perform every transfer decision on the telephony side, exactly once per event_id.",
        discussion: """
        Drivers: log (writes the CSTA commands it would issue as JSON lines to --commands), ami (Asterisk \
        Manager Interface: BlindTransfer for blind transfers, Atxfer for warm ones) and sip (the agents' baresip \
        softphones over ctrl_tcp, configured by --sip-config: REFER, or consultation then REFER). After --failures-for-incident \
        failed transfers in a row it declares a CTI mass incident on the engine; after --successes-to-clear \
        successes in a row it clears it, as an operator (--operator-key). See docs/OPERATIONS.md.
        """
    )

    @OptionGroup var subscriber: SubscriberOptions

    @Option(help: ArgumentHelp("The engine's control endpoint, for declaring and clearing CTI incidents; several engines: repeat the option or give a comma list, tried in turn (default \(Endpoints.default.control)).", valueName: "EP"))
    var control: [String] = []

    @Option(help: ArgumentHelp("log, ami or sip.", valueName: "NAME"))
    var driver = "log"

    @Option(help: ArgumentHelp("What the adapter has done, so nothing is done twice.", valueName: "PATH"))
    var record = ".switchboard/cti-record.log"

    @Option(help: ArgumentHelp("log driver: where the CSTA commands go, one JSON line each.", valueName: "PATH"))
    var commands = ".switchboard/cti-commands.jsonl"

    @Option(help: ArgumentHelp("ami driver: host.", valueName: "HOST"))
    var amiHost = "127.0.0.1"

    @Option(help: ArgumentHelp("ami driver: port.", valueName: "PORT"))
    var amiPort: UInt16 = 5038

    @Option(help: ArgumentHelp("ami driver: manager user name.", valueName: "NAME"))
    var amiUser = "switchboard"

    @Option(help: ArgumentHelp("ami driver: a file holding the manager secret.", valueName: "PATH"))
    var amiSecretFile: String?

    @Option(help: ArgumentHelp("ami driver: the dialplan context transfers go to.", valueName: "NAME"))
    var amiContext = "from-internal"

    @Option(help: ArgumentHelp("ami driver: the call's channel, from its call_id.", valueName: "TEMPLATE"))
    var amiChannel = "{call_id}"

    @Option(help: ArgumentHelp("sip driver: the configuration file (agents' softphones, targets' SIP URIs); see docs/OPERATIONS.md.", valueName: "PATH"))
    var sipConfig: String?

    @Option(help: ArgumentHelp("PUB endpoint to bind: each transfer result once recorded, for the gateway's screen pops (with --results-replay).", valueName: "EP"))
    var results: String?

    @Option(help: ArgumentHelp("ROUTER endpoint to bind: results from a position on, for a subscriber that missed some.", valueName: "EP"))
    var resultsReplay: String?

    @Option(help: ArgumentHelp("Failed transfers in a row that declare a CTI mass incident.", valueName: "N"))
    var failuresForIncident = 3

    @Option(help: ArgumentHelp("Successful transfers in a row that clear it.", valueName: "N"))
    var successesToClear = 3

    func validate() throws {
        guard ["log", "ami", "sip"].contains(driver) else { throw ValidationError("--driver must be log, ami or sip.") }
        if driver == "sip" {
            guard let path = sipConfig else { throw ValidationError("--driver sip needs --sip-config PATH.") }
            do {
                _ = try SIPDriver.Configuration(contentsOf: path)
            } catch {
                throw ValidationError("--sip-config \(error)")
            }
        }
        guard (results == nil) == (resultsReplay == nil) else { throw ValidationError("--results and --results-replay go together: live results and their replay.") }
        guard failuresForIncident >= 1, successesToClear >= 1 else { throw ValidationError("--failures-for-incident and --successes-to-clear must be at least 1.") }
    }

    @Option(help: ArgumentHelp("The operator's credentials for the control endpoint, which serve writes to DATA/operator.key.", valueName: "PATH"))
    var operatorKey = ".switchboard/operator.key"

    func run() async throws {
        let credentials: OperatorCredentials
        do {
            credentials = try OperatorCredentials(text: try String(contentsOfFile: operatorKey, encoding: .utf8))
        } catch {
            let reason = (error as? ZMQError).map { "\($0)" } ?? "cannot read it"
            FileHandle.standardError.write(Data("switchboard cti: no usable operator key at \(operatorKey) (\(reason)); serve writes it to DATA/operator.key at start, give that path with --operator-key\n".utf8))
            throw ExitCode.failure
        }
        let logger = subscriber.logger("switchboard.cti")
        var ami: AMIDriver.Configuration?
        if driver == "ami" {
            var c = AMIDriver.Configuration()
            c.host = amiHost
            c.port = amiPort
            c.username = amiUser
            if let file = amiSecretFile {
                guard let secret = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(file)") }
                c.secret = secret.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            c.context = amiContext
            c.channelTemplate = amiChannel
            ami = c
        }
        var sip: SIPDriver.Configuration?
        if driver == "sip", let path = sipConfig {
            do {
                sip = try SIPDriver.Configuration(contentsOf: path)
            } catch {
                throw ValidationError("--sip-config \(error)")
            }
        }
        var configuration = CTIAdapter.Configuration()
        configuration.controlEndpoints = Endpoints.list(control.isEmpty ? [Endpoints.default.control] : control)
        configuration.failuresForIncident = failuresForIncident
        configuration.successesToClear = successesToClear
        configuration.operatorCredentials = credentials
        var publisher: ResultPublisher?
        if let results, let resultsReplay {
            do {
                publisher = try ResultPublisher(configuration: .init(resultsEndpoint: results, replayEndpoint: resultsReplay), logger: logger)
                logger.notice("publishing transfer results", metadata: ["results": "\(publisher!.boundEndpoints.results)", "results_replay": "\(publisher!.boundEndpoints.replay)"])
            } catch {
                throw RuntimeError("cannot bind --results \(results) / --results-replay \(resultsReplay): \(error)")
            }
        }
        defer { publisher?.stop() }
        let (commands, record, amiConfiguration, sipConfiguration, adapterConfiguration, resultPublisher) = (self.commands, self.record, ami, sip, configuration, publisher)
        let service = CTIService(feed: try subscriber.feed(meteredAs: "cti"), logger: logger) {
            let telephony: CTIDriver
            if let sipConfiguration {
                telephony = SIPDriver(configuration: sipConfiguration, logger: logger)
            } else if let amiConfiguration {
                telephony = AMIDriver(configuration: amiConfiguration)
            } else {
                telephony = try LogDriver(path: commands)
            }
            let metered = MeteredDriver(telephony)
            let adapter = CTIAdapter(configuration: adapterConfiguration, driver: metered, record: try TransferRecord(path: record), logger: logger)
            metered.adapter = adapter
            adapter.results = resultPublisher
            return adapter
        }
        try await runUntilSignalled([service] + subscriber.logging.metricsServices(logger), logger: logger)
    }
}
