import ArgumentParser
import Foundation
import ServiceThread
import Simulator
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// `switchboard simulate`.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive a running engine with a realistic mix of calls and account for every decision.",
        discussion: """
        Open loop by default: Poisson arrivals at --rate a second, latency measured from each call's intended \
        send time (no coordinated omission). With --clients N: closed loop, N DEALER clients each keeping \
        --in-flight calls outstanding, for maximum throughput. It subscribes to the events meanwhile and checks \
        every decision was published once, identical to the reply, without seq gaps. Every query carries a unique \
        idempotency_key; one unanswered within --timeout-ms, or answered unavailable, is sent again with the same key \
        on a fresh connection to the next engine (Lazy Pirate), up to --tries sends. --answers FILE lists every \
        answer (key, seq, event_id, which engine, when) to check against the journal. See docs/SIMULATION.md and \
        docs/PROTOCOL.md.
        """
    )

    @Option(help: ArgumentHelp("An engine's query endpoint; several engines: repeat the option or give a comma list, clients spread over them and fail over in turn (default \(Endpoints.default.query)).", valueName: "EP"))
    var query: [String] = []

    @Option(help: ArgumentHelp("An engine's events endpoint; several engines: repeat the option or give a comma list (default \(Endpoints.default.events)).", valueName: "EP"))
    var events: [String] = []

    @Option(help: ArgumentHelp("Replay endpoints (repeat or comma list): events missed live are fetched from them at the end, so only seqs the journal lacks count as gaps.", valueName: "EP"))
    var replay: [String] = []

    @Option(help: ArgumentHelp("Open loop: calls a second, Poisson arrivals.", valueName: "N"))
    var rate: Double = 1000

    @Option(help: ArgumentHelp("Closed loop instead: this many DEALER clients.", valueName: "N"))
    var clients: Int?

    @Option(help: ArgumentHelp("Closed loop: calls each client keeps outstanding.", valueName: "N"))
    var inFlight = 1

    @Option(help: ArgumentHelp("Seconds to send for (default 10 unless --calls is given).", valueName: "S"))
    var duration: Double?

    @Option(help: ArgumentHelp("Calls to send.", valueName: "N"))
    var calls: Int?

    @Option(help: ArgumentHelp("The call mix (default: routing-tables/retention-ru.mix.yaml).", valueName: "PATH"))
    var mix = "routing-tables/retention-ru.mix.yaml"

    @Option(help: ArgumentHelp("Seed for a repeatable run.", valueName: "N"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Milliseconds to wait for a reply before sending the query again.", valueName: "MS"))
    var timeoutMs = 2500

    @Option(help: ArgumentHelp("Sends of one query, the first included, before it is given up.", valueName: "N"))
    var tries = 3

    @Flag(help: "Send queries without idempotency keys, for an engine before contract 1.1 (retries may then decide twice).")
    var noIdempotencyKeys = false

    @Option(help: ArgumentHelp("Write one JSON line per answered query to this file as the answers come: idempotency_key, call_id, seq and event_id (or error), sent_to, answered_by, tries, sent_at, answered_at.", valueName: "PATH"))
    var answers: String?

    @Flag(help: "Print the summary as JSON on stdout (progress still goes to stderr).")
    var json = false

    func validate() throws {
        guard rate > 0 else { throw ValidationError("--rate must be positive.") }
        if let clients { guard clients >= 1 else { throw ValidationError("--clients must be at least 1.") } }
        guard inFlight >= 1 else { throw ValidationError("--in-flight must be at least 1.") }
        if let duration { guard duration > 0 else { throw ValidationError("--duration must be positive.") } }
        if let calls { guard calls >= 1 else { throw ValidationError("--calls must be at least 1.") } }
        guard timeoutMs >= 1 else { throw ValidationError("--timeout-ms must be at least 1.") }
        guard tries >= 1 else { throw ValidationError("--tries must be at least 1.") }
    }

    func run() async throws {
        guard let text = try? String(contentsOfFile: mix, encoding: .utf8) else { throw RuntimeError("cannot read the mix \(mix)") }
        let callMix: CallMix
        do {
            callMix = try CallMix(yaml: text, file: mix)
        } catch {
            throw ValidationError("\(error)")
        }
        var c = Simulation.Configuration()
        c.queryEndpoints = Endpoints.list(query.isEmpty ? [Endpoints.default.query] : query)
        c.eventsEndpoints = Endpoints.list(events.isEmpty ? [Endpoints.default.events] : events)
        c.replayEndpoints = Endpoints.list(replay)
        c.mode = clients.map { .closedLoop(clients: $0, inFlight: inFlight) } ?? .openLoop(rate: rate)
        c.calls = calls
        c.duration = duration.map { .milliseconds(Int64($0 * 1000)) } ?? (calls == nil ? .seconds(10) : nil)
        c.seed = seed
        c.replyTimeout = .milliseconds(timeoutMs)
        c.tries = tries
        c.idempotencyKeys = !noIdempotencyKeys
        let simulation = Simulation(configuration: c, mix: callMix)
        let interactive = isatty(2) != 0
        let described = clients.map { "closed loop, \($0) clients × \(inFlight) in flight" } ?? "open loop at \(Int(rate))/s"
        FileHandle.standardError.write(Data("simulating \(described), \(calls.map { "\($0) calls" } ?? "\(c.duration.map { "\($0)" } ?? "")"), mix \(mix)\n".utf8))
        // Sockets block: the simulation gets a thread of its own, never the cooperative pool.
        let answersPath = answers
        let summary = try await ServiceThread.run(name: "simulate") { stop in
            let answerFile = try answersPath.map(AnswerFile.init(path:))
            let summary = try simulation.run(until: { stop.isRequested }, progress: { p in
                let line = String(format: "%5.0fs  sent %8d  answered %8d  %8.0f/s  p99 %7.2f ms  events %8d  errors %d  retries %d",
                                  p.seconds, p.sent, p.answered, p.ratePerSecond, Double(p.p99Microseconds) / 1000, p.events, p.errors, p.retries)
                FileHandle.standardError.write(Data((interactive ? "\r" + line : line + "\n").utf8))
            }, answered: { answer in try answerFile?.append(answer.json) })
            try answerFile?.close()
            return summary
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        if json {
            print(Simulate.json(summary))
        } else {
            print(Simulate.table(summary, tries: tries))
        }
        let clean = summary.unanswered == 0 && summary.eventsMissing == 0 && summary.eventsMismatched == 0 && summary.seqGaps == 0
            && summary.eventsDuplicated == 0
        if !clean { throw ExitCode(3) }
    }

    static func json(_ s: Simulation.Summary) -> String {
        var w = JSONWriter(capacity: 1024)
        w.object { o in
            o.member("seconds") { $0.number((s.seconds * 1000).rounded() / 1000) }
            o.member("sent") { $0.number(Int64(s.sent)) }
            o.member("answered") { $0.number(Int64(s.answered)) }
            o.member("decisions") { $0.number(Int64(s.decisions)) }
            o.member("unanswered") { $0.number(Int64(s.unanswered)) }
            o.member("retries") { $0.number(Int64(s.retries)) }
            o.member("gave_up") { $0.number(Int64(s.gaveUp)) }
            o.member("duplicate_replies") { $0.number(Int64(s.duplicateReplies)) }
            o.member("unavailable_replies") { $0.number(Int64(s.unavailableReplies)) }
            o.member("failovers") { w in
                w.object { o in for (k, v) in s.failovers.sorted(by: { $0.key < $1.key }) { o.member(dynamic: k) { $0.number(Int64(v)) } } }
            }
            o.member("errors") { w in w.object { o in for (k, v) in s.errors.sorted(by: { $0.key < $1.key }) { o.member(dynamic: k) { $0.number(Int64(v)) } } } }
            o.member("rate_per_second") { $0.number(s.achievedRate.rounded()) }
            o.member("latency_us") { w in
                w.object { o in for k in ["p50", "p90", "p99", "p99.9", "max"] { o.member(dynamic: k) { $0.number(Int64(s.latency[k] ?? 0)) } } }
            }
            o.member("events") { w in
                w.object { o in
                    o.member("received") { $0.number(Int64(s.eventsReceived)) }
                    o.member("replayed") { $0.number(Int64(s.eventsReplayed)) }
                    o.member("matched") { $0.number(Int64(s.eventsMatched)) }
                    o.member("mismatched") { $0.number(Int64(s.eventsMismatched)) }
                    o.member("missing") { $0.number(Int64(s.eventsMissing)) }
                    o.member("duplicated") { $0.number(Int64(s.eventsDuplicated)) }
                    o.member("seq_gaps") { $0.number(Int64(s.seqGaps)) }
                }
            }
        }
        return w.string
    }

    static func table(_ s: Simulation.Summary, tries: Int) -> String {
        let errors = s.errors.isEmpty ? "none" : s.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let failovers = s.failovers.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        func ms(_ k: String) -> String { String(format: "%.3f", Double(s.latency[k] ?? 0) / 1000) }
        return """
        sent        \(s.sent) in \(String(format: "%.2f", s.seconds)) s, \(String(format: "%.0f", s.achievedRate)) answered/s
        answered    \(s.answered) (\(s.decisions) decisions, errors: \(errors)), unanswered \(s.unanswered)
        retries     \(s.retries) resent with their key, \(s.gaveUp) given up after \(tries) tries, \(s.duplicateReplies) duplicate replies, \(s.unavailableReplies) unavailable
        failovers   \(failovers)
        latency ms  p50 \(ms("p50"))  p90 \(ms("p90"))  p99 \(ms("p99"))  p99.9 \(ms("p99.9"))  max \(ms("max"))
        events      received \(s.eventsReceived) (\(s.eventsReplayed) by replay), matched \(s.eventsMatched) of \(s.decisions) decisions, mismatched \(s.eventsMismatched), missing \(s.eventsMissing), duplicated \(s.eventsDuplicated), seq gaps \(s.seqGaps)
        """
    }
}
