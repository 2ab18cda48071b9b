// Throughput of the routing core and the wire format, in a release build: `tools/bench-core`.
// Numbers go in docs/PERFORMANCE.md; nothing here is asserted, and no test is timed.
// Run with tools/malloc_count.so preloaded, it also reports heap allocations per decision.
//
// `CoreBenchmark count evaluate|full|event ROUNDS [TABLE]` does a fixed amount of work instead, for counting
// instructions under callgrind (`tools/instructions`): ROUNDS passes over the mix, then exit.
import Foundation
import Routing
import TableLanguage
import Wire

/// What `count` mode repeats: evaluation alone, decode + evaluate + encode from the call's JSON, or all of that
/// and the decision's event as the engine journals and publishes it (the call, masked, and the decision).
enum CountedWork: String {
    case evaluate, full, event
}

var arguments = CommandLine.arguments
/// In `count` mode, the work and the number of passes over the mix.
var counting: (work: CountedWork, rounds: Int)?
if arguments.count > 1, arguments[1] == "count" {
    guard arguments.count > 3, let work = CountedWork(rawValue: arguments[2]), let rounds = Int(arguments[3]), rounds >= 0 else {
        FileHandle.standardError.write(Data("usage: CoreBenchmark count evaluate|full|event ROUNDS [TABLE]\n".utf8))
        exit(2)
    }
    counting = (work, rounds)
    arguments = [arguments[0]] + arguments.dropFirst(4)
}
let tablePath = arguments.count > 1 ? arguments[1] : "routing-tables/retention-ru.yaml"
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 2 : 2
/// A third argument limits the run to the measurements whose names contain it (for profiling one).
let only = arguments.count > 3 ? arguments[3] : nil

guard let text = try? String(contentsOfFile: tablePath, encoding: .utf8) else {
    FileHandle.standardError.write(Data("cannot read \(tablePath)\n".utf8))
    exit(1)
}
let table = try TableLoader.load(yaml: text, file: tablePath)

/// Calls for any table: every topic, each fact given a value of its type.
func genericMix() -> [(Call, Instant)] {
    var calls: [(Call, Instant)] = []
    var rng = SystemRandomNumberGenerator()
    for (n, topic) in table.topics.enumerated() {
        for k in 0..<max(1, 4000 / table.topics.count) {
            var facts: [String: Value] = [:]
            for spec in topic.facts {
                facts[spec.name] = switch spec.type {
                case .bool: .bool(Bool.random(using: &rng))
                case .integer, .number: .number(Double(Int.random(in: 0...100, using: &rng)))
                case .string: .string("x")
                case .enumeration(let values): .string(values.randomElement(using: &rng)!)
                }
            }
            calls.append((Call(callID: "g\(n)-\(k)", topic: topic.code, facts: facts), Instant(seconds: 1_795_380_900 + Int64(k) * 600)))
        }
    }
    return calls
}

/// A day's mix: every topic with facts that reach its branches, customers of several regions, instants over 24 hours.
func mix() -> [(Call, Instant)] {
    guard table.name == "retention-ru" else { return genericMix() }
    var calls: [(Call, Instant)] = []
    let start = Timestamp.parse("2026-11-23T00:00:00+03:00")!.instant
    let facts: [String: [[String: Value]]] = [
        "termination": [["insists": .bool(true)], ["insists": .bool(false)]],
        "demands_senior": [["reason_given": .bool(false)], ["reason_given": .bool(true), "insists": .bool(true), "question": .string("equipment")]],
        "employee_complaint": [["within_authority": .bool(false)], ["within_authority": .bool(true), "insists_on_record": .bool(true)]],
        "fraud_block": [["flash_comment": .bool(true), "conflict": .bool(false)]],
        "case_repeat": [["case_category": .string("back_office"), "case_status": .string("closed"), "disagrees": .bool(true)]],
        "sim_courier": [["delivery": .string("russia"), "identification_ready": .bool(true)]],
        "complex_question": [["reason": .string("callback"), "refuses_to_wait": .bool(false)]],
        "former_employee": [["claim": .string("roaming"), "amount": .number(900)]],
        "number_change": [["choose_number": .bool(false), "pd_provided": .bool(true), "pd_within_day": .bool(false), "blocks": .bool(false),
                           "open_tt_in_process": .bool(false), "trust_payment_pending": .bool(false)]],
        "connect_security": [["fraud_victim": .bool(false)]],
        "connect_office": [["fraud_victim": .bool(true)]],
        "equipment": [["self_help_failed": .bool(true), "will_wait": .bool(true)]],
        "operator_number": [["operator_number": .string("4521")]],
    ]
    var n = 0
    for minute in stride(from: 0, to: 1440, by: 7) {
        for topic in table.topicCodes {
            for f in facts[topic] ?? [[:]] {
                n += 1
                let region = ["moscow", "south", "ural"][n % 3]
                let call = Call(callID: "b\(n)", topic: topic, language: n % 17 == 0 ? "en" : "ru", identification: n % 2 == 0 ? "ФИОПД" : nil,
                                customer: ["region": .string(region), "vip": .bool(n % 5 == 0), "balance": .number(100)], facts: f,
                                notes: n % 3 == 0 ? "модель телефона Xiaomi 12" : nil)
                calls.append((call, Instant(milliseconds: start.milliseconds + Int64(minute) * 60_000)))
            }
        }
    }
    return calls
}

@inline(never) func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }

func measure(_ name: String, items: Int, _ body: () -> Void) {
    if let only, !name.contains(only) { return }
    body()  // warm up
    var rounds = 0
    let clock = ContinuousClock()
    let begin = clock.now
    let cpuBegin = threadCPUSeconds()
    var elapsed = Duration.zero
    repeat {
        body()
        rounds += 1
        elapsed = clock.now - begin
    } while elapsed < .seconds(seconds)
    let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Double(rounds * items) / s
    let cpu = (threadCPUSeconds() - cpuBegin) / Double(rounds * items)
    let padded = name.padding(toLength: 34, withPad: " ", startingAt: 0)
    // CPU time as well as wall time: on a shared machine the first is the steadier measure of the code.
    print(padded + String(format: "%12.0f /s  %8.2f µs each  %8.2f µs CPU", rate, 1e6 / rate, 1e6 * cpu))
}

/// This thread's CPU time so far.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// One call's JSON to its decision's JSON bytes, as a server answers it: `w` is the writer kept from one
/// decision to the next, and the bytes are taken from it once, as the engine hands them over.
/// - Returns: whether a decision was made.
func decodeEvaluateEncode(_ bytes: [UInt8], at instant: Instant, into w: inout JSONWriter) -> Bool {
    w.removeAll()
    guard let call = try? Wire.decodeCall(bytes, table: table), let d = try? table.evaluate(call, at: instant) else { return false }
    Wire.encode(d, into: &w)
    blackHole(w.bytes)
    return true
}

let calls = mix()
let jsonCalls: [[UInt8]] = calls.map { call, _ in
    var w = JSONWriter()
    w.value(.object([
        .init("call_id", .string(call.callID)), .init("topic", .string(call.topic)), .init("language", call.language.map(Value.string) ?? .null),
        .init("customer", .object(call.customer.sorted { $0.key < $1.key }.map { .init($0.key, $0.value) })),
        .init("facts", .object(call.facts.sorted { $0.key < $1.key }.map { .init($0.key, $0.value) })),
        .init("notes", call.notes.map(Value.string) ?? .null),
    ]))
    return w.bytes
}

/// The calls as the engine evaluates them: read from a request, which masks their free text once (so evaluation
/// does not mask the notes again) and reads the facts and customer fields into the table's slots.
let evaluatedCalls = calls.map { call, instant in
    var w = JSONWriter()
    Wire.encode(call, into: &w)
    return (try! Wire.decodeCall(w.bytes, table: table), instant)
}

// Count mode: the same calls as the measurements below, through the same entry points, a fixed number
// of times. tools/instructions subtracts two runs of different ROUNDS, so loading and the mix cancel out.
if let counting {
    var made = 0
    for _ in 0..<counting.rounds {
        switch counting.work {
        case .evaluate:
            for (call, instant) in evaluatedCalls where (try? table.evaluate(call, at: instant)) != nil { made += 1 }
        case .full:
            var w = JSONWriter(capacity: 4096)
            for (n, bytes) in jsonCalls.enumerated() where decodeEvaluateEncode(bytes, at: calls[n].1, into: &w) {
                made += 1
            }
        case .event:
            var w = JSONWriter(capacity: 4096)
            let eventIDs = EventIDPrefix(journalID: "0123456789abcdef")  // a journal id as FileJournal makes one
            for (n, bytes) in jsonCalls.enumerated() {
                if let call = try? Wire.decodeCall(bytes, table: table), let decision = try? table.evaluate(call, at: calls[n].1) {
                    // As the engine writes it (EngineCore.decide), with the same function.
                    let written = DecisionEvent.write(seq: UInt64(n), eventIDs: eventIDs, at: calls[n].1, atOffset: 10_800, callID: call.callID,
                                                      table: table.name, tableVersion: table.version, call: call, idempotencyKey: nil,
                                                      decision: decision, into: &w)
                    blackHole(written.eventIDJSON.count + written.decisionJSON.count)
                    blackHole(decision.eventTopicBytes)
                    made += 1
                }
            }
        }
    }
    // The number of decisions made (not calls tried): a call that stopped deciding would change the per-decision count.
    print("decisions \(made) calls \(calls.count * counting.rounds)")
    exit(0)
}

let decisions = calls.map { try! table.evaluate($0.0, at: $0.1) }
print("table \(table.name) version \(table.version); \(calls.count) calls in the mix, \(table.topics.count) topics; \(seconds) s per measurement")
print("mean call JSON \(jsonCalls.map(\.count).reduce(0, +) / jsonCalls.count) bytes, mean decision JSON \(decisions.map { Wire.encode($0).utf8.count }.reduce(0, +) / decisions.count) bytes")

measure("evaluate (decision with trace)", items: calls.count) {
    for (call, instant) in evaluatedCalls { blackHole(try? table.evaluate(call, at: instant)) }
}

// Allocations per decision, when tools/malloc_count.so is preloaded.
typealias CountFunction = @convention(c) () -> UInt
if only == nil, let symbol = dlsym(dlopen(nil, RTLD_LAZY), "switchboard_malloc_count") {
    let count = unsafeBitCast(symbol, to: CountFunction.self)
    let before = count()
    for (call, instant) in evaluatedCalls { blackHole(try? table.evaluate(call, at: instant)) }
    let evaluateAllocations = Double(count() - before) / Double(calls.count)
    var w = JSONWriter(capacity: 4096)
    let before2 = count()
    for (n, bytes) in jsonCalls.enumerated() { blackHole(decodeEvaluateEncode(bytes, at: calls[n].1, into: &w)) }
    let fullAllocations = Double(count() - before2) / Double(calls.count)
    print(String(format: "allocations per decision: evaluate %.1f, decode + evaluate + encode %.1f", evaluateAllocations, fullAllocations))
}
measure("decode call JSON", items: jsonCalls.count) {
    for bytes in jsonCalls { blackHole(try? Wire.decodeCall(bytes, table: table)) }
}
measure("encode decision JSON", items: decisions.count) {
    var w = JSONWriter(capacity: 4096)
    for d in decisions {
        w.removeAll()
        Wire.encode(d, into: &w)
        blackHole(w.bytes)
    }
}
measure("decode + evaluate + encode", items: calls.count) {
    var w = JSONWriter(capacity: 4096)
    for (n, bytes) in jsonCalls.enumerated() { blackHole(decodeEvaluateEncode(bytes, at: calls[n].1, into: &w)) }
}
// Issue 13, finding 4: one 59 KB object of 8,464 keys (every two-character key of printable ASCII).
let wideKeys = (0x21...0x7E).filter { $0 != 0x22 && $0 != 0x5C }.map { Character(Unicode.Scalar(UInt8($0))) }
let wideObject = Array(("{" + (0..<(wideKeys.count * wideKeys.count)).map {
    "\"\(wideKeys[$0 / wideKeys.count])\(wideKeys[$0 % wideKeys.count])\":\($0 % 10)"
}.joined(separator: ",") + "}").utf8)
let wideQuery = Array(#"{"id":1,"table":"retention-ru","call":{"call_id":"w","topic":"termination","facts":"#.utf8) + wideObject + Array("}}".utf8)
print("8,464-key object: \(wideObject.count) bytes; as a query's facts: \(wideQuery.count) bytes")
measure("8,464-key query refused (too_large)", items: 1) {
    blackHole(QueryRequest.decode(wideQuery))
}
measure("8,464-key object parsed, no limits", items: 1) {
    blackHole(try? JSONReader.parse(wideObject, limits: .trusted))
}
// The longest free text a request may carry (JSONReader.maximumStringBytes), full of digits and keywords.
var longNote = ""
while longNote.utf8.count < JSONReader.maximumStringBytes - 200 {
    longNote += "карта 4111 1111 1111 1111, CVV 123, тел. 8 916 123-45-67, 短信验证码为604918; "
}
measure("mask a 16 KB note full of secrets", items: 1) {
    blackHole(SensitiveData.mask(longNote))
}
measure("load + compile the table", items: 1) {
    blackHole(try? TableLoader.load(yaml: text, file: tablePath))
}
