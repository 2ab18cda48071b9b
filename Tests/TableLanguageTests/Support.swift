import Foundation
@testable import Routing
@testable import TableLanguage

// The table-loading helpers of RoutingTests' Support.swift: test targets cannot share a file.

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

/// The loader's errors for a table that must not load.
func loadErrors(_ yaml: String) -> [TableError] {
    do {
        _ = try TableLoader.load(yaml: yaml, file: "test.yaml")
        return []
    } catch {
        return error.errors
    }
}

extension Table {
    func schedule(_ id: String) -> Schedule { schedules.first { $0.id == id }! }
}
