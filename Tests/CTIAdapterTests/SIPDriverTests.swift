import Foundation
import Logging
import Synchronization
import Testing
@testable import CTIAdapter
import Routing
import Wire
#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// A baresip softphone's `ctrl_tcp` as measured with baresip 1.0 (netstring JSON; `callfind` traps;
/// call events), scripted: the real bed is in `SIPEndToEndTests`.
final class ScriptedSoftphone: Sendable {
    enum Outcome: Sendable { case transferred, referFails, consultAnswers, consultBusy, silent }

    let port: UInt16
    private let listener: Int32
    private let state: Mutex<(calls: [String], current: String?, commands: [String], outcome: Outcome)>
    /// How many connections are still to be closed as soon as they are accepted (a connection that breaks).
    private let connectionsToDrop: Mutex<Int>

    init(calls: [String], outcome: Outcome, droppingTheFirstConnections drop: Int = 0) throws {
        state = Mutex((calls, nil, [], outcome))
        connectionsToDrop = Mutex(drop)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 4)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = UInt16(bigEndian: addr.sin_port)
        Thread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                if connectionsToDrop.withLock({ n in defer { n = max(0, n - 1) }; return n > 0 }) {
                    close(c)
                    continue
                }
                serve(c)
            }
        }.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    var commands: [String] { state.withLock { $0.commands } }

    private func serve(_ c: Int32) {
        var buffer: [UInt8] = []
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = recv(c, &chunk, chunk.count, 0)
            if n <= 0 { close(c); return }
            buffer += chunk[0..<n]
            while let colon = buffer.firstIndex(of: UInt8(ascii: ":")), let length = Int(String(decoding: buffer[..<colon], as: UTF8.self)),
                  buffer.count >= colon + 1 + length + 1 {
                let body = Array(buffer[(colon + 1)..<(colon + 1 + length)])
                buffer.removeFirst(colon + 1 + length + 1)
                guard let request = try? JSONReader.parse(body) else { continue }
                for reply in answer(request) { send(c, reply) }
            }
        }
    }

    private func send(_ c: Int32, _ json: String) {
        let frame = Array("\(json.utf8.count):\(json),".utf8)
        _ = frame.withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private func response(_ token: String, _ ok: Bool, _ data: String) -> String {
        #"{"response":true,"ok":\#(ok),"data":"\#(data)","token":"\#(token)"}"#
    }

    private func event(_ type: String, _ id: String, _ direction: String, _ param: String) -> String {
        #"{"event":true,"type":"\#(type)","class":"call","direction":"\#(direction)","peeruri":"sip:x@127.0.0.1","id":"\#(id)","param":"\#(param)"}"#
    }

    private func answer(_ request: Value) -> [String] {
        let command = request["command"]?.text ?? "", params = request["params"]?.text ?? "", token = request["token"]?.text ?? ""
        return state.withLock { s -> [String] in
            s.commands.append(params.isEmpty ? command : "\(command) \(params)")
            if command != "dial" && command != "listcalls" && s.calls.isEmpty {
                return [response(token, false, "command not found")]
            }
            switch command {
            case "callfind":
                guard s.calls.contains(params) else { return [response(token, true, "call not found (id=\(params))")] }
                s.current = params
                return [response(token, true, "setting current call: \(params)")]
            case "transfer":
                let id = s.current ?? "?"
                switch s.outcome {
                case .transferred, .consultAnswers:
                    s.calls.removeAll { $0 == id }
                    return [response(token, true, ""), event("CALL_CLOSED", id, "incoming", "Call transfered")]
                case .referFails:
                    s.calls.removeAll { $0 == id }
                    return [response(token, true, ""), event("TRANSFER_FAILED", id, "incoming", "486 Busy Here"),
                            event("CALL_CLOSED", id, "incoming", "Rejected by user")]
                case .consultBusy, .silent:
                    return [response(token, true, "")]
                }
            case "dial":
                s.calls.append("consult-1")
                s.current = "consult-1"
                switch s.outcome {
                case .consultAnswers:
                    return [response(token, true, ""), event("CALL_RINGING", "consult-1", "outgoing", ""), event("CALL_ESTABLISHED", "consult-1", "outgoing", "")]
                case .consultBusy:
                    s.calls.removeAll { $0 == "consult-1" }
                    return [response(token, true, ""), event("CALL_CLOSED", "consult-1", "outgoing", "486 Busy Here")]
                default:
                    return [response(token, true, "")]
                }
            case "hangup":
                if let current = s.current { s.calls.removeAll { $0 == current } }
                return [response(token, true, "")]
            default:
                return [response(token, true, "")]
            }
        }
    }
}

@Suite(.ownThreads)
struct SIPDriverTests {
    func driver(_ phone: ScriptedSoftphone, trueBlind: Bool, log: LogCapture = LogCapture(), consultTimeout: Double = 2, warmBrief: Double = 0) -> SIPDriver {
        var c = SIPDriver.Configuration()
        c.agents = [.init(id: "agent1", host: "127.0.0.1", port: phone.port, sip: "sip:agent1@127.0.0.1")]
        c.targets = ["retention": .init(uri: "sip:retention@127.0.0.1:5099", numberURI: "sip:88005550100@127.0.0.1:5098", trueBlind: trueBlind)]
        c.timing.consultTimeout = consultTimeout
        c.timing.warmBrief = warmBrief
        c.timing.transferTimeout = 2
        c.timing.settleWait = 0.3
        return SIPDriver(configuration: c, logger: log.logger)
    }

    func transfer(_ call: String, mode: TransferMode = .blind, via: Decision.Via = .cti) -> Transfer {
        Transfer(seq: 1, eventID: "e-1", callID: call, target: "retention", address: "cti:retention", via: via, mode: mode)
    }

    /// `callfind` answers ok for an unknown id: the driver reads the text, and sends nothing else.
    @Test func aCallOnNoPhoneIsRefusedAndNothingIsSent() throws {
        let phone = try ScriptedSoftphone(calls: ["other"], outcome: .transferred)
        let d = driver(phone, trueBlind: true)
        #expect(throws: DriverFailure.self) { try d.perform(transfer("c1")) }
        do { try d.perform(transfer("c1")) } catch {
            #expect(error.kind == .refused && error.description.contains("not on any agent's softphone"))
        }
        #expect(!phone.commands.contains { $0.hasPrefix("transfer") || $0.hasPrefix("hold") }, "\(phone.commands)")
        #expect(d.hasReachedTelephony)
    }

    @Test func trueBlindIsOneREFERWithTheCallSelectedInTheSameWrite() throws {
        let phone = try ScriptedSoftphone(calls: ["c1"], outcome: .transferred)
        try driver(phone, trueBlind: true).perform(transfer("c1"))
        let commands = phone.commands
        let refer = try #require(commands.firstIndex { $0.hasPrefix("transfer") })
        #expect(commands[refer] == "transfer sip:retention@127.0.0.1:5099;sbcall=c1")
        #expect(commands[refer - 1] == "callfind c1")
        #expect(!commands.contains("hold"))
    }

    @Test func viaNumberGoesToTheNumberURI() throws {
        let phone = try ScriptedSoftphone(calls: ["c1"], outcome: .transferred)
        try driver(phone, trueBlind: true).perform(transfer("c1", via: .number))
        #expect(phone.commands.contains("transfer sip:88005550100@127.0.0.1:5098;sbcall=c1"))
    }

    /// baresip 1.0 hangs up the caller when a REFER fails: said at critical level, with the call's id.
    @Test func aFailedTrueBlindREFERReportsTheLostCaller() throws {
        let phone = try ScriptedSoftphone(calls: ["c1"], outcome: .referFails)
        let log = LogCapture()
        do {
            try driver(phone, trueBlind: true, log: log).perform(transfer("c1"))
            Issue.record("a failed REFER succeeded")
        } catch {
            #expect(error.kind == .refused && error.description.contains("lost"))
        }
        #expect(log.lines(atLeast: .critical).contains { $0.contains("caller lost") }, "\(log.lines(atLeast: .critical))")
    }

    @Test func aBusyConsultationLeavesTheCallerWithTheAgent() throws {
        let phone = try ScriptedSoftphone(calls: ["c1"], outcome: .consultBusy)
        do {
            try driver(phone, trueBlind: false).perform(transfer("c1"))
            Issue.record("a busy target succeeded")
        } catch {
            #expect(error.kind == .refused && error.description.contains("busy (486)"), "\(error)")
        }
        let commands = phone.commands
        #expect(commands.contains("hold") && commands.contains("dial sip:retention@127.0.0.1:5099;sbconsult=c1"), "\(commands)")
        #expect(!commands.contains { $0.hasPrefix("transfer") }, "no REFER after a refused consultation: \(commands)")
    }

    @Test(arguments: [0, 0.3]) func warmConsultsThenREFERsThenHangsUpTheConsultation(brief: Double) throws {
        let phone = try ScriptedSoftphone(calls: ["c1"], outcome: .consultAnswers)
        let start = Date()
        try driver(phone, trueBlind: true, warmBrief: brief).perform(transfer("c1", mode: .warm))
        #expect(Date().timeIntervalSince(start) >= brief)
        let commands = phone.commands
        let hold = try #require(commands.firstIndex(of: "hold"))
        let dial = try #require(commands.firstIndex { $0.hasPrefix("dial") })
        let refer = try #require(commands.firstIndex { $0.hasPrefix("transfer") })
        #expect(hold < dial && dial < refer && commands[refer - 1] == "callfind c1", "\(commands)")
        #expect(commands.suffix(2) == ["callfind consult-1", "hangup"], "\(commands)")
    }

    @Test func noAnswerWithinTheTimeoutHangsUpAndResumes() throws {
        let phone = try ScriptedSoftphone(calls: ["c1"], outcome: .silent)
        do {
            try driver(phone, trueBlind: false, consultTimeout: 0.5).perform(transfer("c1"))
            Issue.record("an unanswered consultation succeeded")
        } catch {
            #expect(error.kind == .refused && error.description.contains("no answer"), "\(error)")
        }
        #expect(phone.commands.contains("hangup") && phone.commands.suffix(2) == ["callfind c1", "resume"], "\(phone.commands)")
    }

    /// Settled by fact: still on the phone is not performed; gone is performed.
    @Test func anInterruptedTransferIsSettledByAskingThePhone() throws {
        let phone = try ScriptedSoftphone(calls: ["c1"], outcome: .transferred)
        let d = driver(phone, trueBlind: true)
        #expect(d.wasPerformed(transfer("c1")) == false)
        #expect(d.wasPerformed(transfer("gone")) == true)
    }

    /// The whole path `switchboard cti --driver sip` takes after a crash between "start" and the REFER: the
    /// adapter, the metering wrapper, the sip driver, the phone. Still on the phone: performed now, once; gone:
    /// recorded done without a REFER. (The wrapper once forwarded only the by-event-id question, which the sip
    /// driver cannot answer, so both were settled unknown and the first caller was never transferred.)
    @Test(arguments: [true, false]) func anInterruptedTransferIsSettledThroughTheAdapterAndItsMetering(stillOnThePhone: Bool) throws {
        let dir = folder("sip-settle")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recordPath = dir.appendingPathComponent("record.log").path
        try TransferRecord(path: recordPath).start(seq: 1, eventID: "j-1")  // the crash came right after this
        let phone = try ScriptedSoftphone(calls: [stillOnThePhone ? "SIP/agent-1" : "other"], outcome: .transferred)
        let adapter = CTIAdapter(configuration: .init(), driver: MeteredDriver(driver(phone, trueBlind: true)),
                                 record: try TransferRecord(path: recordPath), logger: quietLogger)
        try adapter.handle([transferEvent(1)])
        let refers = phone.commands.filter { $0.hasPrefix("transfer") }
        #expect(refers.count == (stillOnThePhone ? 1 : 0), "\(phone.commands)")
        let record = try String(contentsOfFile: recordPath, encoding: .utf8)
        #expect(record.contains("done 1 j-1 ok") && !record.contains("unknown"), "\(record)")
    }

    /// A restarted adapter whose first connection breaks asks again within `settle_wait` instead of recording
    /// the outcome unknown at once (which left a caller untransferred after a kill -9 under load).
    @Test func aSettleAsksAgainWhenTheFirstConnectionBreaks() throws {
        let gone = try ScriptedSoftphone(calls: ["c1"], outcome: .transferred, droppingTheFirstConnections: 1)
        #expect(driver(gone, trueBlind: true).wasPerformed(transfer("gone")) == true)
        let still = try ScriptedSoftphone(calls: ["c1"], outcome: .transferred, droppingTheFirstConnections: 1)
        #expect(driver(still, trueBlind: true).wasPerformed(transfer("c1")) == false)
    }

    /// Unreachable for all of `settle_wait`: unknown (never performed again), with the reason logged once.
    @Test func aSoftphoneUnreachableForAllOfTheSettleWaitIsUnknown() throws {
        let phone = try ScriptedSoftphone(calls: ["c1"], outcome: .transferred, droppingTheFirstConnections: 1_000)
        let log = LogCapture()
        let start = Date()
        #expect(driver(phone, trueBlind: true, log: log).wasPerformed(transfer("c1")) == nil)
        #expect(Date().timeIntervalSince(start) >= 0.3)
        let warnings = log.lines(atLeast: .warning)
        #expect(warnings.count == 1 && warnings[0].contains("cannot settle call c1"), "\(warnings)")
    }

    /// A softphone that is not there: unreachable, with backoff, one warning, and no incident from the
    /// adapter for a driver that never connected.
    @Test func anUnreachableSoftphoneIsOneWarningAndNoIncident() throws {
        let dir = folder("sip-unreachable")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Bound and never listening for the whole test: refused, and no other test can take the port.
        let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(held) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(held, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(held, $0, &length) } }
        var c = SIPDriver.Configuration()
        c.agents = [.init(id: "agent1", host: "127.0.0.1", port: UInt16(bigEndian: addr.sin_port), sip: "sip:agent1@127.0.0.1")]
        c.targets = ["retention": .init(uri: "sip:retention@127.0.0.1:5099")]
        c.timing.reconnectDelay = 0.1
        c.timing.reconnectCeiling = 0.8
        let log = LogCapture()
        let d = SIPDriver(configuration: c, logger: log.logger)
        let control = try ControlRecorder()
        var configuration = CTIAdapter.Configuration()
        configuration.failuresForIncident = 1
        configuration.controlEndpoint = control.endpoint
        let adapter = CTIAdapter(configuration: configuration, driver: d, record: try TransferRecord(path: dir.appendingPathComponent("r.log").path),
                                 logger: log.logger)
        for seq in 1...100 {
            try adapter.handle([transferEvent(UInt64(seq))])
            usleep(10_000)
        }
        #expect(!d.hasReachedTelephony)
        #expect(!adapter.incidentDeclared)
        #expect(control.requests.isEmpty)
        // The driver's "unreachable" warning and the adapter's "never reached" line; not one per transfer.
        #expect(log.lines(atLeast: .warning).count == 2, "\(log.lines(atLeast: .warning))")
    }

    @Test func aConfigurationFileIsReadAndItsMistakesNamed() throws {
        let dir = folder("sip-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.json")
        try #"{"agents":[{"id":"a1","control":"127.0.0.1:4444","sip":"sip:a1@127.0.0.1"}],"targets":{"retention":{"uri":"sip:r@pbx","number_uri":"sip:8800@trunk","true_blind":true}},"timing":{"warm_timeout":12},"tag_calls":false}"#
            .write(to: good, atomically: true, encoding: .utf8)
        let c = try SIPDriver.Configuration(contentsOf: good.path)
        #expect(c.agents == [.init(id: "a1", host: "127.0.0.1", port: 4444, sip: "sip:a1@127.0.0.1")])
        #expect(c.targets["retention"] == .init(uri: "sip:r@pbx", numberURI: "sip:8800@trunk", trueBlind: true))
        #expect(c.timing.warmTimeout == 12 && !c.tagCalls)
        for (text, member) in [(#"{"agents":[]}"#, "agents"), (#"{"agents":[{"id":"a","control":"nohost","sip":"sip:a@b"}]}"#, "agents[0].control"),
                               (#"{"agents":[{"id":"a","control":"h:1","sip":"sip:a@b"}],"targets":{"r":{"uri":"tel:1"}}}"#, "targets.r.uri")] {
            let bad = dir.appendingPathComponent("bad.json")
            try text.write(to: bad, atomically: true, encoding: .utf8)
            #expect { try SIPDriver.Configuration(contentsOf: bad.path) } throws: { ($0 as? SIPDriver.ConfigurationError)?.message.hasPrefix(member) == true }
        }
    }
}
