import Foundation
@testable import Routing
import TableLanguage

/// The repository's root, found from this file so tests run from any working directory.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func bundledTableText(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("routing-tables/\(name).yaml"), encoding: .utf8)
}

/// The flagship table, compiled once for all tests.
let retention: Table = {
    try! TableLoader.load(yaml: try! bundledTableText("retention-ru"), file: "retention-ru.yaml")
}()

func at(_ text: String) -> Instant {
    guard let parsed = Timestamp.parse(text) else { fatalError("bad test instant \(text)") }
    return parsed.instant
}

/// Compiles a small table written in a test, failing with the loader's messages.
func table(_ yaml: String) throws -> Table {
    try TableLoader.load(yaml: yaml, file: "test.yaml")
}

/// A one-target table around a schedule written in the test, for schedule behaviour through the evaluator.
func scheduleTable(zone: String = "Europe/Moscow", _ schedule: String) throws -> Table {
    try table("""
    table: t
    time_zone: \(zone)
    schedules:
      s:
    \(schedule.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
    targets:
      line: {name: Line, address: "1", schedule: s, mode: blind}
    cases:
      later: {category: Later}
    topics:
      t:
        rules:
          - id: t.go
            transfer: line
            when_closed: {case: later}
    """)
}

extension Table {
    func schedule(_ id: String) -> Schedule { schedules.first { $0.id == id }! }
}
