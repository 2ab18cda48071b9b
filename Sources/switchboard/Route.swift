import ArgumentParser
import EngineCore
import Foundation
import Logging
import Routing
import Wire

/// `switchboard route`: decide one call, or a batch of JSON lines, against a table.
struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decide a call (or a batch of calls) against a routing table.",
        discussion: """
        Prints the decision as JSON and exits 0; on bad input prints {"error": …} and exits 2.
        With --batch, reads JSON lines {"at"?, "call"} on stdin and writes one line per input, in order.
        """
    )

    @Option(name: .long, help: ArgumentHelp("A table name (resolved in --tables) or a path to a .yaml file.", valueName: "NAME|PATH"))
    var table: String

    @OptionGroup var tableOptions: TableOptions

    @Option(name: .long, help: ArgumentHelp("The instant to decide at, ISO 8601 with an offset (default: now).", valueName: "ISO8601"))
    var at: String?

    @Flag(name: .long, help: "Decide as if a CTI mass incident were declared: transfers go by number.")
    var ctiIncident = false

    @Option(name: .long, help: ArgumentHelp("The call as JSON, or - to read it from stdin.", valueName: "JSON|-"))
    var call: String?

    @Flag(name: .long, help: "Read JSON lines {\"at\"?, \"call\"} from stdin; write one decision or error per line.")
    var batch = false

    @Flag(name: .long, help: "Print the decision for people (indented text) instead of JSON; not with --batch.")
    var pretty = false

    @Option(name: .long, help: ArgumentHelp("Keep playbook sessions in this file (the engine's is DATA/sessions.jsonl; not while it runs). Without it, sessions last for this command only.", valueName: "PATH"))
    var sessions: String?

    func validate() throws {
        guard batch != (call != nil) else { throw ValidationError("give exactly one of --call JSON|- and --batch.") }
        guard !(pretty && batch) else { throw ValidationError("--pretty prints one decision for people; --batch writes JSON lines for programs.") }
    }

    func run() async throws {
        let out = OutputBuffer()
        func refuse(_ error: InputError) -> ExitCode {
            out.line(Wire.encode(error))
            out.flush()
            return ExitCode(2)
        }
        let path = TableFiles.path(for: table, in: tableOptions.tables)
        let compiled: Table
        do throws(TableFiles.Failure) {
            compiled = try TableFiles.load(path)
        } catch {
            switch error {
            case .notFound(let p):
                throw refuse(InputError(.unknownTable, "no table \"\(table)\": \(p) does not exist; expected a name in \(tableOptions.tables)/ or a path to a .yaml file.", field: "table"))
            case .invalid(let errors):
                FileHandle.standardError.write(Data("\(errors)\n".utf8))
                throw ExitCode.failure
            }
        }
        let operations = Operations(ctiIncident: ctiIncident)
        let now = CLIInstant.now
        var defaultAt = now
        if let at {
            do throws(InputError) { defaultAt = try Wire.instant(at, field: "at") } catch { throw refuse(error) }
        }
        var sessionFile: SessionFile?
        if let sessions {
            let folder = (sessions as NSString).deletingLastPathComponent
            var isFolder: ObjCBool = false
            guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue) else {
                throw RuntimeError("--sessions \(sessions): the folder \(folder) does not exist; create it first (mkdir -p \(folder)).")
            }
            // Finished sessions are dropped by the instant the calls are decided at, not the wall clock, so
            // replaying a past day keeps them; a batch without --at decides at each line's own instant, so
            // nothing is dropped.
            let retention = batch && at == nil ? Int64(100 * 365 * 24 * 3600) : SessionFile.defaultRetention
            do {
                sessionFile = try SessionFile(path: sessions, retentionSeconds: retention, now: defaultAt, logger: Logger(label: "switchboard.route"))
            } catch {
                throw RuntimeError("--sessions \(sessions): \(error)")
            }
        }
        var book = sessionFile?.loaded ?? SessionBook()
        /// Decides one call, persisting the session it changed before the decision is printed.
        func decide(_ call: Call, at instant: Instant) throws(InputError) -> Decision {
            let decision = try compiled.evaluate(call, at: instant, operations: operations, sessions: &book)
            if let sessionFile {
                do {
                    try sessionFile.append(book.pendingChanges, sync: !batch)
                } catch {
                    book.rollBack()
                    throw InputError(.unavailable, "cannot keep the session: \(error)")
                }
            }
            book.commit()
            return decision
        }
        if batch {
            var reader = LineReader()
            var w = JSONWriter(capacity: 2048)
            reader.forEachLine { line in
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }  // blank lines carry no call
                w = JSONWriter(capacity: 2048)
                do throws(InputError) {
                    let item: Wire.BatchLine
                    do throws(InputError) { item = try Wire.decodeBatchLine(line, table: compiled) } catch {
                        throw Route.explain(error, text: line, expectation: "each line must be a JSON object {\"at\"?, \"call\"}")
                    }
                    Wire.encode(try decide(item.call, at: item.at ?? defaultAt), into: &w)
                } catch {
                    Wire.encode(error, into: &w)
                }
                out.append(w.bytes)
                out.append([0x0A])
            }
            try? sessionFile?.sync()
            out.flush()
            return
        }
        let text: [UInt8]
        if call == "-" {
            text = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            text = Array(call!.utf8)
        }
        do throws(InputError) {
            let parsed: Call
            do throws(InputError) { parsed = try Wire.decodeCall(text, table: compiled) } catch {
                throw Route.explain(error, text: text, expectation: "the call must be a JSON object, like {\"call_id\": \"c-1\", \"topic\": \"…\"}")
            }
            let decision = try decide(parsed, at: defaultAt)
            out.line(pretty ? Route.pretty(Wire.encode(decision)) : Wire.encode(decision))
        } catch {
            throw refuse(error)
        }
    }

    /// When the text is not JSON at all (`not json`), says what was expected instead of the reader's
    /// "expected null at byte 0"; other errors are returned as they are.
    static func explain(_ error: InputError, text: some Collection<UInt8>, expectation: String) -> InputError {
        guard error.code == .badJSON, let first = text.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }),
              first != UInt8(ascii: "{") else { return error }
        let start = String(decoding: Array(text.prefix(24)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return InputError(.badJSON, "\(expectation); got \"\(start)\(text.count > 24 ? "…" : "")\", which is not JSON.")
    }

    /// A decision for people: one `key: value` line per member, lists one item a line, nulls and empty lists left out.
    static func pretty(_ json: String) -> String {
        guard let value = try? JSONReader.parse(Array(json.utf8)) else { return json }
        var lines: [String] = []
        func scalar(_ v: Value) -> String {
            switch v {
            case .string(let s): return s
            case .null: return "—"
            default:
                var w = JSONWriter(capacity: 64)
                w.value(v)
                return w.string
            }
        }
        func render(_ v: Value, indent: String) {
            guard case .object(let members) = v else { return }
            for m in members {
                switch m.value {
                case .null: continue
                case .array(let items) where items.isEmpty: continue
                case .array(let items):
                    lines.append("\(indent)\(m.key):")
                    for item in items {
                        if case .object = item {
                            lines.append("\(indent)  -")
                            render(item, indent: indent + "    ")
                        } else {
                            lines.append("\(indent)  - \(scalar(item))")
                        }
                    }
                case .object:
                    lines.append("\(indent)\(m.key):")
                    render(m.value, indent: indent + "  ")
                default:
                    lines.append("\(indent)\(m.key): \(scalar(m.value))")
                }
            }
        }
        render(value, indent: "")
        return lines.joined(separator: "\n")
    }
}
