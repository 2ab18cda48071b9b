import Routing
import Yams

extension TableCompiler {
    /// Refuses every text of the table an agent reads or says that asks the caller for card or code data
    /// (``SensitiveAsk``): phrases, procedures, deny reasons, checks, case categories, subjects and fields,
    /// comments, labels, prompts, instructions, whatever key holds them. Only `description`s, written for
    /// the table's maintainers, are not read.
    ///
    /// The walk is over the YAML tree rather than the compiled table, so a text added under a new key is
    /// linted without anyone remembering to; a node shared through an anchor is reported once.
    mutating func lintTexts(_ root: YAMLNode) {
        var seen = Set<SourceMark>()
        walk(root.node, path: [], seen: &seen)
    }

    private mutating func walk(_ node: Node, path: [String], seen: inout Set<SourceMark>) {
        switch node {
        case .scalar(let s):
            guard !path.isEmpty, let ask = SensitiveAsk.find(in: s.string) else { return }
            let mark = YAMLNode(node: node, file: file).mark
            guard seen.insert(mark).inserted else { return }
            errors.append(TableError(mark, "\(TableCompiler.describe(path)) asks the caller for card or code data an agent must never ask for (full card number, expiry, CVV, SMS code): \"\(ask)\"."))
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard case .scalar(let k) = key, k.string != "description" else { continue }
                walk(value, path: k.string == "<<" ? path : path + [k.string], seen: &seen)
            }
        case .sequence(let items):
            for (i, item) in items.enumerated() {
                // A rule or other item with an id is named by it: rules[fee.explain].
                var name = "\(i)"
                if case .mapping(let m) = item, case .scalar(let id)? = m["id"] { name = id.string }
                walk(item, path: path.dropLast() + [(path.last ?? "") + "[\(name)]"], seen: &seen)
            }
        case .alias:
            return
        }
    }

    /// `phrase 'greet'` for a phrase, else the dotted path of the text (`topics.fee.rules[fee.explain].first_line`).
    static func describe(_ path: [String]) -> String {
        if path.count >= 2, path[0] == "phrases" { return "phrase '\(path[1])'" }
        return "the text at \(path.joined(separator: "."))"
    }
}
