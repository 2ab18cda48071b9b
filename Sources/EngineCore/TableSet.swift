import Foundation
import Routing
import TableLanguage

/// The tables an engine serves, by name: every table file of a folder (``TableFileNames``).
public struct TableSet: Sendable {
    public let tables: [String: Table]

    public init(tables: [String: Table]) { self.tables = tables }

    /// Loads every table of `directory`; all or nothing, so a reload never serves half a change.
    /// - Throws: ``TableErrors`` with every problem of every file.
    public static func load(directory: String) throws(TableErrors) -> TableSet {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter(TableFileNames.isTable).sorted()
        } catch {
            throw TableErrors([TableError(SourceMark(file: directory, line: 1, column: 1), "cannot read the tables folder: \(error.localizedDescription)")])
        }
        var tables: [String: Table] = [:]
        var errors: [TableError] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                errors.append(TableError(SourceMark(file: path, line: 1, column: 1), "cannot read the file as UTF-8 text."))
                continue
            }
            do {
                let table = try TableLoader.load(yaml: text, file: path)
                if tables[table.name] != nil {
                    errors.append(TableError(SourceMark(file: path, line: 1, column: 1), "table name '\(table.name)' is already used by another file in \(directory)."))
                }
                tables[table.name] = table
            } catch {
                errors.append(contentsOf: error.errors)
            }
        }
        if tables.isEmpty && errors.isEmpty {
            errors.append(TableError(SourceMark(file: directory, line: 1, column: 1), "no tables (*.yaml) in the folder."))
        }
        guard errors.isEmpty else { throw TableErrors(errors) }
        return TableSet(tables: tables)
    }
}
