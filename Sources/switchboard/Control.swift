import ArgumentParser
import Foundation
import Wire
import ZeroMQ

/// `switchboard control`: an operator's commands to a running engine, authenticated with the operator key.
struct ControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Send an operator command to a running engine: health, reload, cti-incident on|off.",
        discussion: """
        The control endpoint admits only CURVE clients with an operator key: by default the one the engine keeps in \
        its data folder (DATA/operator.key, readable by its owner only). Prints the engine's JSON reply; exits 0 when \
        it says ok, 1 otherwise. See docs/OPERATIONS.md.
        """
    )

    @Argument(help: ArgumentHelp("health, reload, or cti-incident.", valueName: "COMMAND"))
    var command: String

    @Argument(help: ArgumentHelp("For cti-incident: on or off.", valueName: "ON|OFF"))
    var state: String?

    @Flag(help: "For reload: serve the new tables even if they drop tables, topics, targets or schedules.")
    var allowRemovals = false

    @Option(help: ArgumentHelp("The engine's control endpoint.", valueName: "EP"))
    var control = Endpoints.default.control

    @Option(help: ArgumentHelp("The operator credentials file.", valueName: "PATH"))
    var operatorKey = ".switchboard/operator.key"

    @Option(help: ArgumentHelp("How long to wait for the reply, in milliseconds.", valueName: "MS"))
    var timeout = 10_000

    func validate() throws {
        switch command {
        case "health", "reload": guard state == nil else { throw ValidationError("\(command) takes no further argument.") }
        case "cti-incident": guard state == "on" || state == "off" else { throw ValidationError("cti-incident takes on or off.") }
        default: throw ValidationError("unknown command '\(command)'; expected health, reload or cti-incident.")
        }
        if allowRemovals && command != "reload" { throw ValidationError("--allow-removals goes with reload only.") }
    }

    func run() async throws {
        var request = JSONWriter(capacity: 64)
        request.object { o in
            switch command {
            case "reload":
                o.member("cmd") { $0.string("reload") }
                if allowRemovals { o.member("allow_removals") { $0.bool(true) } }
            case "cti-incident":
                o.member("cmd") { $0.string("cti_incident") }
                o.member("on") { $0.bool(state == "on") }
            default:
                o.member("cmd") { $0.string("health") }
            }
        }
        let credentials: OperatorCredentials
        do {
            guard let text = try? String(contentsOfFile: operatorKey, encoding: .utf8) else {
                throw ValidationError("cannot read the operator credentials \(operatorKey): an engine writes them in its data folder at start; give --operator-key")
            }
            credentials = try OperatorCredentials(text: text)
        } catch let error as ValidationError {
            printError(error.message)
            throw ExitCode.failure
        }
        let context = try Context()
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        try socket.set(.linger, Int32(0))
        try socket.set(.receiveTimeout, Int32(timeout))
        try socket.makeOperatorClient(credentials)
        do {
            try socket.connect(control)
        } catch {
            printError("cannot connect to \(control): \(error)\(control.contains("://") ? "" : " (an endpoint looks like tcp://127.0.0.1:5573)")")
            throw ExitCode.failure
        }
        try socket.send(multipart: [[], request.bytes])
        guard let reply = try socket.receiveMultipart(), let body = reply.last else {
            printError("no reply from \(control) within \(timeout) ms: is the engine running there, and is \(operatorKey) its operator key?")
            throw ExitCode.failure
        }
        print(String(decoding: body, as: UTF8.self))
        if (try? JSONReader.parse(body))?["ok"] != .bool(true) { throw ExitCode.failure }
    }

    private func printError(_ message: String) {
        FileHandle.standardError.write(Data("switchboard control: \(message)\n".utf8))
    }
}
