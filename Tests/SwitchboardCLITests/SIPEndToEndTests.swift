import Foundation
import Routing
import TestSupport
import Testing
import Wire

/// Real calls moved by `switchboard cti --driver sip`: the engine, the recorder, the adapter, baresip
/// softphones (agent1, the retention specialist, a caller) and SIPp targets, all started and stopped by
/// `tools/sipbed e2e`, which reports what SIP saw (the caller's and the specialist's baresip call events,
/// SIPp's INVITE traces); the assertions are on those facts, not on Switchboard's own logs.
///
/// Needs `baresip` and `sipp` (tools/setup installs them): without them the test fails.
@Suite(.ownThreads, .serialized) struct SIPEndToEndTests {
    struct Bed {
        var scenarios: [String: Value] = [:]
        var output = ""
    }

    static func runBed() throws -> Bed {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [CLI.root.appendingPathComponent("tools/sipbed").path, "e2e", "--switchboard", CLI.executable.path]
        p.currentDirectoryURL = CLI.root
        let out = Pipe()
        let errorsPath = FileManager.default.temporaryDirectory.appendingPathComponent("sipbed-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errorsPath.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorsPath) }
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: errorsPath)
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var bed = Bed()
        bed.output = String(decoding: data, as: UTF8.self) + ((try? String(contentsOf: errorsPath, encoding: .utf8)) ?? "")
        #expect(p.terminationStatus == 0, "tools/sipbed e2e failed:\n\(bed.output)")
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let v = try JSONReader.parse(String(line))
            if let name = v["scenario"]?.text { bed.scenarios[name] = v }
        }
        return bed
    }

    /// The caller's legs (baresip call events by Call-ID) as (peer URI, event list).
    static func legs(_ v: Value?) -> [(peer: String, events: [String])] {
        guard case .object(let members)? = v?["caller"] else { return [] }
        return members.map { m in
            let events: [String]
            if case .array(let items)? = m.value["events"] { events = items.map(\.text) } else { events = [] }
            return (m.value["peer"]?.text ?? "", events)
        }
    }

    static func strings(_ v: Value?) -> [String] {
        guard case .array(let items)? = v else { return [] }
        return items.map(\.text)
    }

    @Test(.timeLimit(.minutes(8))) func realCallsOverTheSIPBed() throws {
        let bed = try Self.runBed()
        let out = bed.output.suffix(4000)

        // A caller reaches agent1; termination + insists in opening hours: a true blind REFER, and the
        // caller's media ends with the retention specialist.
        let open = try #require(bed.scenarios["open_hours"], "\(out)")
        let cid = open["call_id"]?.text ?? "?"
        #expect(open["decision"]?["target"]?["id"] == .string("retention"))
        let openLegs = Self.legs(open)
        #expect(openLegs.contains { $0.peer.hasPrefix("sip:agent1@") && $0.events.contains("CALL_ESTABLISHED") && $0.events.contains { $0.hasPrefix("CALL_CLOSED") } },
                "the caller's leg with agent1 was set up, then closed by the transfer: \(openLegs)")
        #expect(openLegs.contains { $0.peer.hasPrefix("sip:retention@") && $0.peer.contains("sbcall=\(cid)") && $0.events.contains("CALL_ESTABLISHED")
                                    && $0.events.contains("CALL_RTPESTAB") },
                "the caller set up a call to the retention specialist and receives its audio: \(openLegs)")
        guard case .array(let specialist)? = open["retention_calls"] else { Issue.record("no retention facts"); return }
        #expect(specialist.contains { $0["type"] == .string("CALL_ESTABLISHED") && $0["peer"]?.text.hasPrefix("sip:caller@") == true },
                "the specialist's softphone answered the caller: \(specialist)")
        #expect(specialist.contains { $0["type"] == .string("CALL_RTPESTAB") && $0["peer"]?.text.hasPrefix("sip:caller@") == true },
                "the specialist's softphone receives the caller's audio: \(specialist)")

        // Out of hours: a case, nobody transferred; the caller stays with agent1.
        let closed = try #require(bed.scenarios["out_of_hours"], "\(out)")
        #expect(closed["decision"]?["action"] == .string("case"))
        #expect(closed["retention_new_calls"] == .number(0))
        let closedLegs = Self.legs(closed)
        #expect(closedLegs.count == 1 && closedLegs[0].peer.hasPrefix("sip:agent1@") && !closedLegs[0].events.contains { $0.hasPrefix("CALL_CLOSED") },
                "only the call with agent1, still up: \(closedLegs)")

        // A declared CTI incident: the transfer goes to the number URI.
        let incident = try #require(bed.scenarios["cti_incident"], "\(out)")
        let icid = incident["call_id"]?.text ?? "?"
        #expect(incident["control_on"] == .number(0))
        #expect(incident["decision"]?["target"]?["via"] == .string("number"))
        #expect(Self.strings(incident["number_invites"]).filter { $0.contains("sbcall=\(icid)") }.count == 1, "\(incident)")
        #expect(Self.legs(incident).contains { $0.peer.hasPrefix("sip:number@") && $0.events.contains("CALL_ESTABLISHED") })

        // Warm to the equipment experts: the agent's consultation first, then the caller.
        let warm = try #require(bed.scenarios["warm_equipment"], "\(out)")
        let wcid = warm["call_id"]?.text ?? "?"
        #expect(warm["decision"]?["target"]?["mode"] == .string("warm"))
        let experts = Self.strings(warm["experts_invites"])
        let consult = experts.firstIndex { $0.contains("sbconsult=\(wcid)") }
        let transfer = experts.firstIndex { $0.contains("sbcall=\(wcid)") }
        #expect(consult != nil && transfer != nil && consult! < transfer!, "consultation, then the caller: \(experts)")
        #expect(experts.filter { $0.contains("sbcall=\(wcid)") }.count == 1)
        #expect(Self.legs(warm).contains { $0.peer.hasPrefix("sip:experts@") && $0.events.contains("CALL_ESTABLISHED") })

        // A busy target (486): the consultation is refused, the caller stays with agent1, and it is reported.
        let busy = try #require(bed.scenarios["busy"], "\(out)")
        let bcid = busy["call_id"]?.text ?? "?"
        let english = Self.strings(busy["english_invites"])
        #expect(english.contains { $0.contains("sbconsult=\(bcid)") } && !english.contains { $0.contains("sbcall=\(bcid)") }, "\(english)")
        let busyLegs = Self.legs(busy)
        #expect(busyLegs.count == 1 && !busyLegs[0].events.contains { $0.hasPrefix("CALL_CLOSED") }, "the caller is still with agent1: \(busyLegs)")
        #expect(busy["caller_listcalls"]?.text.contains("sip:agent1@") == true)
        #expect(!Self.strings(busy["cti_log_486"]).isEmpty, "the adapter reported the busy target")

        // The screen pop: the specialist's softphone got the transferred call, and their panel (a real Chromium
        // signed in to `switchboard gateway`) popped the first line's comment, identification and trace, only
        // after the softphone had the call (the pop waits for the adapter's ok on the CTI results feed).
        let pop = try #require(bed.scenarios["screen_pop"], "\(out)")
        let pcid = pop["call_id"]?.text ?? "?"
        #expect(pop["decision"]?["target"]?["id"] == .string("retention"))
        #expect(pop["retention_got_call"] == .bool(true), "the specialist's softphone answered the caller: \(pop)")
        #expect(pop["pop"] == .bool(true), "the panel popped the call: \(pop)")
        #expect(pop["pop_comment"]?.text.contains("клиент недоволен тарифом") == true && pop["pop_comment"] == pop["decision"]?["comment"], "\(pop)")
        #expect(pop["pop_identification"] == .string("ФИОПД"))
        #expect(Self.strings(pop["pop_trace"]) == Self.strings(pop["decision"]?["trace"]) && !Self.strings(pop["pop_trace"]).isEmpty, "\(pop)")
        #expect(pop["pop_text"]?.text.contains(pcid) == true)
        guard case .array(let softphone)? = pop["retention_before_pop"] else { Issue.record("no softphone facts: \(pop)"); return }
        let established = softphone.first { $0["type"] == .string("CALL_ESTABLISHED") }
        if case .number(let ms)? = established?["ms_before_pop"] {
            // The softphone's time is when the bed's reader thread saw its event, which a loaded machine can delay by
            // more than the pop's own path; that the pop waits for the adapter's ok is asserted without clocks in the
            // log-driver browser test. Here: not clearly before the call reached the specialist.
            #expect(ms >= -500, "the pop came \(-ms) ms before the specialist's softphone had the call: \(softphone)")
        } else {
            Issue.record("the specialist's softphone never had the call before the pop: \(softphone)")
        }
        #expect(Self.strings(pop["cti_transferred"]).count == 1, "the adapter transferred the call once: \(pop)")

        // kill -9 of the adapter in the middle of 200 transfers: at the target, every caller exactly once.
        let kill = try #require(bed.scenarios["kill9"], "\(out)")
        #expect(kill["calls"] == .number(200))
        #expect(kill["killed"] == .bool(true))
        #expect(kill["transferred_once"] == .number(200), "\(kill)")
        #expect(Self.strings(kill["twice"]).isEmpty && Self.strings(kill["never"]).isEmpty, "\(kill)")
    }
}
