import EventFeed
import Foundation
import Logging
import Testing
@testable import CTIAdapter
@testable import Engine
import Routing
import Wire
import ZeroMQ
import TestSupport

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func folder(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// An event as the engine publishes it, through the real encoder and decoder.
func transferEvent(_ seq: UInt64, mode: String = "blind", action: String = "transfer") -> FeedEvent {
    let transfer = action == "transfer"
    let decision = Decision(action: transfer ? .transfer : .openCase,
                            target: transfer ? .init(id: "retention", address: "cti:retention", via: .cti, mode: TransferMode(rawValue: mode)!) : nil,
                            case: transfer ? nil : .init(id: "bo", category: "Back Office", priority: .normal, subject: nil, fields: []),
                            procedure: nil, reason: nil, rule: "termination.insists", phrases: [], comment: "", checks: [],
                            validUntil: nil, validUntilOffset: 0, trace: [])
    let at = Timestamp.parse("2026-11-23T12:00:00+03:00")!
    var w = JSONWriter()
    DecisionEvent(seq: seq, eventID: "j-\(seq)", at: at.instant, atOffset: at.offsetSeconds, callID: "SIP/agent-\(seq)", table: "retention-ru",
                  tableVersion: "v1", decision: decision).encode(into: &w)
    return FeedEvent(try! Wire.DecodedEvent(json: w.bytes))
}

var quietLogger: Logger {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct TransferTests {
    @Test func readsTransfersAndSkipsOtherDecisions() {
        let blind = Transfer(transferEvent(1))
        #expect(blind?.address == "cti:retention" && blind?.mode == .blind && blind?.callID == "SIP/agent-1")
        #expect(blind?.cstaSteps == ["SingleStepTransferCall"])
        #expect(Transfer(transferEvent(2, mode: "warm"))?.cstaSteps == ["ConsultationCall", "TransferCall"])
        #expect(Transfer(transferEvent(3, action: "case")) == nil)
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct LogDriverTests {
    @Test func writesCSTACommandsAndRemembersThem() throws {
        let dir = folder("log")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("commands.jsonl").path
        let driver = try LogDriver(path: path)
        try driver.perform(Transfer(transferEvent(1))!)
        try driver.perform(Transfer(transferEvent(2, mode: "warm"))!)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONReader.parse(String($0)) }
        #expect(lines.map { $0["command"]?.text } == ["SingleStepTransferCall", "ConsultationCall", "TransferCall"])
        #expect(lines[0]["to"] == .string("cti:retention"))
        let reopened = try LogDriver(path: path)
        #expect(reopened.wasPerformed(eventID: "j-2") == true)
        #expect(reopened.wasPerformed(eventID: "j-3") == false)
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct TransferRecordTests {
    @Test func resumesAfterTheLastSeqAndKnowsUnfinishedTransfers() throws {
        let dir = folder("record")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("r.log").path
        let r = try TransferRecord(path: path)
        try r.start(seq: 3, eventID: "j-3")
        try r.done(seq: 3, eventID: "j-3", outcome: .ok)
        try r.start(seq: 7, eventID: "j-7")
        try r.seen(through: 9)
        let again = try TransferRecord(path: path)
        #expect(again.lastSeq == 9)
        #expect(again.unfinished == ["j-7": 7])
        #expect(again.doneCount == 1)
    }

    @Test func aCrashBetweenStartAndDoneIsSettledExactlyOnce() throws {
        let dir = folder("record")
        defer { try? FileManager.default.removeItem(at: dir) }
        let commands = dir.appendingPathComponent("commands.jsonl").path
        let recordPath = dir.appendingPathComponent("r.log").path
        // j-1 was performed but not marked done; j-2 was started but never performed.
        let driver = try LogDriver(path: commands)
        try driver.perform(Transfer(transferEvent(1))!)
        let record = try TransferRecord(path: recordPath)
        try record.start(seq: 1, eventID: "j-1")
        try record.start(seq: 2, eventID: "j-2")
        let adapter = CTIAdapter(configuration: .init(), driver: try LogDriver(path: commands), record: try TransferRecord(path: recordPath), logger: quietLogger)
        #expect(adapter.resumeAfter == 0)  // the replay brings both back
        try adapter.handle([transferEvent(1), transferEvent(2), transferEvent(3)])
        func performed() throws -> [String] {
            try String(contentsOfFile: commands, encoding: .utf8).split(separator: "\n").compactMap { try JSONReader.parse(String($0))["event_id"]?.text }
        }
        #expect(try performed() == ["j-1", "j-2", "j-3"])  // j-1 not repeated, j-2 done late, once
        #expect(try TransferRecord(path: recordPath).unfinished.isEmpty)
        // The same batch again (a replay after another restart) performs nothing.
        try adapter.handle([transferEvent(1), transferEvent(2), transferEvent(3)])
        #expect(try performed() == ["j-1", "j-2", "j-3"])
    }

    @Test func anUnknownOutcomeIsNeverRepeated() throws {
        let dir = folder("record")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recordPath = dir.appendingPathComponent("r.log").path
        try TransferRecord(path: recordPath).start(seq: 1, eventID: "j-1")
        let peer = try ScriptedAMIPeer()
        var c = AMIDriver.Configuration()
        c.port = peer.port
        c.secret = "s3cret"
        let adapter = CTIAdapter(configuration: .init(), driver: AMIDriver(configuration: c), record: try TransferRecord(path: recordPath), logger: quietLogger)
        try adapter.handle([transferEvent(1), transferEvent(2)])
        #expect(peer.received.filter { $0["Action"] == "BlindTransfer" }.map { $0["Channel"] } == ["SIP/agent-2"])
    }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct AMIDriverTests {
    func driver(_ peer: ScriptedAMIPeer, secret: String = "s3cret") -> AMIDriver {
        var c = AMIDriver.Configuration()
        c.port = peer.port
        c.secret = secret
        c.channelTemplate = "{call_id}"
        c.context = "from-internal"
        c.responseTimeout = 2
        c.attendedTimeout = 2
        return AMIDriver(configuration: c)
    }

    @Test func blindTransferIsABlindTransferAction() throws {
        let peer = try ScriptedAMIPeer()
        let d = driver(peer)
        try d.perform(Transfer(transferEvent(1))!)
        let actions = peer.received
        #expect(actions.map { $0["Action"] } == ["Login", "BlindTransfer"])
        #expect(actions[1]["Channel"] == "SIP/agent-1" && actions[1]["Exten"] == "cti:retention" && actions[1]["Context"] == "from-internal")
        #expect(actions[0]["Events"] == "on")
    }

    @Test func warmTransferWaitsForTheAttendedTransfer() throws {
        let peer = try ScriptedAMIPeer()
        let d = driver(peer)
        try d.perform(Transfer(transferEvent(2, mode: "warm"))!)
        #expect(peer.received.map { $0["Action"] } == ["Login", "Atxfer"])
    }

    @Test func refusalIsAFailure() throws {
        let peer = try ScriptedAMIPeer(refuse: 1)
        let d = driver(peer)
        #expect(throws: DriverFailure.self) { try d.perform(Transfer(transferEvent(1))!) }
        try d.perform(Transfer(transferEvent(2))!)
    }

    @Test func badLoginIsAFailure() throws {
        let peer = try ScriptedAMIPeer()
        let d = driver(peer, secret: "wrong")
        #expect {
            try d.perform(Transfer(transferEvent(1))!)
        } throws: { error in
            (error as? DriverFailure)?.description.contains("login refused") == true
        }
    }

    /// A connection dropped after an action was sent: the outcome is unknown, the action is not sent again,
    /// and the next transfer gets a fresh connection.
    @Test func aDroppedConnectionAfterSendingIsAnUnknownOutcome() throws {
        let peer = try ScriptedAMIPeer()
        let d = driver(peer)
        try d.perform(Transfer(transferEvent(1))!)
        peer.dropConnection(afterActions: 0)  // the next action is received, then the connection closed
        #expect { try d.perform(Transfer(transferEvent(2))!) } throws: { ($0 as? DriverFailure)?.kind == .unknownOutcome }
        try d.perform(Transfer(transferEvent(3))!)
        #expect(peer.received.map { $0["Action"] } == ["Login", "BlindTransfer", "BlindTransfer", "Login", "BlindTransfer"])
        #expect(peer.received.compactMap { $0["Channel"] } == ["SIP/agent-1", "SIP/agent-2", "SIP/agent-3"])
    }

    /// A connection Asterisk closed while the driver was idle is noticed before sending: the transfer goes
    /// through on a new connection, once, instead of being lost as an unknown outcome.
    @Test func aConnectionClosedWhileIdleIsReplacedBeforeSending() throws {
        let peer = try ScriptedAMIPeer()
        let d = driver(peer)
        try d.perform(Transfer(transferEvent(1))!)
        peer.closeConnections()
        usleep(100_000)
        try d.perform(Transfer(transferEvent(2))!)
        #expect(peer.received.map { $0["Action"] } == ["Login", "BlindTransfer", "Login", "BlindTransfer"])
    }

    /// An action Asterisk never answers is reported unknown and never sent again: not on the next
    /// transfer, not when the replay brings its event back, not after a restart of the adapter.
    @Test func anUnansweredActionIsNeverSentAgain() throws {
        let dir = folder("noresend")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recordPath = dir.appendingPathComponent("r.log").path
        let peer = try ScriptedAMIPeer(silent: 1)
        var configuration = CTIAdapter.Configuration()
        configuration.failuresForIncident = 10
        let adapter = CTIAdapter(configuration: configuration, driver: driver(peer), record: try TransferRecord(path: recordPath), logger: quietLogger)
        try adapter.handle([transferEvent(1)])  // sent, never answered: unknown
        try adapter.handle([transferEvent(1), transferEvent(2)])  // a replay overlapping what was handled, on a fresh connection
        let restarted = CTIAdapter(configuration: configuration, driver: driver(peer), record: try TransferRecord(path: recordPath), logger: quietLogger)
        try restarted.handle([transferEvent(1), transferEvent(2)])
        let transfers = peer.received.filter { $0["Action"] == "BlindTransfer" }.compactMap { $0["Channel"] }
        #expect(transfers == ["SIP/agent-1", "SIP/agent-2"])
        #expect(peer.received.filter { $0["Action"] == "Login" }.count == 2)  // reconnected after the silence, and still no resend
        let record = try String(contentsOfFile: recordPath, encoding: .utf8)
        #expect(record.contains("done 1 j-1 unknown"))
        #expect(record.contains("done 2 j-2 ok"))
    }

    @Test func unreachableServerIsAFailure() throws {
        var c = AMIDriver.Configuration()
        c.port = 1  // nothing listens there
        #expect { try AMIDriver(configuration: c).perform(Transfer(transferEvent(1))!) } throws: { ($0 as? DriverFailure)?.kind == .unreachable }
    }

    /// Against a closed port, connection attempts back off exponentially up to the ceiling, transfers
    /// fail at once meanwhile, the adapter logs the state once, and a driver that never connected declares
    /// no incident.
    @Test func reconnectionBacksOffAndLogsOnce() throws {
        let closedPort = try ScriptedAMIPeer.closedPort()
        var c = AMIDriver.Configuration()
        c.port = closedPort
        c.reconnectDelay = 0.1
        c.reconnectCeiling = 0.8
        let ami = AMIDriver(configuration: c)
        let dir = folder("backoff")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = LogCapture()
        let control = try ControlRecorder()
        var configuration = CTIAdapter.Configuration()
        configuration.failuresForIncident = 1
        configuration.controlEndpoint = control.endpoint
        let adapter = CTIAdapter(configuration: configuration, driver: ami, record: try TransferRecord(path: dir.appendingPathComponent("r.log").path),
                                 logger: log.logger)
        let start = Date()
        var seq: UInt64 = 0
        while Date().timeIntervalSince(start) < 3 {  // about 300 transfers in 3 s
            seq += 1
            try adapter.handle([transferEvent(seq)])
            usleep(10_000)
        }
        // 0.1 + 0.2 + 0.4 + 0.8 + 0.8 + 0.8 … : about 6 attempts in 3 s, not one per transfer.
        #expect(ami.connectionAttempts >= 3 && ami.connectionAttempts <= 8, "\(ami.connectionAttempts) attempts for \(seq) transfers")
        #expect(log.lines(atLeast: .warning).count == 1, "\(log.lines(atLeast: .warning))")
        #expect(!adapter.incidentDeclared)
        #expect(control.requests.isEmpty)
    }
}

/// A real engine on loopback serving the flagship table, in folders of its own, stopped and removed with the value.
final class LoopbackEngine {
    let tables = folder("tables"), data = folder("data")
    let engine: Engine

    init() throws {
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("routing-tables/retention-ru.yaml"), to: tables.appendingPathComponent("retention-ru.yaml"))
        var c = EngineConfiguration()
        c.tablesDirectory = tables.path
        c.dataDirectory = data.path
        for kp in [\EngineConfiguration.queryEndpoint, \.eventsEndpoint, \.replayEndpoint, \.controlEndpoint] { c[keyPath: kp] = "tcp://127.0.0.1:*" }
        engine = try Engine(configuration: c, logger: quietLogger)
        try engine.start()
    }

    deinit {
        engine.stop()
        engine.wait()
        for d in [tables, data] { try? FileManager.default.removeItem(at: d) }
    }
}

/// The adapter against a real engine: failing transfers declare the incident, successes clear it.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct IncidentTests {
    @Test func declaredAfterFailuresAndClearedAfterSuccesses() throws {
        let loopback = try LoopbackEngine()
        let (engine, data, dir) = (loopback.engine, loopback.data, folder("cti"))
        defer {
            try? FileManager.default.removeItem(at: dir)
            withExtendedLifetime(loopback) {}  // the engine runs until the test ends
        }
        let context = try Context()
        let req = try Socket(context, .req)
        try req.set(.linger, Int32(0))
        try req.set(.receiveTimeout, Int32(5000))
        try req.connect(engine.snapshot.queryEndpoint)
        func decide(_ n: Int) throws -> Value {
            try req.send(#"{"id":\#(n),"table":"retention-ru","at":"2026-11-23T12:00:00+03:00","call":{"call_id":"SIP/a-\#(n)","topic":"termination","facts":{"insists":true}}}"#)
            return try JSONReader.parse(try #require(try req.receiveMultipart()).last!)
        }
        // Contract 1.1: control admits operators only, with the key the engine writes to its data folder.
        let credentials = try? OperatorCredentials(text: String(contentsOf: data.appendingPathComponent("operator.key"), encoding: .utf8))
        func ctiIncident() throws -> Value? {
            let control = try Socket(context, .req)
            try control.set(.linger, Int32(0))
            try control.set(.receiveTimeout, Int32(5000))
            if let credentials { try control.makeOperatorClient(credentials) }
            try control.connect(engine.snapshot.controlEndpoint)
            try control.send(#"{"cmd":"health"}"#)
            return try JSONReader.parse(try #require(try control.receiveMultipart()).last!)["cti_incident"]
        }

        let peer = try ScriptedAMIPeer(refuse: 3)
        var ami = AMIDriver.Configuration()
        ami.port = peer.port
        ami.secret = "s3cret"
        var configuration = CTIAdapter.Configuration()
        configuration.controlEndpoint = engine.snapshot.controlEndpoint
        configuration.operatorCredentials = credentials
        configuration.failuresForIncident = 3
        configuration.successesToClear = 2
        let adapter = CTIAdapter(configuration: configuration, driver: AMIDriver(configuration: ami),
                                 record: try TransferRecord(path: dir.appendingPathComponent("r.log").path), logger: quietLogger)
        var feedConfiguration = EventFeed.Configuration()
        feedConfiguration.eventsEndpoint = engine.snapshot.eventsEndpoint
        feedConfiguration.replayEndpoint = engine.snapshot.replayEndpoint
        let feed = EventFeed(configuration: feedConfiguration, after: 0, logger: quietLogger)
        let box = Box(adapter)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            try? feed.run { try box.adapter.handle($0) }
            finished.signal()
        }.start()
        defer { feed.stop(); finished.wait() }

        // Three transfers fail: the adapter declares the incident and decisions go by number.
        for n in 1...3 { #expect(try decide(n)["decision"]?["target"]?["via"] == .string("cti")) }
        var declared = false
        for _ in 0..<100 where !declared {
            declared = try ctiIncident() == .bool(true)
            if !declared { usleep(50_000) }
        }
        #expect(declared)
        #expect(try decide(4)["decision"]?["target"]?["via"] == .string("number"))
        // Transfers by number succeed again: after two in a row the incident is cleared.
        _ = try decide(5)
        var cleared = false
        for _ in 0..<100 where !cleared {
            cleared = try ctiIncident() == .bool(false)
            if !cleared { usleep(50_000) }
        }
        #expect(cleared)
        #expect(try decide(6)["decision"]?["target"]?["via"] == .string("cti"))
        #expect(peer.received.filter { $0["Action"] == "BlindTransfer" }.count >= 5)
    }

    final class Box {
        let adapter: CTIAdapter
        init(_ adapter: CTIAdapter) { self.adapter = adapter }
    }
}

// The test hands the adapter to the feed's thread and does not touch it after.
extension IncidentTests.Box: @unchecked Sendable {}

/// Several engines: the incident declared through the first control endpoint that answers.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct ControlFailoverTests {
    @Test func aSilentControlEndpointIsLeftForTheNext() throws {
        let loopback = try LoopbackEngine()
        let (engine, data, dir) = (loopback.engine, loopback.data, folder("cti"))
        defer {
            try? FileManager.default.removeItem(at: dir)
            withExtendedLifetime(loopback) {}  // the engine runs until the test ends
        }
        let credentials = try OperatorCredentials(text: String(contentsOf: data.appendingPathComponent("operator.key"), encoding: .utf8))
        let silent = try ControlRecorder()  // accepts TCP, never answers: an engine that hangs
        let peer = try ScriptedAMIPeer(refuse: 10)
        var ami = AMIDriver.Configuration()
        ami.port = peer.port
        ami.secret = "s3cret"
        var configuration = CTIAdapter.Configuration()
        configuration.controlEndpoints = [silent.endpoint, engine.snapshot.controlEndpoint]
        configuration.operatorCredentials = credentials
        configuration.failuresForIncident = 1
        configuration.controlRetryInterval = .milliseconds(100)
        let adapter = CTIAdapter(configuration: configuration, driver: AMIDriver(configuration: ami),
                                 record: try TransferRecord(path: dir.appendingPathComponent("r.log").path), logger: quietLogger)
        // The first failure asks the silent engine (5 s without an answer); a later one asks the next, which confirms.
        var seq: UInt64 = 0
        while !adapter.incidentDeclared && seq < 10 {
            seq += 1
            try adapter.handle([transferEvent(seq)])
            usleep(150_000)
        }
        #expect(adapter.incidentDeclared)
        // Declared on the second failure, by the live engine (incidentDeclared is set only on its "ok"): the
        // first went to the silent endpoint (its CURVE handshake never completes: nothing reaches it) and timed out.
        #expect(seq == 2)
    }
}
