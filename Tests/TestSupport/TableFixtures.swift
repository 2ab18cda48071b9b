import Foundation
import Routing
import TableLanguage

// Table-loading helpers for the test targets that compile tables (RoutingTests, TableLanguageTests).

/// The repository's root, found from this file so tests run from any working directory.
package let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The tables in `routing-tables/`, each with its scenarios.
package let bundledTableNames = ["retention-ru", "br-broadband", "cn-card-service", "es-bank-directory", "es-fraud-alerts", "es-ivr-unblock"]

package func bundledTableText(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("routing-tables/\(name).yaml"), encoding: .utf8)
}

/// The flagship table, compiled once for all tests.
package let retention: Table = {
    try! TableLoader.load(yaml: try! bundledTableText("retention-ru"), file: "retention-ru.yaml")
}()

package func at(_ text: String) -> Instant {
    guard let parsed = Timestamp.parse(text) else { fatalError("bad test instant \(text)") }
    return parsed.instant
}

/// Compiles a small table written in a test, failing with the loader's messages.
package func table(_ yaml: String) throws -> Table {
    try TableLoader.load(yaml: yaml, file: "test.yaml")
}

/// The loader's errors for a table that must not load.
package func loadErrors(_ yaml: String) -> [TableError] {
    do {
        _ = try TableLoader.load(yaml: yaml, file: "test.yaml")
        return []
    } catch {
        return error.errors
    }
}

extension Table {
    package func schedule(_ id: String) -> Schedule { schedules.first { $0.id == id }! }
}
