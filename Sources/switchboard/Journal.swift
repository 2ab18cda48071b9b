import ArgumentParser
import Foundation
import Routing
import Wire

/// `switchboard journal export`: the journal's recorded calls, for `route --batch` and `diff --calls`.
struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Read the engine's journal.",
        subcommands: [Export.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the journal's calls as JSON lines {\"at\", \"call\"}, the input of route --batch and diff --calls.",
            discussion: "Notes were masked when journalled. Events written before calls were journalled are skipped and counted on stderr."
        )

        @Option(help: ArgumentHelp("The engine's data folder.", valueName: "DIR"))
        var data = TableFiles.defaultDataDirectory

        @Option(help: ArgumentHelp("Only the calls decided by this table.", valueName: "NAME"))
        var table: String?

        @Option(help: ArgumentHelp("Start at this seq.", valueName: "N"))
        var fromSeq: UInt64 = 1

        func run() async throws {
            let path = (data as NSString).appendingPathComponent("journal.jsonl")
            guard let handle = FileHandle(forReadingAtPath: path) else { throw RuntimeError("no journal at \(path)") }
            let out = OutputBuffer()
            var reader = LineReader(fd: handle.fileDescriptor)
            var withoutCall = 0
            var unreadable = 0
            reader.forEachLine { line in
                let event: Wire.DecodedEvent
                do {
                    event = try Wire.DecodedEvent(json: Array(line))
                } catch {
                    unreadable += 1
                    return
                }
                guard event.seq >= fromSeq else { return }
                if let table, event.table != table { return }
                guard let call = event.call else {
                    withoutCall += 1
                    return
                }
                var w = JSONWriter(capacity: 512)
                w.object { o in
                    o.member("at") { $0.string(event.atText) }
                    o.member("call") { Wire.encode(call, into: &$0) }  // notes were masked when journalled
                }
                out.append(w.bytes)
                out.append([0x0A])
            }
            out.flush()
            if withoutCall > 0 {
                FileHandle.standardError.write(Data("\(withoutCall) events carry no call (journalled before calls were) and were skipped\n".utf8))
            }
            if unreadable > 0 {
                FileHandle.standardError.write(Data("\(unreadable) lines of \(path) are not decision events and were skipped\n".utf8))
            }
        }
    }
}
