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
        var data = ".switchboard"

        @Option(help: ArgumentHelp("Only the calls decided by this table.", valueName: "NAME"))
        var table: String?

        @Option(help: ArgumentHelp("Start at this seq.", valueName: "N"))
        var fromSeq: UInt64 = 1

        func run() async throws {
            let path = (data as NSString).appendingPathComponent("journal.jsonl")
            guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("no journal at \(path)") }
            let out = OutputBuffer()
            var reader = LineReader(fd: handle.fileDescriptor)
            var withoutCall = 0
            reader.forEachLine { line in
                guard let event = try? JSONReader.parse(line, limits: .trusted), case .number(let seq)? = event["seq"], UInt64(seq) >= fromSeq else { return }
                if let table, event["table"] != .string(table) { return }
                guard let call = event["call"], let at = event["at"] else {
                    withoutCall += 1
                    return
                }
                var w = JSONWriter(capacity: 512)
                w.value(.object([.init("at", at), .init("call", call)]))
                out.append(w.bytes)
                out.append([0x0A])
            }
            out.flush()
            if withoutCall > 0 {
                FileHandle.standardError.write(Data("\(withoutCall) events carry no call (journalled before calls were) and were skipped\n".utf8))
            }
        }
    }
}
