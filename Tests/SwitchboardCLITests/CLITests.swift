import Foundation
import TestSupport
import Testing
import Routing
import Wire

/// Runs the built `switchboard` executable, as a user or a script would.
struct CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The executable beside the test bundle (`.build/debug`), built by `swift build --build-tests`.
    static let executable: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return root.appendingPathComponent(".build/debug/switchboard")
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// Writing to a pipe whose reader has exited raises SIGPIPE, which ends the whole test process (seen once in
    /// CI: "exited with unexpected signal code 13"); ignored, the write fails with EPIPE instead.
    static let brokenPipesAreErrors: Void = { signal(SIGPIPE, SIG_IGN) }()

    static func run(_ arguments: [String], stdin: String = "", directory: URL = root, environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.currentDirectoryURL = directory
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let input = Pipe(), output = Pipe(), error = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = error
        _ = Self.brokenPipesAreErrors
        try p.run()
        // Write and read concurrently so a large batch cannot fill a pipe and stall both sides. A command that
        // exits before reading all of its input (refusing a bad line, say) leaves the rest unwritten: an error
        // here, not the end of the test run.
        let writer = Thread {
            try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let errData = ErrorCollector(error.fileHandleForReading)
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: errData.text())
    }

    /// Drains stderr on its own thread.
    final class ErrorCollector: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)
        init(_ handle: FileHandle) {
            Thread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }.start()
        }
        func text() -> String {
            done.wait()
            return String(decoding: data, as: UTF8.self)
        }
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct RouteCommandTests {
    let call = #"{"call_id":"c-1","topic":"termination","identification":"ФИОПД","customer":{"region":"moscow"},"facts":{"insists":true}}"#

    @Test func decidesOneCall() throws {
        let r = try CLI.run(["route", "--table", "retention-ru", "--at", "2026-11-22T20:49:00Z", "--call", call])
        #expect(r.status == 0, "\(r.stderr)")
        let d = try JSONReader.parse(r.stdout.trimmingCharacters(in: .newlines))
        #expect(d["action"] == .string("transfer"))
        #expect(d["valid_until"] == .string("2026-11-22T23:50:00+03:00"))
        #expect(d["comment"] == .string("Угроза расторжения: клиент настаивает. идент. ФИОПД"))
    }

    @Test func readsTheCallFromStdinAndTakesAPath() throws {
        let r = try CLI.run(["route", "--table", "routing-tables/retention-ru.yaml", "--at", "2026-11-22T20:50:00Z", "--call", "-"], stdin: call)
        #expect(r.status == 0)
        #expect(try JSONReader.parse(r.stdout.trimmingCharacters(in: .newlines))["action"] == .string("case"))
    }

    @Test func ctiIncidentFlag() throws {
        let r = try CLI.run(["route", "--table", "retention-ru", "--at", "2026-11-22T12:00:00Z", "--cti-incident", "--call", call])
        #expect(try JSONReader.parse(r.stdout.trimmingCharacters(in: .newlines))["target"]?["via"] == .string("number"))
    }

    @Test(arguments: [
        (["--table", "retention-ru", "--call", "{not json"], "bad_json"),
        (["--table", "retention-ru", "--call", #"{"call_id":"c","topic":"termination","topik":1}"#], "unknown_field"),
        (["--table", "retention-ru", "--call", #"{"call_id":"c","topic":"retire"}"#], "unknown_topic"),
        (["--table", "retention-ru", "--call", #"{"call_id":"c","topic":"termination"}"#], "missing_fact"),
        (["--table", "retention-ru", "--call", #"{"call_id":"c","topic":"termination","facts":{"insists":"да"}}"#], "bad_type"),
        (["--table", "no-such-table", "--call", #"{"call_id":"c","topic":"termination"}"#], "unknown_table"),
        (["--table", "retention-ru", "--at", "2026-11-22 23:55", "--call", #"{"call_id":"c","topic":"sim_block"}"#], "bad_time"),
        (["--table", "retention-ru", "--call", #"{"topic":"sim_block"}"#], "missing_field"),
    ])
    func badInputPrintsTheErrorObjectAndExits2(arguments: [String], code: String) throws {
        let r = try CLI.run(["route"] + arguments)
        #expect(r.status == 2)
        let e = try JSONReader.parse(r.stdout.trimmingCharacters(in: .newlines))
        #expect(e["error"]?["code"] == .string(code), "\(r.stdout)")
        #expect(e["error"]?["message"].map { !$0.text.isEmpty } == true)
    }

    @Test func batchAnswersEveryLineInOrderAndABadLineNeverStopsIt() throws {
        let input = [
            #"{"at":"2026-11-22T20:49:00Z","call":\#(call)}"#,
            "{broken",
            #"{"at":"2026-11-22T20:50:00Z","call":\#(call)}"#,
            #"{"at":"yesterday","call":\#(call)}"#,
            "",
            #"{"call":{"call_id":"c","topic":"sim_block"}}"#,
        ].joined(separator: "\n")
        let r = try CLI.run(["route", "--table", "retention-ru", "--batch", "--at", "2026-11-22T12:00:00Z"], stdin: input)
        #expect(r.status == 0)
        let out = try r.lines.map { try JSONReader.parse($0) }
        #expect(out.count == 5)
        #expect(out[0]["action"] == .string("transfer"))
        #expect(out[1]["error"]?["code"] == .string("bad_json"))
        #expect(out[2]["action"] == .string("case"))
        #expect(out[3]["error"]?["code"] == .string("bad_time"))
        #expect(out[4]["rule"] == .string("sim_block.first_line"))
    }

    @Test func batchOfTenThousandLines() throws {
        let input = (0..<10_000).map { #"{"at":"2026-11-22T\#(String(format: "%02d", $0 % 24)):00:00+03:00","call":{"call_id":"c\#($0)","topic":"termination","facts":{"insists":true}}}"# }
            .joined(separator: "\n") + "\n"
        let r = try CLI.run(["route", "--table", "retention-ru", "--batch"], stdin: input)
        #expect(r.status == 0)
        let lines = r.lines
        #expect(lines.count == 10_000)
        // Hours 00–03 of Moscow are closed, 04–23 open: the order of answers follows the input.
        for (n, line) in lines.enumerated() where n < 48 {
            #expect(line.hasPrefix(n % 24 < 4 ? #"{"action":"case""# : #"{"action":"transfer""#), "line \(n)")
        }
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct CheckCommandTests {
    @Test func bundledTablesPass() throws {
        let r = try CLI.run(["check"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("retention-ru"))
        #expect(r.stdout.contains("scenarios passed"))
    }

    /// A broken copy of the flagship table: each fault is reported at its line and column.
    @Test func brokenCopyFailsWithPositions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var text = try String(contentsOf: CLI.root.appendingPathComponent("routing-tables/retention-ru.yaml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "transfer: equipment-experts-repeat", with: "transfer: equipment-experts-rep")  // bad reference
            .replacingOccurrences(of: "when: {facts.choose_number: true}", with: "when: {facts.choose_number: \"yes\"}")  // wrong fact type
            .replacingOccurrences(of: "phrases: [shift_senior]", with: "phrases: [shift_seniour]")  // missing phrase
        try text.write(to: dir.appendingPathComponent("retention-ru.yaml"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["check", "--tables", dir.path])
        #expect(r.status != 0)
        let errors = r.stderr.split(separator: "\n").map(String.init)
        #expect(errors.count == 3, "\(r.stderr)")
        let pattern = #/retention-ru\.yaml:(\d+):(\d+): error: /#
        #expect(errors.allSatisfy { $0.contains(pattern) })
        #expect(errors.contains { $0.contains("unknown target 'equipment-experts-rep'") })
        #expect(errors.contains { $0.contains("'facts.choose_number' is bool") })
        #expect(errors.contains { $0.contains("unknown phrase 'shift_seniour'") })
        // Lines point at the faults themselves.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for error in errors {
            guard let m = error.firstMatch(of: pattern), let n = Int(m.1) else { continue }
            let line = String(lines[n - 1])
            #expect(line.contains("equipment-experts-rep") || line.contains("\"yes\"") || line.contains("shift_seniour"), "\(error) → \(line)")
        }
    }

    @Test func failingScenarioNamesTheScenarioAndTheDifference() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: CLI.root.appendingPathComponent("routing-tables/retention-ru.yaml"), to: dir.appendingPathComponent("retention-ru.yaml"))
        try """
        table: retention-ru
        scenarios:
          - name: wrong target on purpose
            at: "2026-11-23T12:00:00+03:00"
            call: {call_id: x, topic: termination, facts: {insists: true}}
            expect: {target: equipment-experts}
        """.write(to: dir.appendingPathComponent("retention-ru.scenarios.yaml"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["check", "retention-ru", "--tables", dir.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("retention-ru.scenarios.yaml:3:5: scenario 'wrong target on purpose': target: expected \"equipment-experts\", got \"retention\""), "\(r.stderr)")
        #expect(r.stdout.contains("0 of 1 scenarios passed"))
    }
}

/// Issue 14, "first use of the command line": what a new operator trips over.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct FirstUseTests {
    @Test(arguments: [
        (["route", "--tabel", "retention-ru", "--call", "{}"], "unknown option '--tabel' for switchboard route. Did you mean '--table'?"),
        (["route", "--table", "retention-ru", "--cal", "{}"], "unknown option '--cal' for switchboard route. Did you mean '--call'?"),
        (["rout", "--table", "retention-ru"], "'rout' is not a command of switchboard. Did you mean 'route'?"),
        (["chek"], "Did you mean 'check'?"),
        (["journal", "exprot"], "'exprot' is not a command of switchboard journal. Did you mean 'export'?"),
        (["simulate", "--query", "127.0.0.1:6570"], "--query 127.0.0.1:6570 is not a ZeroMQ endpoint: it needs its transport, like tcp://127.0.0.1:6570."),
        (["serve", "--control=127.0.0.1:6573"], "--control 127.0.0.1:6573 is not a ZeroMQ endpoint"),
        (["recorder", "--events", "tcp://127.0.0.1:5571,10.0.0.2:5571"], "--events 10.0.0.2:5571 is not a ZeroMQ endpoint: it needs its transport, like tcp://10.0.0.2:5571."),
    ])
    func aTypoIsNamedWithASuggestion(_ arguments: [String], _ message: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 64)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!r.stderr.contains("Missing expected argument") && !r.stderr.contains("give exactly one of"))
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test(arguments: [
        (["comments", "--db", "/nonexistent/comments.sqlite"], "no comment store at /nonexistent/comments.sqlite"),
        (["check", "--tables", "/nonexistent-tables"], "cannot list the tables in /nonexistent-tables"),
        (["coverage", "--tables", "/nonexistent-tables"], "cannot list the tables in /nonexistent-tables"),
        (["diff", "retention-ru", "/nonexistent/new.yaml"], "no table /nonexistent/new.yaml: /nonexistent/new.yaml does not exist"),
        (["journal", "export", "--data", "/nonexistent-data"], "no journal at"),
        (["route", "--table", "es-fraud-alerts", "--sessions", "/nonexistent-folder/sessions.jsonl", "--call", "{}"],
         "--sessions /nonexistent-folder/sessions.jsonl: the folder /nonexistent-folder does not exist"),
    ])
    func aRuntimeFailureIsOneLineAndExit1(_ arguments: [String], _ message: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!r.stderr.contains("Usage:"))
    }

    @Test func notJSONSaysAnObjectWasExpected() throws {
        let r = try CLI.run(["route", "--table", "retention-ru", "--call", "not json"])
        #expect(r.status == 2)
        let e = try JSONReader.parse(r.stdout.trimmingCharacters(in: .newlines))
        #expect(e["error"]?["code"] == .string("bad_json"))
        #expect(e["error"]?["message"] == .string(#"the call must be a JSON object, like {"call_id": "c-1", "topic": "…"}; got "not json", which is not JSON."#))
    }

    @Test func prettyIsForPeople() throws {
        let r = try CLI.run(["route", "--table", "retention-ru", "--at", "2026-11-22T20:49:00Z", "--pretty",
                             "--call", #"{"call_id":"c-1","topic":"termination","facts":{"insists":true}}"#])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("action: transfer\ntarget:\n  id: retention\n"), "\(r.stdout)")
        #expect(r.stdout.contains("phrases:\n  - Для решения вопроса потребуется помощь старшего специалиста."))
        #expect(r.stdout.contains("\ntrace:\n  - topic=termination\n"))
        #expect(!r.stdout.contains("procedure") && !r.stdout.contains("{"))
        #expect(try CLI.run(["route", "--table", "retention-ru", "--pretty", "--batch"]).status == 64)
    }

    /// Defaults are relative to the working directory; the environment names them from anywhere.
    @Test func tablesAndDataFromTheEnvironment() throws {
        let elsewhere = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let lost = try CLI.run(["check", "cn-card-service"], directory: elsewhere)
        #expect(lost.status == 1)
        let found = try CLI.run(["check", "cn-card-service"], directory: elsewhere,
                                environment: ["SWITCHBOARD_TABLES": CLI.root.appendingPathComponent("routing-tables").path])
        #expect(found.status == 0, "\(found.stderr)")
        #expect(found.stdout.contains("scenarios passed"))
        let data = elsewhere.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let comments = try CLI.run(["comments"], directory: elsewhere, environment: ["SWITCHBOARD_DATA": data.path])
        #expect(comments.stderr.contains("no comment store at \(data.path)/comments.sqlite"), "\(comments.stderr)")
    }
}

/// `check --scenarios FILE` and the holiday-calendar warnings of check and coverage.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct CheckOptionsTests {
    @Test func aCandidateTableRunsTheScenariosNamed() throws {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let candidate = dir.appendingPathComponent("candidate.yaml")
        try FileManager.default.copyItem(at: CLI.root.appendingPathComponent("routing-tables/cn-card-service.yaml"), to: candidate)
        let alone = try CLI.run(["check", candidate.path])
        #expect(alone.stdout.contains("no scenario file"))
        let r = try CLI.run(["check", candidate.path, "--scenarios", "routing-tables/cn-card-service.scenarios.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("39 of 39 scenarios passed"), "\(r.stdout)")
        #expect(try CLI.run(["check", "--scenarios", "routing-tables/cn-card-service.scenarios.yaml"]).status == 64)
        let missing = try CLI.run(["check", candidate.path, "--scenarios", dir.appendingPathComponent("none.yaml").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no such scenario file"))
    }

    @Test func aCalendarEndingWithin90DaysIsAWarning() throws {
        let soon = try CLI.run(["check", "es-bank-directory", "--at", "2027-11-01T12:00:00+01:00"])
        #expect(soon.status == 0)
        #expect(soon.stderr.contains("warning: table es-bank-directory: the holiday calendar of schedule 'online-support-hours' (2026-2027) ends on 2027-12-31, in 60 days"), "\(soon.stderr)")
        let ended = try CLI.run(["coverage", "es-bank-directory", "--at", "2028-01-06T12:00:00+01:00"])
        #expect(ended.status == 0)
        #expect(ended.stdout.contains("warning: table es-bank-directory: the holiday calendar of schedule 'office-hours' (2026-2027) ended on 2027-12-31"))
        let json = try CLI.run(["coverage", "es-bank-directory", "--json", "--at", "2028-01-06T12:00:00+01:00"])
        let report = try JSONReader.parse(json.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        if case .array(let calendars)? = report["calendars"] { #expect(calendars.count == 6) } else { Issue.record("no calendars in \(json.stdout)") }
        let quiet = try CLI.run(["check", "es-bank-directory", "--at", "2026-11-23T12:00:00+01:00"])
        #expect(!quiet.stderr.contains("warning"))
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct KeygenCommandTests {
    @Test func printsAPair() throws {
        let r = try CLI.run(["keygen"])
        #expect(r.status == 0)
        let pair = try JSONReader.parse(r.stdout.trimmingCharacters(in: .newlines))
        #expect(pair["public"]?.text.count == 40 && pair["secret"]?.text.count == 40)
    }

    @Test func writesKeyFilesWithThePrivateOneProtected() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["keygen", "--out", dir.appendingPathComponent("engine").path])
        #expect(r.status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("engine.key").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let pub = try String(contentsOf: dir.appendingPathComponent("engine.pub"), encoding: .utf8)
        #expect(pub.trimmingCharacters(in: .newlines).count == 40)
    }

    @Test func serveRefusesHalfACurveConfiguration() throws {
        let r = try CLI.run(["serve", "--curve-allow", "/dev/null"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("go together"))
    }
}
