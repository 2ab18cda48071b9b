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

    @Option(name: .long, help: ArgumentHelp("Keep playbook sessions in this file (the engine's is DATA/sessions.jsonl; not while it runs). Without it, sessions last for this command only.", valueName: "PATH"))
    var sessions: String?

    func validate() throws {
        guard batch != (call != nil) else { throw ValidationError("give exactly one of --call JSON|- and --batch.") }
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
        let now = Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        var sessionFile: SessionFile?
        if let sessions {
            do {
                sessionFile = try SessionFile(path: sessions, now: now, logger: Logger(label: "switchboard.route"))
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode.failure
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
        var defaultAt = now
        if let at {
            do throws(InputError) { defaultAt = try Wire.instant(at, field: "at") } catch { throw refuse(error) }
        }
        if batch {
            var reader = LineReader()
            var w = JSONWriter(capacity: 2048)
            reader.forEachLine { line in
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }  // blank lines carry no call
                w = JSONWriter(capacity: 2048)
                do throws(InputError) {
                    let item = try Wire.decodeBatchLine(line)
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
            let decision = try decide(try Wire.decodeCall(text), at: defaultAt)
            out.line(Wire.encode(decision))
        } catch {
            throw refuse(error)
        }
    }
}
