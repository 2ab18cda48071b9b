import Foundation
import Testing
@testable import FuzzTargets

/// Replays the fuzzers' seed corpus and every crashing input they ever found (`crash-*`), so a fixed
/// crash stays fixed. The inputs live in corpus/request and corpus/table.
@Suite(.timeLimit(.minutes(5)))
struct FuzzRegressionTests {
    static let corpus = Bundle.module.url(forResource: "corpus", withExtension: nil)!

    static func inputs(_ target: String) -> [URL] {
        (try? FileManager.default.contentsOfDirectory(at: corpus.appendingPathComponent(target), includingPropertiesForKeys: nil)) ?? []
    }

    init() {
        // The request target evaluates against the flagship table, found from the repository root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        setenv("SWITCHBOARD_FUZZ_TABLE", root.appendingPathComponent("routing-tables/retention-ru.yaml").path, 1)
    }

    /// The request target evaluates against this table; were it missing, every input would pass untested.
    @Test func theTableLoads() throws {
        let table = try FuzzTargets.flagshipTable()
        #expect(table.name == "retention-ru")
    }

    @Test func requestInputs() throws {
        let inputs = Self.inputs("request")
        #expect(inputs.count >= 5)
        for url in inputs { FuzzTargets.request(Array(try Data(contentsOf: url))) }
    }

    @Test func tableInputs() throws {
        let inputs = Self.inputs("table")
        #expect(inputs.count >= 2)
        for url in inputs { FuzzTargets.table(Array(try Data(contentsOf: url))) }
    }
}
