import Testing
@testable import Routing
@testable import TableLanguage
import TestSupport

/// Each way a table can be wrong is reported at its file, line and column, saying what was expected.
@Suite(.timeLimit(.minutes(5)))
struct TableLoaderTests {
    /// A valid table, with `{{TOPICS}}` and friends replaced by each test's variation.
    static let base = """
    table: t
    time_zone: Europe/Moscow
    parameters:
      limit: 600
    customer:
      vip: {type: bool, default: false}
    phrases:
      hello: "Здравствуйте"
    schedules:
      day:
        weekly: [{days: daily, hours: "09:00-18:00"}]
    targets:
      line: {name: Line, address: "1", schedule: day, mode: blind, phrases: [hello]}
      always: {name: Always, address: "2", mode: warm}
    cases:
      later: {category: "Later/Позже", priority: urgent, subject: Subj}
    topics:
      t:
        facts:
          ok: bool
          kind: [a, b]
          amount: number
        rules:
    {{RULES}}
    """

    func yaml(_ rules: String) -> String {
        TableLoaderTests.base.replacingOccurrences(of: "{{RULES}}", with: rules)
    }

    func load(rules: String) -> [TableError] {
        loadErrors(yaml(rules))
    }

    /// Line and column (1-based, in Unicode scalars as libyaml counts) of the first `token` at or after line `from`.
    func position(of token: String, in text: String, from: Int = 24) -> (line: Int, column: Int) {
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where n + 1 >= from {
            if let r = line.range(of: token) {
                return (n + 1, line.unicodeScalars.distance(from: line.unicodeScalars.startIndex, to: r.lowerBound) + 1)
            }
        }
        fatalError("token \(token) not in the test table")
    }

    /// Exactly one error, pointing at `token` in `rules`, whose message contains `fragment`.
    func expectOne(rules: String, at token: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let errors = load(rules: rules)
        let (line, column) = position(of: token, in: yaml(rules))
        #expect(errors.count == 1, "\(errors)", sourceLocation: sourceLocation)
        guard let e = errors.first else { return }
        #expect(e.mark.line == line && e.mark.column == column, "\(e) (expected \(line):\(column))", sourceLocation: sourceLocation)
        #expect(e.message.contains(fragment), "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.hasPrefix("test.yaml:\(line):\(column): error: "), sourceLocation: sourceLocation)
    }

    @Test func validTableLoads() throws {
        let t = try table(TableLoaderTests.base.replacingOccurrences(of: "{{RULES}}", with: """
              - {id: a, when: {facts.ok: true}, transfer: line, when_closed: {case: later}}
              - {id: b, first_line: "up to {param.limit}"}
        """))
        #expect(t.topicCodes == ["t"])
        #expect(t.version.count == 16)
    }

    @Test func unknownTarget() {
        expectOne(rules: "      - {id: a, transfer: lien}", at: "lien", "unknown target 'lien'")
    }

    @Test func unknownCase() {
        expectOne(rules: "      - {id: a, case: latter}", at: "latter", "unknown case 'latter'")
    }

    @Test func unknownPhrase() {
        expectOne(rules: "      - {id: a, first_line: x, phrases: [helo]}", at: "helo", "unknown phrase 'helo'")
    }

    @Test func unknownFact() {
        expectOne(rules: "      - {id: a, when: {facts.okk: true}, first_line: x}\n      - {id: b, first_line: y}", at: "facts.okk", "unknown fact 'okk'")
    }

    @Test func factComparedWithTheWrongType() {
        expectOne(rules: "      - {id: a, when: {facts.ok: \"yes\"}, first_line: x}\n      - {id: b, first_line: y}", at: "\"yes\"", "'facts.ok' is bool")
        expectOne(rules: "      - {id: a, when: {facts.kind: c}, first_line: x}\n      - {id: b, first_line: y}", at: "c}", "expected one of \"a\", \"b\"")
        expectOne(rules: "      - {id: a, when: {facts.kind: {gt: 3}}, first_line: x}\n      - {id: b, first_line: y}", at: "gt:", "'gt' compares numbers")
    }

    @Test func unknownParameter() {
        expectOne(rules: "      - {id: a, when: {facts.amount: {gt: $limt}}, first_line: x}\n      - {id: b, first_line: y}", at: "$limt", "unknown parameter 'limt'")
    }

    @Test func gap_aCombinationNoRuleDecides() {
        let errors = load(rules: "      - {id: a, when: {facts.ok: true}, first_line: x}")
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("topic 't' has no rule for facts.ok=false") == true, "\(errors)")
    }

    @Test func unreachableRule() {
        expectOne(rules: """
              - {id: a, when: {facts.amount: {gt: 10}}, first_line: x}
              - {id: b, when: {facts.amount: {gt: 20}}, first_line: y}
              - {id: c, first_line: z}
        """, at: "{id: b", "rule 'b' is unreachable")
    }

    @Test func transferToAClosingTargetNeedsAFallback() {
        expectOne(rules: "      - {id: a, transfer: line}", at: "{id: a", "needs 'when_closed'")
        // A fallback that can itself close is not enough either.
        expectOne(rules: "      - {id: a, transfer: line, when_closed: {transfer: line}}", at: "{id: a", "needs 'when_closed'")
        // A 24/7 target is.
        #expect(load(rules: "      - {id: a, transfer: line, when_closed: {transfer: always}}").isEmpty)
    }

    @Test func ruleMustDecideExactlyOneThing() {
        expectOne(rules: "      - {id: a, transfer: always, case: later}", at: "{id: a", "exactly one of")
        expectOne(rules: "      - {id: a}", at: "{id: a", "exactly one of")
    }

    @Test func unknownKeysAreNamed() {
        expectOne(rules: "      - {id: a, first_line: x, comentary: y}", at: "comentary", "unknown key 'comentary'")
    }

    @Test func duplicateRuleID() {
        expectOne(rules: "      - {id: a, when: {facts.ok: true}, first_line: x}\n      - {id: a, first_line: y}", at: "{id: a, first_line: y", "used twice")
    }

    @Test func badHours() {
        let errors = loadErrors(TableLoaderTests.base.replacingOccurrences(of: "09:00-18:00", with: "9-18")
            .replacingOccurrences(of: "{{RULES}}", with: "      - {id: a, first_line: x}"))
        #expect(errors.contains { $0.mark.line == 11 && $0.message.contains("must be a window like 04:00-23:50") }, "\(errors)")
    }

    @Test func unknownTimeZone() {
        let errors = loadErrors(TableLoaderTests.base.replacingOccurrences(of: "Europe/Moscow", with: "Europe/Moskva")
            .replacingOccurrences(of: "{{RULES}}", with: "      - {id: a, first_line: x}"))
        #expect(errors.first.map { $0.mark.line == 2 && $0.mark.column == 12 && $0.message.contains("not an IANA time zone") } == true, "\(errors)")
    }

    @Test func yamlSyntaxAndDuplicateKeys() {
        let syntax = loadErrors("table: t\ntopics: [unclosed\n")
        #expect(syntax.count == 1 && syntax[0].message.contains("not valid YAML"), "\(syntax)")
        let duplicate = loadErrors("table: t\ntable: u\ntime_zone: UTC\ntopics: {}\n")
        #expect(duplicate.count == 1 && duplicate[0].message.contains("duplicate key 'table'"), "\(duplicate)")
    }

    /// YAML tells `1:` from `"1":`, both topic `1` to a call: the second is refused rather than one hiding the other.
    @Test func aTopicCodeGivenTwiceIsRefused() {
        let rules = "    rules: [{id: RULE, first_line: x}]\n"
        let errors = loadErrors("table: t\ntime_zone: UTC\ntopics:\n  1:\n" + rules.replacingOccurrences(of: "RULE", with: "a")
                                + "  \"1\":\n" + rules.replacingOccurrences(of: "RULE", with: "b"))
        #expect(errors.count == 1 && errors[0].message == "topic '1' is declared twice." && errors[0].mark.line == 6, "\(errors)")
    }

    @Test func missingRequiredKeys() {
        let errors = loadErrors("table: t\ntopics: {}\n")
        #expect(errors.count == 1 && errors[0].message.contains("needs 'time_zone'"), "\(errors)")
    }

    @Test func everyErrorIsReportedNotJustTheFirst() {
        let errors = load(rules: "      - {id: a, transfer: lien}\n      - {id: b, case: latter}\n      - {id: c, first_line: x, phrases: [helo]}")
        #expect(errors.map(\.mark.line) == [24, 25, 26], "\(errors)")
    }

    @Test func yaml11WordsAreNotBooleans() throws {
        // YAML 1.1 would read `no` as false and `04:00` as 240; tables use YAML 1.2's core schema.
        let t = try table("""
        table: t
        time_zone: UTC
        customer:
          region: {type: string}
        topics:
          t:
            rules:
              - {id: norway, when: {customer.region: no}, first_line: "Norway"}
              - {id: other, first_line: "Other"}
        """)
        let d = try t.evaluate(Call(callID: "c", topic: "t", customer: ["region": .string("no")]), at: Instant(seconds: 0))
        #expect(d.rule == "norway")
    }

    @Test func versionIsAHashOfTheContent() throws {
        let a = try table(TableLoaderTests.base.replacingOccurrences(of: "{{RULES}}", with: "      - {id: a, first_line: x}"))
        let b = try table(TableLoaderTests.base.replacingOccurrences(of: "{{RULES}}", with: "      - {id: a, first_line: x}"))
        let c = try table(TableLoaderTests.base.replacingOccurrences(of: "{{RULES}}", with: "      - {id: a, first_line: y}"))
        #expect(a.version == b.version)
        #expect(a.version != c.version)
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256KnownVectors(input: String, digest: String) {
        #expect(SHA256.hex(of: Array(input.utf8)) == digest)
    }
}

/// One mistake, one error: a reference to a declaration that failed to compile is not reported again.
@Suite(.timeLimit(.minutes(5)))
struct CascadeTests {
    @Test func aBadKeyInAScheduleIsTheOnlyError() throws {
        let text = try bundledTableText("retention-ru").replacingOccurrences(of: "        hours: \"04:00-23:50\"\n",
                                                                               with: "        hours: \"04:00-23:50\"\n        hour: \"x\"\n")
        let errors = loadErrors(text)
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.message.contains("unknown key 'hour' in a weekly entry of schedule 'retention-hours'") == true)
    }

    @Test func aBadTargetAndABadCaseAreReportedWhereTheyAreNotWhereTheyAreUsed() {
        let errors = loadErrors("""
        table: t
        time_zone: Europe/Madrid
        targets:
          desk: {name: Desk, address: "1", mode: sideways}
        cases:
          back: {category: "Back", priority: high}
        topics:
          t:
            facts: {ok: bool}
            rules:
              - {id: t.go, when: {facts.ok: true}, transfer: desk}
              - {id: t.case, case: back}
        """)
        #expect(errors.map(\.message) == ["mode of target 'desk' must be blind or warm.", "priority of case 'back' must be normal or urgent."])
    }

    @Test func anUndeclaredTargetIsStillReported() {
        let errors = loadErrors("""
        table: t
        time_zone: Europe/Madrid
        topics:
          t:
            rules:
              - {id: t.go, transfer: nowhere}
        """)
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("unknown target 'nowhere'") == true)
    }
}
