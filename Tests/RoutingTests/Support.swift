import Foundation
@testable import Routing
import TableLanguage
import TestSupport

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
