import Foundation
import TestSupport
import Testing

/// Every decision of the bundled tables' scenarios and of 3,000 generated calls a table is, byte for byte,
/// what a trusted build recorded (`tools/decision-oracle`; the outputs are in `decisions/`). Evaluation and
/// encoding may be rewritten for speed; what they print may not change unnoticed.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct DecisionOracleTests {
    @Test func decisionsAreByteForByteThoseRecorded() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [CLI.root.appendingPathComponent("tools/decision-oracle").path, "check", CLI.executable.path]
        let output = Pipe()
        p.standardOutput = output
        p.standardError = output
        try p.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("identical"), "\(text)")
    }
}
