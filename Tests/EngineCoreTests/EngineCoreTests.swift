import EngineCore
import Foundation
import Logging
import Routing
import TableLanguage
import Storage
import TestSupport
import Testing
import Wire

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A journal in memory whose writes, syncs and reads can be made to fail, to test the core's
/// durability order without sockets or files (as swift-nio tests handlers on an EmbeddedChannel).
final class MemoryJournal: EventJournal {
    let journalID: String
    var lines: [[UInt8]] = []
    var failWrites: StorageError?
    var failSync: StorageError?
    var failReads: StorageError?
    /// Every call, in order, so a test can see what happened before what.
    var calls: [String] = []

    init(journalID: String = "mem") { self.journalID = journalID }

    var lastSeq: UInt64 { UInt64(lines.count) }
    var syncedSeq: UInt64 { failSync == nil ? lastSeq : 0 }
    var failure: StorageError? { failSync }

    func append(_ events: [[UInt8]]) throws(StorageError) {
        calls.append("append \(events.count)")
        if let failWrites { throw failWrites }
        lines += events
    }

    func read(from seq: UInt64, max: Int, maxBytes: Int) throws(StorageError) -> [ArraySlice<UInt8>] {
        if let failReads { throw failReads }
        guard seq >= 1, seq <= lastSeq else { return [] }
        return lines[Int(seq - 1)..<min(lines.count, Int(seq - 1) + max)].map { $0[...] }
    }

    func sync() throws(StorageError) { if let failSync { throw failSync } }

    static let noSpace = StorageError(.write, path: "journal.jsonl", errno: ENOSPC, "write failed")
    static let eio = StorageError(.sync, path: "journal.jsonl", errno: EIO, "fdatasync failed")
}

struct Harness {
    let journal: MemoryJournal
    let core: EngineCore
    static let tables = try! TableSet.load(directory: repositoryRoot.appendingPathComponent("routing-tables").path)
    static let now = Instant(milliseconds: 1_795_000_000_000)

    init(data: String? = nil, journalID: String = "mem") throws {
        journal = MemoryJournal(journalID: journalID)
        var logger = Logger(label: "test.core")
        logger.logLevel = .critical
        let keys = try IdempotencyKeys(directory: data, journalLastSeq: 0, now: Harness.now, logger: logger)
        core = try EngineCore(tables: Harness.tables, journal: journal, keys: keys, logger: logger)
    }

    func ask(_ bodies: [String], now: Instant = Harness.now) -> (replies: [Value], events: [EngineCore.Published]) {
        let batch = core.handle(bodies.map { Array($0.utf8) }, now: now)
        return (batch.replies.map { try! JSONReader.parse($0) }, batch.events)
    }
}

func query(id: Int, key: String? = nil, callID: String? = nil, insists: Bool = true, at: String = "2026-11-23T12:00:00+03:00") -> String {
    let k = key.map { #","idempotency_key":"\#($0)""# } ?? ""
    return #"{"id":\#(id),"table":"retention-ru","at":"\#(at)"\#(k),"call":{"call_id":"\#(callID ?? "c-\(id)")","topic":"termination","facts":{"insists":\#(insists)}}}"#
}

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct EngineCoreQueryTests {
    @Test func aBatchIsJournalledBeforeItsRepliesAndEventsFollowInSeqOrder() throws {
        let h = try Harness()
        let (replies, events) = h.ask([query(id: 1), "not json", query(id: 2)])
        #expect(h.journal.calls == ["append 2"])
        #expect(h.journal.lines.count == 2)
        #expect(replies.map { $0["seq"] } == [.number(1), nil, .number(2)])
        #expect(replies[1]["error"]?["code"] == .string("bad_json"))
        #expect(events.map(\.seq) == [1, 2])
        // The event published is the line journalled, byte for byte.
        #expect(events.map(\.event) == h.journal.lines)
        #expect(replies[0]["event_id"] == .string("mem-1"))
        #expect(replies[0]["decision"]?["target"]?["id"] == .string("retention"))
    }

    @Test func aFailedWriteAnswersUnavailablePublishesNothingAndRecoversByItself() throws {
        let h = try Harness()
        h.journal.failWrites = MemoryJournal.noSpace
        let (refused, none) = h.ask([query(id: 1, key: "k1"), query(id: 2), "{}"])
        #expect(refused.map { $0["error"]?["code"] } == [.string("unavailable"), .string("unavailable"), .string("missing_field")])
        #expect(refused[0]["id"] == .number(1))
        #expect(refused[0]["error"]?["message"]?.text.contains("No space left") == true)
        #expect(none.isEmpty)
        #expect(h.core.unavailableReason?.code == .write)
        // The key was not kept: its query was not decided.
        h.journal.failWrites = nil
        let (answered, events) = h.ask([query(id: 1, key: "k1")])
        #expect(answered[0]["seq"] == .number(1))
        #expect(events.count == 1)
        #expect(h.core.unavailableReason == nil)
    }

    @Test func aFailingSyncRefusesDecisionsUntilItRecovers() throws {
        let h = try Harness()
        _ = h.ask([query(id: 1)])
        h.journal.failSync = MemoryJournal.eio
        let (refused, none) = h.ask([query(id: 2), query(id: 3)])
        #expect(refused.allSatisfy { $0["error"]?["code"] == .string("unavailable") })
        #expect(none.isEmpty)
        #expect(h.journal.lines.count == 1)
        let health = try JSONReader.parse(h.core.health(uptimeSeconds: nil, now: Harness.now))
        #expect(health["storage"]?["ok"] == .bool(false))
        #expect(health["storage"]?["reason"]?.text.contains("Input/output error") == true)
        h.journal.failSync = nil
        #expect(h.ask([query(id: 4)]).replies[0]["seq"] == .number(2))
    }

    @Test func errorsAreCountedAndNeverJournalled() throws {
        let h = try Harness()
        let (replies, events) = h.ask([#"{"id":"x","table":"nope","call":{"call_id":"a","topic":"t"}}"#])
        #expect(replies[0]["error"]?["code"] == .string("unknown_table"))
        #expect(replies[0]["id"] == .string("x"))
        #expect(events.isEmpty && h.journal.calls.isEmpty)
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct IdempotencyTests {
    @Test func aRepeatGetsTheFirstReplyAndNothingNew() throws {
        let h = try Harness()
        let first = h.ask([query(id: 1, key: "abc")])
        let again = h.ask([query(id: 1, key: "abc")])
        #expect(again.events.isEmpty)
        #expect(h.journal.lines.count == 1)
        #expect(again.replies[0] == first.replies[0])
        #expect(again.replies[0]["seq"] == .number(1))
        #expect(again.replies[0]["event_id"] == .string("mem-1"))
    }

    /// The reply to a decision takes its event id and decision from the event just written; a repeat's, in the
    /// same batch or from the journal later, must be the same bytes, whatever the journal id holds.
    @Test func aRepeatsReplyIsTheFirstOnesBytes() throws {
        let h = try Harness(journalID: "a\"b\\é\t")
        let body = Array(query(id: 1, key: "abc").utf8)
        let sameBatch = h.core.handle([body, body], now: Harness.now)
        let later = h.core.handle([body], now: Harness.now)
        #expect(sameBatch.replies[1] == sameBatch.replies[0])
        #expect(later.replies[0] == sameBatch.replies[0])
        #expect(try JSONReader.parse(later.replies[0])["event_id"] == .string("a\"b\\é\t-1"))
    }

    @Test func aRepeatWithAnotherIdStillGetsTheSameDecisionUnderItsOwnId() throws {
        let h = try Harness()
        let first = h.ask([query(id: 1, key: "abc")]).replies[0]
        let again = h.ask([query(id: 9, key: "abc", callID: "c-1")]).replies[0]
        #expect(again["id"] == .number(9))
        #expect(again["decision"] == first["decision"])
        #expect(again["seq"] == first["seq"])
    }

    @Test func theSameKeyWithAnotherBodyIsRefused() throws {
        let h = try Harness()
        _ = h.ask([query(id: 1, key: "abc")])
        let other = h.ask([query(id: 2, key: "abc", insists: false)])
        #expect(other.replies[0]["error"]?["code"] == .string("idempotency_key_reused"))
        #expect(other.replies[0]["error"]?["field"] == .string("idempotency_key"))
        #expect(other.events.isEmpty)
        // Another instant is another body too.
        let later = h.ask([query(id: 1, key: "abc", at: "2026-11-23T12:00:01+03:00")])
        #expect(later.replies[0]["error"]?["code"] == .string("idempotency_key_reused"))
    }

    @Test func repeatsInsideOneBatchAreDecidedOnce() throws {
        let h = try Harness()
        let (replies, events) = h.ask([query(id: 1, key: "k"), query(id: 2, key: "k", callID: "c-1"), query(id: 3, key: "k", callID: "c-1", insists: false)])
        #expect(events.count == 1)
        #expect(replies[0]["seq"] == .number(1) && replies[1]["seq"] == .number(1))
        #expect(replies[1]["id"] == .number(2))
        #expect(replies[2]["error"]?["code"] == .string("idempotency_key_reused"))
    }

    @Test func keysExpireAfterTheRetentionWindow() throws {
        let h = try Harness()
        _ = h.ask([query(id: 1, key: "k")])
        let nextDay = Instant(milliseconds: Harness.now.milliseconds + IdempotencyKeys.defaultRetentionMilliseconds + 1)
        let (replies, events) = h.ask([query(id: 1, key: "k")], now: nextDay)
        #expect(events.count == 1)
        #expect(replies[0]["seq"] == .number(2))
    }

    @Test(arguments: ["", String(repeating: "x", count: 129), "é", "tab\t"])
    func malformedKeysAreRefused(key: String) throws {
        let h = try Harness()
        let body = #"{"id":1,"table":"retention-ru","idempotency_key":\#(String(decoding: try JSONSerialization.data(withJSONObject: [key])[1...].dropLast(), as: UTF8.self)),"call":{"call_id":"a","topic":"termination","facts":{"insists":true}}}"#
        let reply = h.ask([body]).replies[0]
        #expect(reply["error"]?["code"] == .string("bad_type"))
        #expect(reply["error"]?["field"] == .string("idempotency_key"))
    }

    @Test func aRepeatIsRefusedUnavailableWhenItsFirstAnswerCannotBeRead() throws {
        let h = try Harness()
        _ = h.ask([query(id: 1, key: "k")])
        h.journal.failReads = StorageError(.read, path: "journal.jsonl", errno: EIO, "read failed")
        #expect(h.ask([query(id: 1, key: "k")]).replies[0]["error"]?["code"] == .string("unavailable"))
    }

    @Test func keysOnDiskSurviveAndThoseBeyondTheJournalAreDropped() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        let logger = Logger(label: "test")
        let keys = try IdempotencyKeys(directory: folder, journalLastSeq: 0, now: Harness.now, logger: logger)
        let entries: [(key: String, entry: IdempotencyKeys.Entry)] = [
            ("a", .init(digest: RequestDigest(value: 1), seq: 1, storedAt: Harness.now.milliseconds)),
            ("b", .init(digest: RequestDigest(value: 2), seq: 2, storedAt: Harness.now.milliseconds)),
        ]
        _ = try keys.write(entries)
        keys.commit(entries)
        // The journal holds only seq 1: key b was written but its decision never journalled.
        let reopened = try IdempotencyKeys(directory: folder, journalLastSeq: 1, now: Harness.now, logger: logger)
        #expect(reopened["a"]?.seq == 1)
        #expect(reopened["a"]?.digest == RequestDigest(value: 1))
        #expect(reopened["b"] == nil)
        let muchLater = try IdempotencyKeys(directory: folder, journalLastSeq: 1,
                                            now: Instant(milliseconds: Harness.now.milliseconds + IdempotencyKeys.defaultRetentionMilliseconds + 1), logger: logger)
        #expect(muchLater.count == 0)
    }

    @Test func theKeyStoreIsBoundedAndCountsWhatItForgets() throws {
        let keys = try IdempotencyKeys(directory: nil, capacity: 3, journalLastSeq: 0, now: Harness.now, logger: Logger(label: "test"))
        keys.commit((1...5).map { ("k\($0)", .init(digest: RequestDigest(value: UInt128($0)), seq: UInt64($0), storedAt: Harness.now.milliseconds)) })
        #expect(keys.count == 3)
        #expect(keys.evicted == 2)
        #expect(keys["k1"] == nil && keys["k5"] != nil)
    }

    @Test func theDigestIgnoresKeyOrderOfTheCallsFactsButNotTheirValues() throws {
        func digest(_ facts: String) throws -> RequestDigest {
            let call = try Call(value: try JSONReader.parse(#"{"call_id":"a","topic":"t","facts":\#(facts)}"#))
            return RequestDigest(table: "x", at: nil, call: call)
        }
        #expect(try digest(#"{"a":1,"b":2}"#) == digest(#"{"b":2,"a":1}"#))
        #expect(try digest(#"{"a":1,"b":2}"#) != digest(#"{"a":1,"b":3}"#))
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct EngineCoreControlTests {
    let now = ContinuousClock.now

    @Test func controlRefusesUnknownFieldsAndCommands() throws {
        let h = try Harness()
        func reply(_ body: String) -> Value? {
            guard case .reply(let bytes) = h.core.control(Array(body.utf8), now: now) else { return nil }
            return try? JSONReader.parse(bytes)
        }
        #expect(reply(#"{"cmd":"reload","force":true}"#)?["error"]?["code"] == .string("unknown_field"))
        #expect(reply(#"{"cmd":"reload","force":true}"#)?["error"]?["field"] == .string("force"))
        #expect(reply(#"{"cmd":"health","x":1}"#)?["error"]?["code"] == .string("unknown_field"))
        #expect(reply(#"{"cmd":"cti_incident","on":true,"why":"x"}"#)?["error"]?["code"] == .string("unknown_field"))
        #expect(reply(#"{"cmd":"explode"}"#)?["error"]?["code"] == .string("unknown_command"))
        #expect(reply(#"[]"#)?["error"]?["code"] == .string("bad_type"))
        #expect(h.core.control(Array(#"{"cmd":"health"}"#.utf8), now: now) == .health)
    }

    @Test func reloadsAreOneAtATimeAndAtMostOnePerInterval() throws {
        let h = try Harness()
        #expect(h.core.control(Array(#"{"cmd":"reload"}"#.utf8), now: now) == .reload(allowRemovals: false))
        guard case .reply(let busy) = h.core.control(Array(#"{"cmd":"reload"}"#.utf8), now: now) else { Issue.record("a second reload started"); return }
        #expect(try JSONReader.parse(busy)["error"]?["code"] == .string("rate_limited"))
        _ = h.core.finishReload(.success(Harness.tables), allowRemovals: false, now: now)
        guard case .reply(let soon) = h.core.control(Array(#"{"cmd":"reload"}"#.utf8), now: now + .milliseconds(500)) else { Issue.record("reload within the interval"); return }
        #expect(try JSONReader.parse(soon)["error"]?["code"] == .string("rate_limited"))
        #expect(h.core.control(Array(#"{"cmd":"reload","allow_removals":true}"#.utf8), now: now + .seconds(2)) == .reload(allowRemovals: true))
    }

    @Test func aReloadThatDropsWhatIsServedIsRefusedUnlessAllowed() throws {
        let h = try Harness()
        let fewer = TableSet(tables: Harness.tables.tables.filter { $0.key != "es-bank-directory" })
        #expect(h.core.beginReload(now: now) == nil)
        let refused = try JSONReader.parse(h.core.finishReload(.success(fewer), allowRemovals: false, now: now))
        #expect(refused["error"]?["code"] == .string("reload_would_remove"))
        #expect(refused["removed"] == .array([.string("table es-bank-directory")]))
        #expect(h.core.tables.tables["es-bank-directory"] != nil)
        #expect(h.core.beginReload(now: now + .seconds(2)) == nil)
        let allowed = try JSONReader.parse(h.core.finishReload(.success(fewer), allowRemovals: true, now: now + .seconds(2)))
        #expect(allowed["ok"] == .bool(true))
        #expect(h.core.tables.tables["es-bank-directory"] == nil)
    }

    @Test func removalsNameTopicsTargetsAndSchedules() throws {
        let old = Harness.tables
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("routing-tables/retention-ru.yaml"), encoding: .utf8)
        // A file cut half way, as an editor saving in place leaves it for a moment.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var cut: Table?
        for n in stride(from: lines.count - 1, to: 0, by: -1) {
            if let t = try? TableLoader.load(yaml: lines[..<n].joined(separator: "\n"), file: "cut.yaml"), t.topics.count < old.tables["retention-ru"]!.topics.count {
                cut = t
                break
            }
        }
        let table = try #require(cut, "no prefix of the file loads with fewer topics")
        var fresh = old.tables
        fresh["retention-ru"] = table
        let removed = old.removals(in: TableSet(tables: fresh))
        #expect(!removed.isEmpty)
        #expect(removed.allSatisfy { $0.hasPrefix("retention-ru: ") })
    }

    @Test func theIncidentFlagIsConfirmedOnlyOnceSaved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID().uuidString)").path
        let file = OperationsFile(directory: folder)
        try FileIO.makeDirectory(folder)
        let keys = try IdempotencyKeys(directory: nil, journalLastSeq: 0, now: Harness.now, logger: Logger(label: "t"))
        let core = try EngineCore(tables: Harness.tables, journal: MemoryJournal(), keys: keys, operationsFile: file, logger: Logger(label: "t"))
        guard case .reply(let ok) = core.control(Array(#"{"cmd":"cti_incident","on":true}"#.utf8), now: now) else { return }
        #expect(try JSONReader.parse(ok)["cti_incident"] == .bool(true))
        #expect(try file.load().ctiIncident)
        // A folder that can no longer be written: the flag is not changed and the operator is told.
        chmod(folder, 0o500)
        defer { chmod(folder, 0o755) }
        guard geteuid() != 0 else { return }  // root writes anyway; the tmpfs process test covers it
        guard case .reply(let refused) = core.control(Array(#"{"cmd":"cti_incident","on":false}"#.utf8), now: now) else { return }
        #expect(try JSONReader.parse(refused)["error"]?["code"] == .string("unavailable"))
        #expect(core.operations.ctiIncident)
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct EngineCoreReplayTests {
    @Test func replayAnswersRangesAndReportsReadErrorsAsErrors() throws {
        let h = try Harness()
        _ = h.ask((1...5).map { query(id: $0) })
        let reply = try JSONReader.parse(h.core.replay(Array(#"{"from_seq":2,"max":2}"#.utf8)))
        #expect(reply["next_seq"] == .number(4))
        #expect(reply["events"] == .array(try h.journal.lines[1...2].map { try JSONReader.parse($0) }))
        #expect(try JSONReader.parse(h.core.replay(Array(#"{"from_seq":6}"#.utf8)))["events"] == .array([]))
        h.journal.failReads = StorageError(.read, path: "journal.jsonl", errno: EIO, "read failed")
        let failed = try JSONReader.parse(h.core.replay(Array(#"{"from_seq":1}"#.utf8)))
        #expect(failed["error"]?["code"] == .string("unavailable"))
        #expect(failed["events"] == nil)
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct EngineCoreHealthTests {
    /// The bundled Spanish holiday calendar states its years; past its end, health says so.
    @Test func healthReportsHolidayCalendarsThatEndSoonOrHaveEnded() throws {
        let h = try Harness()
        let expiries = Harness.tables.calendarExpiries(at: Instant(milliseconds: 1_900_000_000_000))  // 2030
        try #require(!expiries.isEmpty, "no bundled table states calendar_years")
        let health = try JSONReader.parse(h.core.health(uptimeSeconds: nil, now: Instant(milliseconds: 1_900_000_000_000)))
        guard case .array(let calendars)? = health["calendars"] else { Issue.record("no calendars member: \(health)"); return }
        #expect(calendars.count == expiries.count)
        #expect(calendars.first?["ended"] == .bool(true))
        let early = try JSONReader.parse(h.core.health(uptimeSeconds: nil, now: Instant(milliseconds: 1_767_225_600_000)))  // 2026-01-01
        #expect(early["calendars"] == .array([]))
    }
}
