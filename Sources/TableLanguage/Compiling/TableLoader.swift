import Routing
/// Compiles a routing table's YAML text into a ``Table``, reporting every problem with its position.
///
/// ```swift
/// let table = try TableLoader.load(yaml: text, file: "routing-tables/retention-ru.yaml")
/// ```
/// The loader reads no files: the caller passes the text, so tests and tools decide where tables come from.
public enum TableLoader {
    /// - Parameter lenient: load a table with gaps, unreachable rules or transfers with nowhere to go,
    ///   reporting them in ``Table/coverage`` instead of refusing it (for `switchboard coverage`).
    /// - Throws: ``TableErrors`` listing every problem found, each at its file, line and column.
    public static func load(yaml text: String, file: String, lenient: Bool = false) throws(TableErrors) -> Table {
        var compiler = TableCompiler(file: file, text: text)
        compiler.lenient = lenient
        do {
            let root = try YAMLNode.parse(text, file: file)
            if let table = compiler.compile(root), compiler.errors.isEmpty { return table }
        } catch {
            compiler.errors.append(error)
        }
        let causes = compiler.errors.filter { !$0.isConsequence }
        throw TableErrors((causes.isEmpty ? compiler.errors : causes).sorted { ($0.mark.line, $0.mark.column) < ($1.mark.line, $1.mark.column) })
    }
}
