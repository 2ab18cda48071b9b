import Routing
/// Synthetic calls that reach every branch of two versions of a table, at instants that reach every state of
/// their schedules: the sweep of `switchboard diff`.
///
/// For each topic (of either table), every combination of the values the rules of both versions tell apart
/// (facts, customer fields, language; global rules and redirects included), at one instant for each distinct
/// combination of open and closed schedules (both versions' schedules) among the candidates: every window
/// edge minus a minute, on it and plus a minute, and noon, on each day of the range, on the days the zones
/// change offset within a year of its start, and on every override date. A decision depends on the instant
/// only through which schedules are open, so one instant per combination of states decides like all of them;
/// DST days and override days keep instants of their own, so they are seen to be swept.
public enum Sweep {
    public struct Input: Sendable {
        public let call: Call
        public let at: Instant
    }

    /// - Parameters:
    ///   - from: the first day of the range, in the tables' zones.
    ///   - days: how many days the range has.
    public static func inputs(old: Table, new: Table, from: CivilDate, days: Int, maximumPerTopic: Int = 100_000) -> [Input] {
        let instants = representativeInstants(tables: [old, new], from: from, days: days)
        var out: [Input] = []
        var n = 0
        for code in unionOfTopics(old, new) {
            let domains = Self.domains(topic: code, tables: [old, new])
            var total = 1
            for d in domains { total = total.multipliedReportingOverflow(by: d.values.count).partialValue }
            guard total > 0, total <= maximumPerTopic else { continue }
            var counter = Array(repeating: 0, count: domains.count)
            for _ in 0..<total {
                let call = makeCall(topic: code, id: n, assignment: zip(domains, counter).map { ($0.path, $0.values[$1]) }, tables: [old, new])
                n += 1
                for instant in instants { out.append(Input(call: call, at: instant)) }
                var k = 0
                while k < counter.count {
                    counter[k] += 1
                    if counter[k] < domains[k].values.count { break }
                    counter[k] = 0
                    k += 1
                }
            }
        }
        return out
    }

    static func unionOfTopics(_ a: Table, _ b: Table) -> [String] {
        var codes = a.topicCodes
        for c in b.topicCodes where !codes.contains(c) { codes.append(c) }
        return codes
    }

    /// The values each path can usefully take, gathered from both tables' conditions.
    static func domains(topic code: String, tables: [Table]) -> [(path: String, values: [Value?])] {
        var order: [String] = []
        var constants: [String: [Value]] = [:]
        var types: [String: FieldType] = [:]
        var optional: Set<String> = []
        for table in tables {
            guard let topic = table.topic(named: code) else { continue }
            var conditions = table.globalRules.map(\.condition) + topic.rules.map(\.condition)
            conditions += table.redirects.map(\.condition)
            for condition in conditions {
                condition.visitComparisons { operand, comparison in
                    let (path, type, isOptional) = describe(operand, topic: topic, table: table)
                    if constants[path] == nil { order.append(path) }
                    constants[path, default: []] += comparison.constants
                    types[path] = types[path] ?? type
                    if isOptional { optional.insert(path) }
                }
            }
        }
        return order.map { path in (path, Coverage.domain(type: types[path]!, mentioned: constants[path]!, optional: optional.contains(path))) }
    }

    static func describe(_ operand: Operand, topic: Topic, table: Table) -> (String, FieldType, Bool) {
        switch operand {
        case .fact(let i): ("facts.\(topic.facts[i].name)", topic.facts[i].type, false)
        case .customer(let i): ("customer.\(table.customerFields[i].name)", table.customerFields[i].type, false)
        case .language: ("language", .string, true)
        case .identification: ("identification", .string, true)
        case .notes: ("notes", .string, true)
        case .callID: ("call_id", .string, false)
        }
    }

    /// A call with the assigned values, and every other fact of the topic given a plain value of its type.
    static func makeCall(topic code: String, id: Int, assignment: [(String, Value?)], tables: [Table]) -> Call {
        var call = Call(callID: "sweep-\(id)", topic: code)
        for table in tables {
            guard let topic = table.topic(named: code) else { continue }
            for spec in topic.facts where call.facts[spec.name] == nil {
                call.facts[spec.name] = switch spec.type {
                case .bool: .bool(false)
                case .integer, .number: .number(0)
                case .string: .string("1")
                case .enumeration(let values): .string(values[0])
                }
            }
        }
        for (path, value) in assignment {
            guard let value else { continue }
            if path.hasPrefix("facts.") {
                call.facts[String(path.dropFirst(6))] = value
            } else if path.hasPrefix("customer.") {
                call.customer[String(path.dropFirst(9))] = value
            } else if path == "language" {
                call.language = value.text
            } else if path == "identification" {
                call.identification = value.text
            } else if path == "notes" {
                call.notes = value.text
            }
        }
        return call
    }

    /// One instant per distinct combination of schedule states among the candidate instants, earliest first.
    public static func representativeInstants(tables: [Table], from: CivilDate, days: Int) -> [Instant] {
        var dayNumbers = Set((0..<max(1, days)).map { from.day + Int64($0) })
        // Offset changes and overrides are swept on their own days even when an ordinary day shows the same states.
        var specialDays: Set<Int64> = []
        let yearEnd = from.day + 366
        for table in tables {
            // Days on which the zone changes its offset, within a year.
            let startSeconds = from.day * 86_400
            for t in table.zone.transitions where t >= startSeconds - 86_400 && t < yearEnd * 86_400 {
                let local = t + Int64(table.zone.offset(atUTC: t))
                dayNumbers.insert(local.floorDiv(86_400))
                specialDays.insert(local.floorDiv(86_400))
            }
            for schedule in table.schedules {
                for date in schedule.overrides.keys where date.day >= from.day && date.day < yearEnd {
                    dayNumbers.insert(date.day)
                    specialDays.insert(date.day)
                }
            }
        }
        var candidates: Set<Int64> = []
        for table in tables {
            for day in dayNumbers {
                candidates.insert(table.zone.utc(fromLocal: day * 86_400 + 12 * 3600))
                for schedule in table.schedules {
                    for d in [day - 1, day] {
                        for w in schedule.windows(on: CivilDate(day: d)) {
                            for edge in [w.open, w.close] {
                                let t = table.zone.utc(fromLocal: d * 86_400 + Int64(edge) * 60)
                                candidates.formUnion([t - 60, t, t + 60])
                            }
                        }
                    }
                    for e in schedule.emergencies {
                        for t in [e.from.seconds, e.until.seconds] { candidates.formUnion([t - 60, t, t + 60]) }
                    }
                }
            }
        }
        var seen: Set<[Int64]> = []
        var out: [Instant] = []
        let rangeStart = tables.map { $0.zone.utc(fromLocal: from.day * 86_400) }.min() ?? 0
        for t in candidates.sorted() where t >= rangeStart {
            let instant = Instant(seconds: t)
            var key: [Int64] = tables.flatMap { table in table.schedules.map { $0.isOpen(at: instant, zone: table.zone) ? 1 : 0 } }
            let day = tables[0].zone.localDate(at: instant).day
            key.append(specialDays.contains(day) ? day : -1)
            if seen.insert(key).inserted { out.append(instant) }
        }
        return out
    }
}
