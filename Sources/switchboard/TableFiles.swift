import Foundation
import Routing

/// Finds, reads and compiles table files: the CLI's side of loading, since `Routing` reads no files.
enum TableFiles {
    /// `$SWITCHBOARD_TABLES`, else `routing-tables` in the working directory.
    static var defaultDirectory: String {
        ProcessInfo.processInfo.environment["SWITCHBOARD_TABLES"] ?? "routing-tables"
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
