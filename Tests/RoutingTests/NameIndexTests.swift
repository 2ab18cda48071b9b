import Testing
@testable import Routing
import TestSupport

/// `index(ofName:)` compares names of the key's length first; among distinct names it must find what
/// `firstIndex(of:)` finds, canonically equivalent texts of other lengths included.
@Suite(.timeLimit(.minutes(5)))
struct NameIndexTests {
    @Test func findsWhatFirstIndexFinds() {
        // `K` and KELVIN SIGN, `é` composed and decomposed, `Å` and ANGSTROM SIGN: equal under `==`, of different lengths.
        let pieces = ["a", "K", "\u{212A}", "\u{E9}", "e\u{301}", "\u{C5}", "\u{212B}", "_", "я", "中"]
        var rng = SplitMix64(seed: 23)
        for _ in 0..<5_000 {
            func text() -> String { (0..<Int.random(in: 1...3, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined() }
            let names = (0..<Int.random(in: 0...6, using: &rng)).map { _ in text() }
            guard Set(names).count == names.count else { continue }  // names are distinct, as a table's and a call's are
            let key = text()
            #expect(names.index(ofName: key) == names.firstIndex(of: key), "\(names) \(key)")
        }
        #expect(["call_id", "K"].index(ofName: "\u{212A}") == 1)
        #expect(["facts", "topic"].index(ofName: "notes") == nil)
    }
}
