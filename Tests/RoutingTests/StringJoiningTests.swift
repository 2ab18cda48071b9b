import Foundation
import Testing
@testable import Routing

/// `String(joining:_:_:)` builds trace lines in one step; it must say what `a + b + c` says, byte for byte.
@Suite
struct StringJoiningTests {
    @Test func joinsAsConcatenationDoes() {
        let parts = ["", "a", "customer.balance=", "100", " (customer.balance>0)", "москва", "é", "\u{301}", "🇷🇺",
                     String(repeating: "длинный текст ", count: 30), NSString(string: "bridged ✓") as String]
        for a in parts {
            for b in parts {
                for c in parts {
                    let joined = String(joining: a, b, c)
                    #expect(joined.utf8.elementsEqual((a + b + c).utf8), "\(String(reflecting: a)) \(String(reflecting: b)) \(String(reflecting: c))")
                }
            }
        }
    }
}
