import Routing
import Yams

/// A YAML node with the file it came from: typed accessors that fail with a positioned ``TableError``.
struct YAMLNode {
    let node: Node
    let file: String

    /// YAML 1.2's core schema: only `true`/`false` are booleans and `04:00` is a string, not
    /// YAML 1.1's sexagesimal 240, so table text means what it says.
    static let resolver = Resolver.basic
        .appending(try! Resolver.Rule(.bool, "^(?:true|True|TRUE|false|False|FALSE)$"))
        .appending(try! Resolver.Rule(.int, "^[-+]?[0-9]+$"))
        .appending(try! Resolver.Rule(.float, "^(?:[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$"))
        .appending(try! Resolver.Rule(.null, "^(?:~|null|Null|NULL|)$"))

    /// Parses a whole document.
    static func parse(_ text: String, file: String) throws(TableError) -> YAMLNode {
        do {
            guard let node = try Yams.compose(yaml: text, resolver) else {
                throw TableError(SourceMark(file: file, line: 1, column: 1), "the file is empty; expected a YAML mapping.")
            }
            return YAMLNode(node: node, file: file)
        } catch let error as TableError {
            throw error
        } catch let error as YamlError {
            throw YAMLNode.translate(error, file: file)
        } catch {
            throw TableError(SourceMark(file: file, line: 1, column: 1), "not valid YAML: \(error)")
        }
    }

    private static func translate(_ error: YamlError, file: String) -> TableError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.joined(separator: ", ")
            return TableError(SourceMark(file: file, line: mark.line, column: mark.column), "not valid YAML: \(what).")
        case .composer(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.joined(separator: ", ")
            return TableError(SourceMark(file: file, line: mark.line, column: mark.column), "not valid YAML: \(what).")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let mark = context.mark
            return TableError(SourceMark(file: file, line: mark.line, column: mark.column),
                              "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping; each key may appear once.")
        default:
            return TableError(SourceMark(file: file, line: 1, column: 1), "not valid YAML: \(error)")
        }
    }

    var mark: SourceMark {
        let m = node.mark
        return SourceMark(file: file, line: m?.line ?? 1, column: m?.column ?? 1)
    }

    func error(_ message: String) -> TableError { TableError(mark, message) }

    /// A mapping entry: its key, where the key is written, and its value.
    struct Entry {
        let key: String
        let keyMark: SourceMark
        let value: YAMLNode
    }

    /// The mapping's entries in order. A YAML merge key (`<<: *anchor`) brings in the anchored mapping's
    /// entries where the mapping does not give its own, so repeated options can be written once.
    func entries(_ what: String) throws(TableError) -> [Entry] {
        guard case .mapping(let mapping) = node else { throw error("\(what) must be a mapping (key: value lines).") }
        var out: [Entry] = []
        var merged: [Entry] = []
        for (k, v) in mapping {
            let key = YAMLNode(node: k, file: file)
            guard case .scalar(let s) = k else { throw key.error("a key of \(what) must be a plain name.") }
            if s.string == "<<" && s.style == .plain {
                merged += try YAMLNode(node: v, file: file).entries("the mapping merged into \(what)")
                continue
            }
            out.append(Entry(key: s.string, keyMark: key.mark, value: YAMLNode(node: v, file: file)))
        }
        for entry in merged where !out.contains(where: { $0.key == entry.key }) { out.append(entry) }
        return out
    }

    /// The mapping's entries by key, rejecting keys outside `allowed` and requiring `required`.
    func fields(_ what: String, allowed: [String], required: [String] = []) throws(TableError) -> [String: YAMLNode] {
        var out: [String: YAMLNode] = [:]
        for entry in try entries(what) {
            guard allowed.contains(entry.key) else {
                throw TableError(entry.keyMark, "unknown key '\(entry.key)' in \(what); expected one of: \(allowed.joined(separator: ", ")).")
            }
            out[entry.key] = entry.value
        }
        for key in required where out[key] == nil {
            throw error("\(what) needs '\(key)'.")
        }
        return out
    }

    var isNull: Bool {
        if case .scalar(let s) = node { return Tag.Name(rawValue: node.tag.rawValue) == .null && s.style == .plain }
        return false
    }

    func string(_ what: String) throws(TableError) -> String {
        guard case .scalar(let s) = node, !isNull else { throw error("\(what) must be text.") }
        return s.string
    }

    func bool(_ what: String) throws(TableError) -> Bool {
        guard case .scalar(let s) = node, Tag.Name(rawValue: node.tag.rawValue) == .bool else { throw error("\(what) must be true or false.") }
        return s.string.lowercased() == "true"
    }

    func number(_ what: String) throws(TableError) -> Double {
        guard case .scalar(let s) = node, Tag.Name(rawValue: node.tag.rawValue) == .int || Tag.Name(rawValue: node.tag.rawValue) == .float, let d = Double(s.string) else {
            throw error("\(what) must be a number.")
        }
        return d
    }

    func sequence(_ what: String) throws(TableError) -> [YAMLNode] {
        guard case .sequence(let seq) = node else { throw error("\(what) must be a list.") }
        return seq.map { YAMLNode(node: $0, file: file) }
    }

    /// A list of texts; a single text counts as a list of one.
    func strings(_ what: String) throws(TableError) -> [String] {
        if case .scalar = node { return [try string(what)] }
        var out: [String] = []
        for item in try sequence(what) { out.append(try item.string("each item of \(what)")) }
        return out
    }

    /// The node as a JSON-shaped value: plain scalars by YAML's core schema, quoted scalars as text.
    func value() throws(TableError) -> Value {
        switch node {
        case .scalar(let s):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null where s.style == .plain: return .null
            case .bool: return .bool(s.string.lowercased() == "true")
            case .int, .float:
                guard let d = Double(s.string) else { throw error("'\(s.string)' is not a number.") }
                return .number(d)
            default: return .string(s.string)
            }
        case .sequence(let seq):
            var items: [Value] = []
            for n in seq { items.append(try YAMLNode(node: n, file: file).value()) }
            return .array(items)
        case .mapping:
            var members: [Value.Member] = []
            for e in try entries("a value") { members.append(.init(e.key, try e.value.value())) }
            return .object(members)
        case .alias:
            throw error("YAML aliases are not supported here; write the value out.")
        }
    }
}

/// YAML documents other than tables (simulation mixes), read into ``Value`` with the same core schema.
public enum YAMLDocument {
    /// - Throws: ``TableErrors`` with the position of a syntax error.
    public static func value(yaml text: String, file: String) throws(TableErrors) -> Value {
        do {
            return try YAMLNode.parse(text, file: file).value()
        } catch {
            throw TableErrors([error])
        }
    }
}
