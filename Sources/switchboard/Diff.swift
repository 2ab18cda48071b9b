import ArgumentParser
import Foundation
import Routing
import TableLanguage
import Wire

/// `switchboard diff OLD NEW`: what a change to a table would change, before it goes live.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Decide the same calls with two versions of a table and report every decision that changed.",
        discussion: """
        Calls come from --calls FILE (JSON lines {"at", "call"}: switchboard journal export, or route --batch input) \
        and from a synthetic sweep (every topic × every combination of the values its rules tell apart × every \
        schedule state at the edges of the hours, over --days from --from, with DST days and overrides). \
        Changes are grouped by topic and by the rules that decided before and after. Exits 0 when nothing \
        changed or every change is listed in --expect, 1 otherwise. See "Changing a table safely" in docs/TABLES.md.
        """
    )

    @Argument(help: ArgumentHelp("The table as it is (name or path).", valueName: "OLD"))
    var old: String

    @Argument(help: ArgumentHelp("The table as it would be (name or path).", valueName: "NEW"))
    var new: String

    @OptionGroup var tableOptions: TableOptions

    @Option(help: ArgumentHelp("Recorded calls, JSON lines {\"at\", \"call\"}.", valueName: "FILE"))
    var calls: String?

    @Flag(help: "Skip the synthetic sweep (only --calls).")
    var noSweep = false

    @Option(help: ArgumentHelp("First day of the sweep, YYYY-MM-DD (default: today in the table's time zone).", valueName: "DATE"))
    var from: String?

    @Option(help: ArgumentHelp("Days the sweep covers, besides DST days and overrides within a year.", valueName: "N"))
    var days = 7

    @Option(help: ArgumentHelp("The changes that are intended (see docs/TABLES.md).", valueName: "FILE"))
    var expect: String?

    @Option(help: ArgumentHelp("Example calls shown per group (0 for none).", valueName: "N"))
    var examples = 3

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard days >= 1 else { throw ValidationError("--days must be at least 1.") }
        guard examples >= 0 else { throw ValidationError("--examples must be 0 or more.") }
        guard calls != nil || !noSweep else { throw ValidationError("--no-sweep needs --calls: there would be nothing to compare.") }
        if let from { guard CivilDate(iso: from) != nil else { throw ValidationError("--from must be a date, YYYY-MM-DD.") } }
    }

    func load(_ reference: String) throws -> Table {
        let path = TableFiles.path(for: reference, in: tableOptions.tables)
        do {
            return try TableFiles.load(path)
        } catch {
            switch error {
            case .notFound(let p): throw RuntimeError("no table \(reference): \(p) does not exist; expected a name in \(tableOptions.tables)/ or a path to a .yaml file.")
            case .invalid(let errors):
                FileHandle.standardError.write(Data("\(errors)\n".utf8))
                throw ExitCode.failure
            }
        }
    }

    func run() async throws {
        let oldTable = try load(old), newTable = try load(new)
        let expected = try expect.map { path in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw RuntimeError("cannot read the expect file \(path).") }
            do { return try ExpectedChanges(yaml: text, file: path) } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        var diff = TableDiff(old: oldTable, new: newTable, examplesPerGroup: examples, expecting: expected)
        var recorded = 0, unreadable = 0
        if let calls {
            guard let handle = FileHandle(forReadingAtPath: calls) else { throw RuntimeError("cannot read the calls file \(calls).") }
            var reader = LineReader(fd: handle.fileDescriptor)
            reader.forEachLine { line in
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
                guard let item = try? Wire.decodeBatchLine(line), let at = item.at else {
                    unreadable += 1
                    return
                }
                diff.compare(item.call, at: at)
                recorded += 1
            }
        }
        var swept = 0
        if !noSweep {
            let now = Instant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
            let start = from.flatMap(CivilDate.init(iso:)) ?? newTable.zone.localDate(at: now)
            for input in Sweep.inputs(old: oldTable, new: newTable, from: start, days: days) {
                diff.compare(input.call, at: input.at)
                swept += 1
            }
        }
        let unexpected = diff.groups.filter { $0.expected != true }
        if json {
            print(jsonReport(diff, recorded: recorded, swept: swept, unexpected: unexpected.count))
        } else {
            print(textReport(diff, recorded: recorded, swept: swept, unreadable: unreadable, expected: expected))
        }
        if !unexpected.isEmpty { throw ExitCode.failure }
    }

    func describe(_ c: TableDiff.Change, zone: ZoneRules) -> String {
        var w = JSONWriter(capacity: 256)
        Wire.encode(c.call, into: &w)
        return "at \(Timestamp.format(c.at, in: zone)) \(w.string)\n        before: \(c.before.summary)   after: \(c.after.summary)"
    }

    func textReport(_ d: TableDiff, recorded: Int, swept: Int, unreadable: Int, expected: ExpectedChanges?) -> String {
        var lines = ["diff \(d.old.name) \(d.old.version) → \(d.new.name) \(d.new.version)",
                     "calls decided: \(recorded) recorded\(unreadable > 0 ? " (\(unreadable) unreadable lines skipped)" : ""), \(swept) from the sweep"]
        if d.groups.isEmpty {
            lines.append("no decision changed")
            return lines.joined(separator: "\n")
        }
        lines.append("\(d.changed) calls changed, in \(d.groups.count) group(s):")
        for g in d.groups.sorted(by: { $0.count > $1.count }) {
            let mark = g.expected.map { $0 ? " (expected)" : " (UNEXPECTED)" } ?? ""
            lines.append("  \(g.topic): \(g.ruleBefore) → \(g.ruleAfter)  [\(g.fields.joined(separator: ", "))]  \(g.count) call(s)\(mark)")
            for e in g.examples { lines.append("      " + describe(e, zone: d.new.zone)) }
        }
        return lines.joined(separator: "\n")
    }

    func jsonReport(_ d: TableDiff, recorded: Int, swept: Int, unexpected: Int) -> String {
        func outcome(_ o: TableDiff.Outcome) -> Value {
            .object([.init("summary", .string(o.summary)), .init("rule", o.rule.map(Value.string) ?? .null), .init("error", o.error.map(Value.string) ?? .null),
                     .init("phrases", .array(o.phrases.map(Value.string)))])
        }
        var w = JSONWriter(capacity: 4096)
        w.object { o in
            o.member("old") { $0.value(.object([.init("table", .string(d.old.name)), .init("version", .string(d.old.version))])) }
            o.member("new") { $0.value(.object([.init("table", .string(d.new.name)), .init("version", .string(d.new.version))])) }
            o.member("recorded") { $0.number(Int64(recorded)) }
            o.member("swept") { $0.number(Int64(swept)) }
            o.member("changed") { $0.number(Int64(d.changed)) }
            o.member("unexpected_groups") { $0.number(Int64(unexpected)) }
            o.member("groups") { w in
                w.raw("[")
                for (i, g) in d.groups.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.object { o in
                        o.member("topic") { $0.string(g.topic) }
                        o.member("rule_before") { $0.string(g.ruleBefore) }
                        o.member("rule_after") { $0.string(g.ruleAfter) }
                        o.member("fields") { $0.strings(g.fields) }
                        o.member("count") { $0.number(Int64(g.count)) }
                        o.member("examples") { w in
                            w.raw("[")
                            for (k, e) in g.examples.enumerated() {
                                if k > 0 { w.raw(",") }
                                w.object { o in
                                    o.member("at") { $0.string(Timestamp.format(e.at, in: d.new.zone)) }
                                    o.member("call") { Wire.encode(e.call, into: &$0) }
                                    o.member("before") { $0.value(outcome(e.before)) }
                                    o.member("after") { $0.value(outcome(e.after)) }
                                }
                            }
                            w.raw("]")
                        }
                    }
                }
                w.raw("]")
            }
        }
        return w.string
    }
}
