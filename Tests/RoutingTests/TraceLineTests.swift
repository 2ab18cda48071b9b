import Testing
@testable import Routing

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
