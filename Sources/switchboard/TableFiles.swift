import ArgumentParser
import Foundation
import Routing
import TableLanguage
import Wire

/// Finds, reads and compiles table files: the CLI's side of loading, since `Routing` reads no files.
enum TableFiles {
    /// `$SWITCHBOARD_TABLES`, else `routing-tables` in the working directory.
    static var defaultDirectory: String {
        ProcessInfo.processInfo.environment["SWITCHBOARD_TABLES"].flatMap { $0.isEmpty ? nil : $0 } ?? "routing-tables"
    }

    /// `$SWITCHBOARD_DATA`, else `.switchboard` in the working directory: the engine's journal and sessions,
    /// the recorder's comments, the CTI adapter's records.
    static var defaultDataDirectory: String {
        ProcessInfo.processInfo.environment["SWITCHBOARD_DATA"].flatMap { $0.isEmpty ? nil : $0 } ?? ".switchboard"
    }

    /// A path if `reference` names an existing file, else `DIR/NAME.yaml`.
    static func path(for reference: String, in directory: String) -> String {
        if reference.hasSuffix(".yaml") || reference.hasSuffix(".yml") || reference.contains("/") { return reference }
        return (directory as NSString).appendingPathComponent("\(reference).yaml")
    }

    /// The tables in a folder (``TableFileNames``).
    static func all(in directory: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return names.filter(TableFileNames.isTable).sorted().map { (directory as NSString).appendingPathComponent($0) }
    }


    enum Failure: Error {
        case notFound(String)
        case invalid(TableErrors)
    }

    static func read(_ path: String) throws(Failure) -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .notFound(path)
        }
        return text
    }

    static func load(_ path: String) throws(Failure) -> Table {
        let text = try read(path)
        do {
            return try TableLoader.load(yaml: text, file: path)
        } catch {
            throw .invalid(error)
        }
    }
}

/// Instants given on the command line (`--at`), and the wall clock for commands that default to it.
enum CLIInstant {
    static var now: Instant { Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded())) }

    /// An ISO 8601 instant with an offset; a bad one is a `ValidationError` naming the option.
    static func parse(_ text: String, option: String) throws -> Instant {
        do throws(InputError) {
            return try Wire.instant(text, field: option)
        } catch {
            throw ValidationError("\(option) must be an instant with an offset, like 2026-11-23T10:00:00+01:00 (got \"\(text)\").")
        }
    }
}
