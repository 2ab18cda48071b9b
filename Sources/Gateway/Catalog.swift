import Routing
import Wire

/// The tables a desktop can build its forms from: per table its topics, and per topic the facts each takes
/// (type, allowed values, labels), plus the customer fields, as the compiled table has them.
public struct Catalog: Sendable {
    public let tables: [Table]

    public init(tables: [Table]) { self.tables = tables.sorted { $0.name < $1.name } }

    public func table(_ name: String) -> Table? { tables.first { $0.name == name } }

    /// `GET /v1/tables`.
    public func list() -> Value {
        .object([.init("tables", .array(tables.map { t in
            .object([
                .init("name", .string(t.name)), .init("description", t.description.map(Value.string) ?? .null),
                .init("version", .string(t.version)), .init("zone", .string(t.zone.identifier)),
                .init("topics", .array(t.topics.map { .object([.init("code", .string($0.code)), .init("name", .string($0.name)), .init("kind", .string($0.kind))]) })),
            ])
        }))])
    }

    /// `GET /v1/tables/{table}`.
    public func describe(_ t: Table) -> Value {
        .object([
            .init("name", .string(t.name)), .init("description", t.description.map(Value.string) ?? .null),
            .init("version", .string(t.version)), .init("zone", .string(t.zone.identifier)),
            .init("customer", .array(t.customerFields.map(Self.field))),
            .init("topics", .array(t.topics.map { topic in
                .object([
                    .init("code", .string(topic.code)), .init("name", .string(topic.name)), .init("kind", .string(topic.kind)),
                    .init("facts", .array(topic.facts.map(Self.field))),
                ])
            })),
        ])
    }

    /// `{"name", "type", "values"?, "labels", "description", "default"?}`; `type` is bool, integer, number, string or enum.
    static func field(_ f: FieldSpec) -> Value {
        var members: [Value.Member] = [.init("name", .string(f.name))]
        switch f.type {
        case .bool: members.append(.init("type", .string("bool")))
        case .integer: members.append(.init("type", .string("integer")))
        case .number: members.append(.init("type", .string("number")))
        case .string: members.append(.init("type", .string("string")))
        case .enumeration(let values):
            members.append(.init("type", .string("enum")))
            members.append(.init("values", .array(values.map(Value.string))))
        }
        members.append(.init("labels", .object(f.labels.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) })))
        members.append(.init("description", f.description.map(Value.string) ?? .null))
        if let d = f.defaultValue { members.append(.init("default", d)) }
        return .object(members)
    }
}
