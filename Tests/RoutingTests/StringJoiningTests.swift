import Foundation
import Testing
@testable import Routing

/// `String(joining:_:_:)` builds trace lines in one step; it must say what `a + b + c` says, byte for byte.
@Suite
struct StringJoiningTests {
    @Test func joinsAsConcatenationDoes() {
        let parts = ["", "a", "customer.balance=", "100", " (customer.balance>0)", "москва", "é", "\u{301}", "🇷🇺",
                     String(repeating: "длинный текст ", count: 30), NSString(string: "from Foundation ✓") as String]
        // (On Linux every String lends its UTF-8, so the byte-by-byte copy for a bridged string, which only an
        // Objective-C runtime makes, is not reached here.)
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
