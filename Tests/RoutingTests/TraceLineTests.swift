import Testing
@testable import Routing
import TableLanguage
import TestSupport

/// The trace keeps a comparison's line once (``EvaluationContext``'s `note`); `contains(saying:)` decides that by
/// hashing a line made for the call once. It must answer what comparing the line with each one does.
@Suite
struct TraceLineTests {
    @Test func findsALineAsComparingEachDoes() {
        // Texts that are equal only canonically (KELVIN SIGN and K, a precomposed and a decomposed é), or
        // differ only in length or in one byte.
        let texts = ["customer.balance=100 (customer.balance>0)", "customer.balance=10 (customer.balance>0)", "K=1", "\u{212A}=1",
                     "é", "e\u{301}", "", "facts.amount=900 (facts.amount>500)"]
        let rendered = texts.map { RenderedText($0) }
        var lines: [TraceLine] = rendered.map { .rendered($0) } + texts.map { .text($0) }
        lines += [.rendered(RenderedText("K=1"))]  // the same words, another object
        var compared = 0
        // Every trace of up to three of those lines, and every line looked for in it.
        for a in lines.indices {
            for b in lines.indices {
                for c in lines.indices where (a + b + c) % 3 == 0 || a == b {
                    let trace = [lines[a], lines[b], lines[c]]
                    for k in 0...3 {
                        let prefix = Array(trace.prefix(k))
                        for line in lines {
                            #expect(prefix.contains(saying: line) == prefix.contains { $0.says(line) }, "\(prefix.map(\.text)) \(line.text)")
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared > 1000)
        #expect([TraceLine.rendered(RenderedText("\u{212A}=1"))].contains(saying: .text("K=1")), "canonically equal texts are one line")
    }
}

/// A comparison's line is taken once a decision by its probe's number (``Condition/Probe/id``): probes of the
/// same path and comparison share one, so the trace says what it said when every line was compared as text.
@Suite
struct ProbeNumberingTests {
    let noon = at("2026-11-23T12:00:00+03:00")

    /// Every probe of the table's conditions, in written order.
    func probes(_ table: Table) -> [Condition.Probe] {
        var found: [Condition.Probe] = []
        func visit(_ c: Condition) {
            switch c {
            case .always, .targetOpen: break
            case .all(let cs), .any(let cs): cs.forEach(visit)
            case .not(let c): visit(c)
            case .compare(_, let probe, _): found.append(probe)
            }
        }
        for topic in table.topics { topic.rules.forEach { visit($0.condition) } }
        table.redirects.forEach { visit($0.condition) }
        return found
    }

    let balanceTable = """
    table: t
    time_zone: UTC
    customer:
      balance: {type: number}
      name: {type: string}
    targets:
      line: {name: Line, address: "1", mode: blind}
      debt: {name: Debt, address: "2", mode: blind}
    topics:
      t:
        facts:
          urgent: {type: bool}
        rules:
          - {id: t.debt-urgent, when: {customer.balance: {lt: 0}, facts.urgent: true}, transfer: debt}
          - {id: t.debt, when: {customer.balance: {lt: 0}}, transfer: debt}
          - {id: t.rich, when: {customer.balance: {gt: 1000}}, transfer: debt}
          - {id: t.named, when: {customer.name: "Ann \\"A\\" \\\\ Lee"}, transfer: line}
          - {id: t.go, transfer: line}
    """

    @Test func probesThatSayTheSameShareANumber() throws {
        let found = probes(try table(balanceTable))
        #expect(found.map(\.path) == ["customer.balance", "facts.urgent", "customer.balance", "customer.balance", "customer.name"])
        let ids = found.map(\.id)
        #expect(ids.allSatisfy { $0 != nil })
        #expect(ids[0] == ids[2], "the same path and comparison in two rules")
        #expect(Set([ids[0], ids[1], ids[3], ids[4]]).count == 4, "\(ids)")
    }

    @Test func aPathWithAnEqualsSignIsComparedAsText() {
        for path in ["facts.a=b", "facts.a\u{2260}b", "facts.a=\u{338}b"] {
            #expect(Condition.Probe(path: path, comparison: .less(0), domain: [], id: 7).id == nil, "\(path)")
        }
        #expect(Condition.Probe(path: "facts.ab", comparison: .less(0), domain: [], id: 7).id == 7)
    }

    /// A number compared by two rules, a bool by one, a free string: each line once, in the order first made,
    /// and the JSON of lines kept as probe and value the same as of their texts.
    @Test func aComparisonsLineIsTakenOnce() throws {
        let t = try table(balanceTable)
        let call = Call(callID: "c", topic: "t", customer: ["balance": .number(100), "name": .string("Bob \"B\"\n")], facts: ["urgent": .bool(true)])
        let d = try t.evaluate(call, at: noon)
        #expect(d.rule == "t.go")
        #expect(d.trace == ["topic=t", "customer.balance=100 (not customer.balance<0)", "customer.balance=100 (not customer.balance>1000)",
                            "customer.name=Bob \"B\"\n (not customer.name=Ann \"A\" \\ Lee)", "rule t.go"])
        let debt = try t.evaluate(Call(callID: "c", topic: "t", customer: ["balance": .number(-5)], facts: ["urgent": .bool(false)]), at: noon)
        #expect(debt.rule == "t.debt")
        #expect(debt.trace == ["topic=t", "customer.balance=-5 (customer.balance<0)", "facts.urgent=false (not facts.urgent=true)", "rule t.debt"])
    }

    /// A line of another kind that says a comparison's words (a target named like one, consulted by `open:`)
    /// keeps the comparison's line out, as comparing texts did.
    @Test func aLineOfAnotherKindWithTheSameWordsIsKeptOnce() throws {
        let t = try table("""
        table: t
        time_zone: UTC
        customer:
          name: {type: string}
        targets:
          "customer.name=X": {name: Odd, address: "1", mode: blind}
          line: {name: Line, address: "2", mode: blind}
        topics:
          t:
            rules:
              - {id: t.odd, when: {open: "customer.name=X", customer.name: "X open (no schedule)"}, transfer: line}
              - {id: t.go, transfer: line}
        """)
        let d = try t.evaluate(Call(callID: "c", topic: "t", customer: ["name": .string("X open (no schedule)")]), at: noon)
        #expect(d.rule == "t.odd")
        #expect(d.trace == ["topic=t", "customer.name=X open (no schedule)", "rule t.odd"])
    }

    /// Past the first 64 numbers the noted probes are kept in words of their own: still once each.
    @Test func aLargeTablesProbesAreTakenOnceToo() throws {
        let bounds = Array((0..<140).reversed())  // a higher bound first, so each rule can still decide
        let rules = [true, false].map { flag in
            bounds.map { "      - {id: t.over\($0)-\(flag), when: {customer.balance: {gt: \($0 + 1000)}, facts.flag: \(flag)}, transfer: line}\n" }.joined()
        }.joined()
        let t = try table("table: t\ntime_zone: UTC\ncustomer:\n  balance: {type: number}\ntargets:\n  line: {name: Line, address: \"1\", mode: blind}\n"
                          + "topics:\n  t:\n    facts:\n      flag: {type: bool}\n    rules:\n" + rules + "      - {id: t.go, transfer: line}\n")
        #expect(Set(probes(t).compactMap(\.id)).count == bounds.count + 2)  // and `facts.flag` true and false
        let d = try t.evaluate(Call(callID: "c", topic: "t", customer: ["balance": .number(5)]), at: noon)
        #expect(d.trace == ["topic=t"] + bounds.map { "customer.balance=5 (not customer.balance>\($0 + 1000))" } + ["rule t.go"])
    }

    /// Two lists that read the same (`in [Moscow, RU]`) are different comparisons: neither shares the other's
    /// number, and their lines are compared as texts, so each says what it found.
    @Test func listsThatReadTheSameAreToldApart() throws {
        let t = try table("""
        table: t
        time_zone: UTC
        customer:
          city: {type: string}
        targets:
          line: {name: Line, address: "1", mode: blind}
        topics:
          t:
            rules:
              - {id: t.a, when: {customer.city: ["Moscow, RU"]}, transfer: line}
              - {id: t.b, when: {customer.city: [Moscow, RU]}, transfer: line}
              - {id: t.go, transfer: line}
        """)
        let ids = probes(t).map(\.id)
        #expect(ids.count == 2 && ids[0] != nil && ids[1] == nil, "\(ids)")
        let moscow = try t.evaluate(Call(callID: "c", topic: "t", customer: ["city": .string("Moscow")]), at: noon)
        #expect(moscow.rule == "t.b")
        #expect(moscow.trace == ["topic=t", "customer.city=Moscow (not customer.city in [Moscow, RU])",
                                 "customer.city=Moscow (customer.city in [Moscow, RU])", "rule t.b"])
        // Both false: the same words, one line, as comparing texts gave.
        let other = try t.evaluate(Call(callID: "c", topic: "t", customer: ["city": .string("Kazan")]), at: noon)
        #expect(other.trace == ["topic=t", "customer.city=Kazan (not customer.city in [Moscow, RU])", "rule t.go"])
    }

    /// A path with `=` has no number: its line, equal to a numbered probe's, is still kept once.
    @Test func aPathWithAnEqualsSignIsKeptOnceEndToEnd() throws {
        let t = try table("""
        table: t
        time_zone: UTC
        customer:
          a: {type: string}
          "a=b": {type: string}
        targets:
          line: {name: Line, address: "1", mode: blind}
        topics:
          t:
            rules:
              - {id: t.x, when: {customer.a: "q"}, transfer: line}
              - {id: t.y, when: {"customer.a=b": "c (not customer.a=q)"}, transfer: line}
              - {id: t.go, transfer: line}
        """)
        #expect(probes(t).map(\.id).map { $0 == nil } == [false, true])
        let d = try t.evaluate(Call(callID: "c", topic: "t", customer: ["a": .string("b=c"), "a=b": .string("c (not customer.a=q)")]), at: noon)
        // The second comparison holds and says what the first said, `customer.a=b=c (not customer.a=q)`: one line.
        #expect(d.rule == "t.y")
        #expect(d.trace == ["topic=t", "customer.a=b=c (not customer.a=q)", "rule t.y"])
    }
}
