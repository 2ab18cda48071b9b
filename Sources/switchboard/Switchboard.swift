import ArgumentParser

@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "Call-routing and escalation engine for contact centres.",
        discussion: "Routing tables live in routing-tables/ (or --tables DIR). See docs/TABLES.md.",
        version: "0.1.0",
        subcommands: [Route.self, Check.self, CoverageCommand.self, DiffCommand.self, Serve.self, RecorderCommand.self, CommentsCommand.self, CTICommand.self, Simulate.self, JournalCommand.self, Keygen.self, ControlCommand.self]
    )
}

/// Options shared by the commands that find tables by name.
struct TableOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder of routing tables that NAME resolves in.", valueName: "DIR"))
    var tables: String = TableFiles.defaultDirectory
}
