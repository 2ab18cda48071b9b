import ArgumentParser
import Foundation
import Routing
import TableLanguage
import Wire

/// `switchboard coverage`: static analysis of tables, without calls.
struct CoverageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "Find gaps, unreachable and overlapping rules, calls with nowhere to go, and schedule problems in tables.",
        discussion: """
        Every combination of the values a topic's rules tell apart is checked. Exits 1 when a table has a gap or a \
        transfer with nowhere to go (or does not load); unreachable rules, overlaps and schedule warnings are reported. \
        See "Changing a table safely" in docs/TABLES.md.
        """
    )

    @Argument(help: ArgumentHelp("Tables, by name or path (default: every table in --tables).", valueName: "NAME|PATH"))
    var references: [String] = []

    @OptionGroup var tableOptions: TableOptions

    @Flag(help: "Print one JSON object per table.")
    var json = false

    @Flag(help: "Also list the overlapping rules (notes).")
    var overlaps = false

    @Option(help: ArgumentHelp("The instant holiday calendars are checked against, ISO 8601 with an offset (default: now).", valueName: "ISO8601"))
    var at: String?

    func validate() throws {
        if let at { _ = try CLIInstant.parse(at, option: "--at") }
    }

    func run() async throws {
        let paths: [String]
        if references.isEmpty {
            guard let all = try? TableFiles.all(in: tableOptions.tables) else {
                throw RuntimeError("cannot list the tables in \(tableOptions.tables): no such folder (give --tables DIR, set SWITCHBOARD_TABLES, or run from the repository root).")
            }
            paths = all
        } else {
            paths = references.map { TableFiles.path(for: $0, in: tableOptions.tables) }
        }
        var failed = false
        for path in paths {
            let table: Table
            do {
                table = try TableLoader.load(yaml: try TableFiles.read(path), file: path, lenient: true)
            } catch let e as TableFiles.Failure {
                if case .notFound(let p) = e { FileHandle.standardError.write(Data("\(p): error: no such table file.\n".utf8)) }
                failed = true
                continue
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                failed = true
                continue
            }
            let report = table.coverage
            failed = failed || report.hasBlockingFindings
            let expiries = table.calendarExpiries(at: try at.map { try CLIInstant.parse($0, option: "--at") } ?? CLIInstant.now)
            if json {
                print(Self.json(table, path: path, calendars: expiries))
            } else {
                print(Self.text(table, path: path, showOverlaps: overlaps, calendars: expiries))
            }
        }
        if failed { throw ExitCode.failure }
    }

    static func count(_ report: CoverageReport, _ kind: CoverageFinding.Kind) -> Int { report.findings.filter { $0.kind == kind }.count }

    static func text(_ table: Table, path: String, showOverlaps: Bool, calendars: [CalendarExpiry] = []) -> String {
        let r = table.coverage
        var lines = ["\(path): table \(table.name), \(r.topics.count) topics"]
        let width = max(12, (r.topics.map(\.code.count).max() ?? 0) + 2)
        for t in r.topics {
            if t.kind != "rules" {
                lines.append("  " + t.code.padding(toLength: width, withPad: " ", startingAt: 0)
                             + "\(t.kind), \(t.rules) \(t.kind == "menu" ? "nodes" : "steps"), \(t.unreachable > 0 ? "\(t.unreachable) UNREACHABLE" : "all reached")")
                continue
            }
            let problems = [t.gaps > 0 ? "\(t.gaps) GAPS" : "no gaps", t.unreachable > 0 ? "\(t.unreachable) UNREACHABLE" : "no unreachable rules"]
            lines.append("  " + t.code.padding(toLength: width, withPad: " ", startingAt: 0)
                         + "\(t.rules) rules, \(t.combinations) combinations checked, \(problems.joined(separator: ", ")), \(t.overlaps) overlaps")
        }
        for f in r.findings where f.kind != .overlap || showOverlaps { lines.append("  \(f)") }
        for c in calendars { lines.append("  warning: \(c)") }
        let nowhere = count(r, .nowhereToGo)
        lines.append("  summary: \(count(r, .gap)) gaps, \(count(r, .unreachable)) unreachable, \(nowhere) nowhere to go, "
                     + "\(count(r, .overlap)) overlaps, \(count(r, .windowOverlap) + count(r, .redundantOverride) + calendars.count) schedule warnings")
        return lines.joined(separator: "\n")
    }

    static func json(_ table: Table, path: String, calendars: [CalendarExpiry] = []) -> String {
        let r = table.coverage
        var w = JSONWriter(capacity: 4096)
        w.object { o in
            o.member("table") { $0.string(table.name) }
            o.member("path") { $0.string(path) }
            o.member("ok") { $0.bool(!r.hasBlockingFindings) }
            o.member("topics") { w in
                w.value(.array(r.topics.map { t in
                    .object([.init("topic", .string(t.code)), .init("kind", .string(t.kind)), .init("rules", .number(Double(t.rules))), .init("combinations", .number(Double(t.combinations))),
                             .init("gaps", .number(Double(t.gaps))), .init("unreachable", .number(Double(t.unreachable))), .init("overlaps", .number(Double(t.overlaps)))])
                }))
            }
            o.member("calendars") { w in
                w.value(.array(calendars.map(\.value)))
            }
            o.member("findings") { w in
                w.value(.array(r.findings.map { f in
                    .object([.init("kind", .string(f.kind.rawValue)), .init("at", .string(f.mark.description)), .init("message", .string(f.message))])
                }))
            }
        }
        return w.string
    }
}
