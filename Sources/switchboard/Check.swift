import ArgumentParser
import Foundation
import Routing
import TableLanguage

/// `switchboard check`: validate tables and run their scenario files.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate routing tables and run their scenario files.",
        discussion: """
        Each table NAME.yaml is compiled (every error as file:line:column) and, when NAME.scenarios.yaml \
        exists beside it (or --scenarios FILE names one), every scenario is run; a failing scenario prints one \
        line per difference. A holiday calendar (calendar_years) that ends within 90 days of --at, or has ended, \
        is a warning. Exits 0 only when every table is valid and every scenario passes.
        """
    )

    @Argument(help: ArgumentHelp("Tables to check, by name or path (default: every table in --tables).", valueName: "NAME|PATH"))
    var references: [String] = []

    @OptionGroup var tableOptions: TableOptions

    @Option(help: ArgumentHelp("Run this scenario file against the table (one table only), instead of NAME.scenarios.yaml beside it.", valueName: "FILE"))
    var scenarios: String?

    @Option(help: ArgumentHelp("The instant holiday calendars are checked against, ISO 8601 with an offset (default: now).", valueName: "ISO8601"))
    var at: String?

    func validate() throws {
        if scenarios != nil, references.count != 1 {
            throw ValidationError("--scenarios runs one scenario file against one table; name exactly one table.")
        }
        if let at { _ = try CLIInstant.parse(at, option: "--at") }
    }

    func run() async throws {
        let paths: [String]
        if references.isEmpty {
            do {
                paths = try TableFiles.all(in: tableOptions.tables)
            } catch {
                throw RuntimeError("cannot list the tables in \(tableOptions.tables): no such folder (give --tables DIR, set SWITCHBOARD_TABLES, or run from the repository root).")
            }
        } else {
            paths = references.map { TableFiles.path(for: $0, in: tableOptions.tables) }
        }
        var failed = false
        for path in paths {
            failed = !check(path) || failed
        }
        if failed { throw ExitCode.failure }
    }

    /// Prints what is wrong with one table and its scenarios; true when nothing is.
    private func check(_ path: String) -> Bool {
        let table: Table
        do throws(TableFiles.Failure) {
            table = try TableFiles.load(path)
        } catch {
            switch error {
            case .notFound(let p): report("\(p): error: no such table file.")
            case .invalid(let errors): report(errors.description)
            }
            return false
        }
        let now = at.flatMap { try? CLIInstant.parse($0, option: "--at") } ?? CLIInstant.now
        for expiry in table.calendarExpiries(at: now) { report("\(path): warning: \(expiry)") }
        let scenarioPath = scenarios ?? TableFileNames.scenarios(for: path)
        if let scenarios, !FileManager.default.fileExists(atPath: scenarios) {
            report("\(scenarios): error: no such scenario file.")
            return false
        }
        guard FileManager.default.fileExists(atPath: scenarioPath) else {
            print("\(path): ok, table \(table.name) version \(table.version), \(table.topics.count) topics; no scenario file \(scenarioPath)")
            return true
        }
        let suite: ScenarioSuite
        do {
            suite = try ScenarioSuite.load(yaml: try TableFiles.read(scenarioPath), file: scenarioPath)
        } catch let errors as TableErrors {
            report(errors.description)
            return false
        } catch {
            report("\(scenarioPath): error: cannot read the scenario file.")
            return false
        }
        guard suite.table == table.name else {
            report("\(scenarioPath):1:1: error: the scenario file is for table '\(suite.table)', but \(path) is table '\(table.name)'.")
            return false
        }
        let failures = suite.run(against: table)
        for failure in failures { report(failure.description) }
        let passed = suite.scenarios.count - failures.count
        print("\(path): table \(table.name) version \(table.version): \(passed) of \(suite.scenarios.count) scenarios passed")
        return failures.isEmpty
    }

    private func report(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
