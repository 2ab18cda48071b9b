import ArgumentParser
import Foundation
import Wire

@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "Call-routing and escalation engine for contact centres.",
        discussion: """
        Routing tables live in routing-tables/ (or --tables DIR, or $SWITCHBOARD_TABLES); the engine's data in \
        .switchboard/ (or --data DIR, or $SWITCHBOARD_DATA). Both defaults are relative to the working directory. \
        Exit status: 0 done, 1 a runtime failure (a missing file, a table that does not load), 2 bad input \
        (route: the error object on stdout), 64 a mistake on the command line. See docs/TABLES.md.
        """,
        version: "0.1.0",
        subcommands: [Route.self, Check.self, CoverageCommand.self, DiffCommand.self, Serve.self, RecorderCommand.self, CommentsCommand.self, CTICommand.self, Simulate.self, JournalCommand.self, Keygen.self, ControlCommand.self, GatewayCommand.self, GatewayAgentCommand.self]
    )

    /// Parses and runs the command, first catching what the parser would report confusingly: a misspelt
    /// command or option (with a suggestion) and an endpoint without its transport. A ``RuntimeError``
    /// prints one line and exits 1, without the usage.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let mistake = FirstUse.mistake(in: arguments) {
            FileHandle.standardError.write(Data("error: \(mistake)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            var command = try await asyncParseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as RuntimeError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            Foundation.exit(ExitCode.failure.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}

/// Options shared by the commands that find tables by name.
struct TableOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder of routing tables that NAME resolves in; $SWITCHBOARD_TABLES sets the default.", valueName: "DIR"))
    var tables: String = TableFiles.defaultDirectory
}

/// A failure at run time, not a mistake in the command: a missing file or folder, a store that cannot be
/// opened. Printed as one line, `error: …`, with exit status 1 (the usage would not help).
struct RuntimeError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}

/// Mistakes of a first use of the command line, found before parsing so they are named for what they are.
enum FirstUse {
    /// Options every command takes, besides those its help lists.
    static let builtIn: Set<String> = ["--help", "--version", "--experimental-dump-help", "--generate-completion-script"]
    /// Options whose value is a ZeroMQ endpoint (`tcp://host:port`).
    static let endpointOptions: Set<String> = ["--query", "--events", "--replay", "--control", "--results", "--results-replay", "--cti-results", "--cti-results-replay"]

    /// What is wrong with `arguments`, in one sentence, or nil to let the parser go on.
    static func mistake(in arguments: [String]) -> String? {
        var command: ParsableCommand.Type = Switchboard.self
        var path = ["switchboard"]
        var index = 0
        // The command and its subcommands: the words before the first option or argument of a leaf.
        while index < arguments.count, !arguments[index].hasPrefix("-") {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty else { break }
            let word = arguments[index]
            let names = subcommands.map { $0.configuration.commandName ?? $0._commandName } + ["help"]
            if word == "help" { return nil }
            guard let i = names.firstIndex(of: word) else {
                let hint = closest(word, among: names).map { " Did you mean '\($0)'?" } ?? ""
                return "'\(word)' is not a command of \(path.joined(separator: " ")).\(hint) Commands: \(names.dropLast().joined(separator: ", "))."
            }
            command = subcommands[i]
            path.append(word)
            index += 1
        }
        let known = options(of: command)
        var rest = arguments[index...].makeIterator()
        while let token = rest.next() {
            if token == "--" { break }
            guard token.hasPrefix("--") else { continue }
            let name = String(token.split(separator: "=", maxSplits: 1).first ?? Substring(token))
            guard known.contains(name) || builtIn.contains(name) else {
                let hint = closest(name, among: known.sorted()).map { " Did you mean '\($0)'?" } ?? ""
                return "unknown option '\(name)' for \(path.joined(separator: " ")).\(hint) See '\(path.joined(separator: " ")) --help'."
            }
            if endpointOptions.contains(name) {
                let value = token.contains("=") ? String(token.split(separator: "=", maxSplits: 1)[1]) : rest.next()
                // A comma list names several engines: each must be an endpoint.
                if let value, let bad = Endpoints.list([value]).first(where: { !$0.contains("://") }) ?? (Endpoints.list([value]).isEmpty ? value : nil) {
                    return "\(name) \(bad) is not a ZeroMQ endpoint: it needs its transport, like tcp://\(bad)."
                }
            }
        }
        return nil
    }

    /// The long options a command's full help lists (hidden ones included).
    static func options(of command: ParsableCommand.Type) -> Set<String> {
        let help = Switchboard.helpMessage(for: command, includeHidden: true, columns: 10_000)
        var out: Set<String> = []
        var i = help.startIndex
        while let r = help.range(of: "--", range: i..<help.endIndex) {
            var end = r.upperBound
            while end < help.endIndex, help[end].isLetter || help[end].isNumber || help[end] == "-" { end = help.index(after: end) }
            if end > r.upperBound { out.insert(String(help[r.lowerBound..<end])) }
            i = end
        }
        return out
    }

    /// The candidate nearest to `word` by edit distance (a swap of two letters counts as one), when it is near.
    static func closest(_ word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(Array(word), Array($0))) }.filter { $0.1 <= max(2, word.count / 3) }
        if let best = scored.min(by: { $0.1 < $1.1 }) { return best.0 }
        // A prefix (`rout`, `--cal`) is as good a hint.
        return candidates.first { $0.hasPrefix(word) }
    }

    /// Optimal string alignment distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
