import Foundation
import TestSupport
import Testing
import Routing
import TableLanguage
@testable import Simulator
import Wire

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct CallMixTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func bundled() throws -> (CallMix, Table) {
        let mixText = try String(contentsOf: Self.root.appendingPathComponent("routing-tables/retention-ru.mix.yaml"), encoding: .utf8)
        let tableText = try String(contentsOf: Self.root.appendingPathComponent("routing-tables/retention-ru.yaml"), encoding: .utf8)
        return (try CallMix(yaml: mixText, file: "retention-ru.mix.yaml"), try TableLoader.load(yaml: tableText, file: "retention-ru.yaml"))
    }

    @Test func bundledMixCoversEveryTopicOfItsTable() throws {
        let (mix, table) = try bundled()
        #expect(mix.table == table.name)
        #expect(Set(mix.topics) == Set(table.topicCodes))
    }

    /// The mix's calls are real calls: decoded like any query, they decide, or fail only as the mix intends.
    @Test func generatedQueriesAreValidAndSpreadOverTheDay() throws {
        let (mix, table) = try bundled()
        var rng = Simulator.SplitMix64(seed: 7)
        var actions: [String: Int] = [:]
        var hours: Set<Int> = []
        var errors: [String: Int] = [:]
        for n in 0..<5000 {
            let (bytes, callID) = mix.query(id: n, runID: "t", using: &rng)
            #expect(callID == "sim-t-\(n)")
            let (id, decoded) = QueryRequest.decode(bytes)
            #expect(id == .number(Double(n)))
            let request = try decoded.get()
            let hour = Int((request.at!.seconds + 3 * 3600) % 86_400 / 3600)
            hours.insert(hour)
            do {
                let d = try table.evaluate(request.call, at: request.at!)
                actions[d.action.rawValue, default: 0] += 1
            } catch {
                errors[error.code.rawValue, default: 0] += 1
            }
        }
        #expect(hours.count == 24)  // closed hours included
        #expect(Set(actions.keys) == ["transfer", "case", "first_line", "deny"])
        #expect(Set(errors.keys) == ["missing_fact"])  // the operator_number calls without a number, on purpose
        #expect(errors["missing_fact"]! < 250)
    }

    @Test func sameSeedSameCalls() throws {
        let (mix, _) = try bundled()
        var a = Simulator.SplitMix64(seed: 42), b = Simulator.SplitMix64(seed: 42)
        for n in 0..<100 { #expect(mix.query(id: n, runID: "x", using: &a).bytes == mix.query(id: n, runID: "x", using: &b).bytes) }
    }

    @Test func mixErrorsNameWhatIsExpected() {
        #expect {
            _ = try CallMix(yaml: "table: t\nwindow: {start: noon, hours: 1}\n", file: "m.yaml")
        } throws: { error in
            "\(error)".contains("'window' must be")
        }
        #expect {
            _ = try CallMix(yaml: "table: t\nwindow: {start: \"2026-11-23T00:00:00Z\", hours: 1}\ncustomers: []\n", file: "m.yaml")
        } throws: { error in
            "\(error)".contains("'customers' must list")
        }
    }
}
