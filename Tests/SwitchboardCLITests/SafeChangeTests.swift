import Foundation
import TestSupport
import Testing
import Wire

/// `switchboard coverage`, `diff` and `journal export`, as a team gating table changes would run them.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct SafeChangeTests {
    func folderWithVariant(_ replacements: [(String, String)]) throws -> URL {
        let dir = temporaryFolder()
        var text = try String(contentsOf: CLI.root.appendingPathComponent("routing-tables/retention-ru.yaml"), encoding: .utf8)
        for (a, b) in replacements { text = text.replacingOccurrences(of: a, with: b) }
        try text.write(to: dir.appendingPathComponent("new.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func coverageOfTheBundledTablesIsClean() throws {
        let r = try CLI.run(["coverage"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("summary: 0 gaps, 0 unreachable, 0 nowhere to go"))
        let json = try CLI.run(["coverage", "--json", "retention-ru"])
        let report = try JSONReader.parse(json.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(report["ok"] == .bool(true))
        if case .array(let topics)? = report["topics"] { #expect(topics.count == 19) }
    }

    @Test func coverageFindsAGapAndExitsOne() throws {
        // Without its first-line rule, termination decides nothing for a caller who does not insist.
        let dir = try folderWithVariant([("""
              - id: termination.first_line
                first_line: "Выясни причину расторжения и предложи решение самостоятельно: более выгодный тариф, услугу со скидкой, отключение ненужных услуг, скидку"
                comment: "Угроза расторжения: предложено решение на первой линии"
        """, "")])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["coverage", dir.appendingPathComponent("new.yaml").path])
        #expect(r.status == 1)
        #expect(r.stdout.contains("error: topic 'termination' has no rule for language=other, facts.insists=false"), "\(r.stdout)")
        #expect(r.stdout.contains("error: topic 'termination' has no rule for language=absent, facts.insists=false"))
        #expect(r.stdout.contains("2 GAPS"))  // English speakers are decided by the global rule
        // The same table does not load for serving.
        #expect(try CLI.run(["check", dir.appendingPathComponent("new.yaml").path]).status != 0)
    }

    @Test func diffReportsChangesAndExpectGatesThem() throws {
        let dir = try folderWithVariant([("when_closed: {transfer: duty-supervisor}", "when_closed: {case: bo-retention-transfer}")])
        defer { try? FileManager.default.removeItem(at: dir) }
        let new = dir.appendingPathComponent("new.yaml").path
        let r = try CLI.run(["diff", "retention-ru", new, "--from", "2026-11-23"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("key_account_request: key_account_request.transfer → key_account_request.transfer  [action, target, case, via, mode]"), "\(r.stdout)")
        #expect(r.stdout.contains("before: transfer duty-supervisor (cti, warm)   after: case bo-retention-transfer"))
        let expect = dir.appendingPathComponent("expect.yaml")
        try "- {topic: key_account_request, fields: [action, target, case, via, mode]}\n".write(to: expect, atomically: true, encoding: .utf8)
        let gated = try CLI.run(["diff", "retention-ru", new, "--from", "2026-11-23", "--expect", expect.path])
        #expect(gated.status == 0, "\(gated.stdout)")
        #expect(gated.stdout.contains("(expected)"))
        try "- {topic: termination}\n".write(to: expect, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["diff", "retention-ru", new, "--from", "2026-11-23", "--expect", expect.path]).status == 1)
        let json = try CLI.run(["diff", "retention-ru", new, "--from", "2026-11-23", "--json"])
        let report = try JSONReader.parse(json.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(report["unexpected_groups"] == .number(1))
        let same = try CLI.run(["diff", "retention-ru", "retention-ru", "--from", "2026-11-23"])
        #expect(same.status == 0)
        #expect(same.stdout.contains("no decision changed"))
    }

    /// Recorded calls from the engine's journal, replayed against a changed table.
    @Test func journalExportFeedsDiff() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        _ = try LoadClient.run(endpoint: serve.endpoints["query"]!, total: 50)  // termination, insists, at noon Moscow
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
        let export = try CLI.run(["journal", "export", "--data", folder.appendingPathComponent("data").path, "--table", "retention-ru"])
        #expect(export.status == 0)
        #expect(export.lines.count == 50)
        let first = try JSONReader.parse(export.lines[0])
        #expect(first["call"]?["topic"] == .string("termination"))
        let calls = folder.appendingPathComponent("calls.jsonl")
        try export.stdout.write(to: calls, atomically: true, encoding: .utf8)
        // The batch format: route --batch takes the export as it is.
        let routed = try CLI.run(["route", "--table", "retention-ru", "--batch"], stdin: export.stdout)
        #expect(routed.lines.count == 50)
        // Retention closing at 11:00 moves every one of these noon calls to a case.
        let dir = try folderWithVariant([(#"hours: "04:00-23:50""#, #"hours: "04:00-11:00""#)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["diff", "retention-ru", dir.appendingPathComponent("new.yaml").path, "--calls", calls.path, "--no-sweep"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("calls decided: 50 recorded"))
        #expect(r.stdout.contains("50 calls changed, in 1 group(s)"), "\(r.stdout)")
    }
}

/// The README's `diff` walk-through runs as written, and `diff`'s first-use fixes.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct DiffWalkThroughTests {
    @Test func theReadmeWalkThroughRuns() throws {
        let readme = try String(contentsOf: CLI.root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let marker = readme.range(of: "<!-- diff walk-through -->\n```sh\n"),
              let end = readme.range(of: "\n```", range: marker.upperBound..<readme.endIndex) else {
            Issue.record("README.md has no diff walk-through block")
            return
        }
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = String(readme[marker.upperBound..<end.lowerBound])
            .replacingOccurrences(of: ".build/release/switchboard", with: CLI.executable.path)
            .replacingOccurrences(of: "/tmp/candidate", with: folder.path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = CLI.root
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let errors = CLI.ErrorCollector(err.fileHandleForReading)
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let stderr = errors.text()
        #expect(p.terminationStatus == 0, "\(stdout)\(stderr)")
        #expect(stdout.contains("116 of 117 scenarios passed"), "\(stdout)")
        #expect(stderr.split(separator: "\n").filter { $0.contains("scenario 'key_account_request: retention closed: duty supervisor, warm'") }.count == 3, "\(stderr)")
        #expect(stdout.contains("10 calls changed, in 1 group(s):"))
        #expect(stdout.contains("[action, target, case, via, mode]  10 call(s) (expected)"), "\(stdout)")
    }

    @Test func examplesZeroPrintsNone() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = try String(contentsOf: CLI.root.appendingPathComponent("routing-tables/retention-ru.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "when_closed: {transfer: duty-supervisor}", with: "when_closed: {case: bo-retention-transfer}")
        let new = folder.appendingPathComponent("new.yaml")
        try text.write(to: new, atomically: true, encoding: .utf8)
        let r = try CLI.run(["diff", "retention-ru", new.path, "--from", "2026-11-23", "--examples", "0"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("10 call(s)"))
        #expect(!r.stdout.contains("before:"), "\(r.stdout)")
        // An expected change without a topic is refused (exit 2), not read as "anything may change".
        let expect = folder.appendingPathComponent("expect.yaml")
        try "- {fields: [action, target, case, via, mode]}\n".write(to: expect, atomically: true, encoding: .utf8)
        let refused = try CLI.run(["diff", "retention-ru", new.path, "--from", "2026-11-23", "--expect", expect.path])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("expected change 1 names no topic, so it would approve every change"), "\(refused.stderr)")
        try "- {topic: \"*\", fields: [action, target, case, via, mode]}\n".write(to: expect, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["diff", "retention-ru", new.path, "--from", "2026-11-23", "--expect", expect.path]).status == 0)
    }
}
