import Routing
import Storage
import Wire

extension InputError.Code {
    /// A control command that is not one.
    public static let unknownCommand = InputError.Code(rawValue: "unknown_command")
    /// A reload asked for too soon after the previous one, or while one is running.
    public static let rateLimited = InputError.Code(rawValue: "rate_limited")
    /// A reload whose tables are invalid; the previous tables keep serving.
    public static let invalidTable = InputError.Code(rawValue: "invalid_table")
    /// A reload that would drop tables, topics, targets or schedules, without `allow_removals`.
    public static let reloadWouldRemove = InputError.Code(rawValue: "reload_would_remove")
}

extension EngineCore {
    /// What the server must do for a control command.
    public enum ControlOutcome: Sendable, Equatable {
        /// Send this reply.
        case reply([UInt8])
        /// Load the tables (off the query path), then answer with ``finishReload(_:allowRemovals:now:)``.
        case reload(allowRemovals: Bool)
        /// Answer with ``health(uptimeSeconds:extra:)`` and the server's own counters.
        case health
    }

    static let commands = "reload, cti_incident, health"

    /// Answers a control command: `{"cmd":"reload","allow_removals"?}`, `{"cmd":"cti_incident","on"}`,
    /// `{"cmd":"health"}`. Unknown members are refused, as in queries. Only an operator reaches this: the
    /// server authenticates the control endpoint.
    public func control(_ body: [UInt8], now: ContinuousClock.Instant) -> ControlOutcome {
        let command: Value
        do {
            command = try JSONReader.parse(body)
        } catch {
            return .reply(errorReply(error))
        }
        guard case .object(let members) = command else {
            return .reply(errorReply(InputError(.badType, "a control command must be a JSON object {\"cmd\", …}, got \(command.kindDescription).")))
        }
        guard case .string(let name)? = command["cmd"] else {
            return .reply(errorReply(InputError(.missingField, "cmd is required: one of \(EngineCore.commands).", field: "cmd")))
        }
        let allowed: [String]
        switch name {
        case "reload": allowed = ["cmd", "allow_removals"]
        case "cti_incident": allowed = ["cmd", "on"]
        case "health": allowed = ["cmd"]
        default:
            return .reply(errorReply(InputError(.unknownCommand, "cmd \"\(name)\" is not a command; expected one of: \(EngineCore.commands).", field: "cmd")))
        }
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            return .reply(errorReply(InputError(.unknownField, "\(unknown.key) is not a field of \(name); expected: \(allowed.joined(separator: ", ")).", field: unknown.key)))
        }
        switch name {
        case "reload":
            var allowRemovals = false
            if let flag = command["allow_removals"] {
                guard case .bool(let b) = flag else { return .reply(errorReply(InputError(.badType, "allow_removals must be true or false.", field: "allow_removals"))) }
                allowRemovals = b
            }
            if let refusal = beginReload(now: now) { return .reply(errorReply(refusal)) }
            return .reload(allowRemovals: allowRemovals)
        case "cti_incident":
            guard case .bool(let on)? = command["on"] else {
                return .reply(errorReply(InputError(.badType, "on must be true or false.", field: "on")))
            }
            return .reply(setCTIIncident(on))
        default:
            return .health
        }
    }

    /// Declares or clears the CTI mass incident; confirmed only once the flag is on disk.
    func setCTIIncident(_ on: Bool) -> [UInt8] {
        let changed = Operations(ctiIncident: on)
        do {
            try operationsFile?.save(changed)
            try sharedStore?.saveOperations(changed)
        } catch {
            logger.error("CTI incident not \(on ? "declared" : "cleared"): \(error)")
            return errorReply(InputError(.unavailable, "the CTI-incident flag cannot be saved (\(error)); it is unchanged."))
        }
        operations = changed
        logger.notice("CTI mass incident \(on ? "declared: transfers go by number" : "cleared: transfers go through CTI")")
        return okReply { $0.member("cti_incident") { $0.bool(on) } }
    }

    /// Admits a reload, or says why not (one is running, or the last finished too recently).
    public func beginReload(now: ContinuousClock.Instant) -> InputError? {
        if reloadRunning {
            return InputError(.rateLimited, "a reload is already running; its result is sent to whoever asked first.")
        }
        if let lastReload, now - lastReload < configuration.minimumReloadInterval {
            return InputError(.rateLimited, "the tables were reloaded less than \(configuration.minimumReloadInterval) ago; at most one reload per \(configuration.minimumReloadInterval).")
        }
        reloadRunning = true
        return nil
    }

    /// Serves freshly loaded tables, unless they are invalid or would drop something that was served
    /// (a half-written file, say) without `allowRemovals`.
    /// - Returns: the reply for whoever asked.
    /// - Parameter wallClock: for warning about holiday calendars that end soon.
    public func finishReload(_ loaded: Result<TableSet, TableErrors>, allowRemovals: Bool, now: ContinuousClock.Instant,
                             wallClock: Instant = Instant(milliseconds: 0)) -> [UInt8] {
        reloadRunning = false
        lastReload = now
        let fresh: TableSet
        switch loaded {
        case .failure(let error):
            meters.reloadsRejected.increment()
            logger.error("reload rejected; the previous tables keep serving:\n\(error)")
            var w = JSONWriter(capacity: 1024)
            w.object { o in
                o.member("error") { w in
                    Wire.encodeErrorBody(InputError(.invalidTable, "the tables were not reloaded; the previous ones keep serving. \(error.errors.count) problem(s): \(error.errors.first?.description ?? "")"), into: &w)
                }
                o.member("errors") { $0.strings(error.errors.map(\.description)) }
            }
            meters.errors.increment(InputError.Code.invalidTable.rawValue)
            return w.bytes
        case .success(let set): fresh = set
        }
        let removed = tables.removals(in: fresh)
        if !removed.isEmpty && !allowRemovals {
            meters.reloadsRejected.increment()
            logger.error("reload rejected: it would remove \(removed.count) thing(s) being served: \(removed.prefix(10).joined(separator: "; "))")
            var w = JSONWriter(capacity: 1024)
            w.object { o in
                o.member("error") { w in
                    Wire.encodeErrorBody(InputError(.reloadWouldRemove, "the new tables drop \(removed.count) thing(s) being served (first: \(removed[0])); a table file may be half written. Nothing changed. Replace table files atomically (write, then rename); to remove on purpose send {\"cmd\":\"reload\",\"allow_removals\":true}."), into: &w)
                }
                o.member("removed") { $0.strings(removed) }
            }
            meters.errors.increment(InputError.Code.reloadWouldRemove.rawValue)
            return w.bytes
        }
        tables = fresh
        meters.reloads.increment()
        for expiry in fresh.calendarExpiries(at: wallClock) { logger.warning("\(expiry)") }
        logger.notice("reloaded tables", metadata: ["tables": "\(fresh.tables.values.map { "\($0.name)@\($0.version)" }.sorted().joined(separator: ","))",
                                                    "removed": "\(removed.count)"])
        return okReply { o in o.member("tables") { self.writeTables(&$0) } }
    }

    func okReply(_ body: (inout JSONWriter.ObjectWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.object { o in
            o.member("ok") { $0.bool(true) }
            body(&o)
        }
        return w.bytes
    }

    func writeTables(_ w: inout JSONWriter) {
        w.object { o in
            for table in tables.tables.values.sorted(by: { $0.name < $1.name }) {
                o.member(dynamic: table.name) { w in
                    w.object { o in
                        o.member("version") { $0.string(table.version) }
                        o.member("topics") { $0.number(Int64(table.topics.count)) }
                    }
                }
            }
        }
    }

    /// The operations state to report: with a shared store, as the deployment has it now (another engine may
    /// have declared an incident since this one's last batch); the last one seen when the store is unreachable.
    private var currentOperations: Operations {
        guard let sharedStore else { return operations }
        return (try? sharedStore.loadOperations()) ?? operations
    }

    /// `{"ok": true, …}` with the tables, the incident flag, sessions, journal, storage state, keys and counters.
    /// - Parameter extra: members the server adds (its uptime, publishing counters).
    /// - Parameter now: for the holiday calendars that end within 90 days or have ended (`calendars`).
    public func health(uptimeSeconds: Double?, now: Instant, extra: (inout JSONWriter.ObjectWriter) -> Void = { _ in }) -> [UInt8] {
        okReply { o in
            if let uptimeSeconds { o.member("uptime_s") { $0.number(uptimeSeconds.rounded()) } }
            o.member("tables") { self.writeTables(&$0) }
            o.member("calendars") { $0.value(.array(self.tables.calendarExpiries(at: now).map(\.value))) }
            o.member("cti_incident") { $0.bool(self.currentOperations.ctiIncident) }
            o.member("sessions") { w in
                let all = self.sessions.sessions.values
                w.object { o in
                    o.member("open") { $0.number(Int64(all.filter { !$0.done }.count)) }
                    o.member("finished") { $0.number(Int64(all.filter(\.done).count)) }
                }
            }
            o.member("journal") { w in
                w.object { o in
                    o.member("seq") { $0.number(Int64(self.journal.lastSeq)) }
                    o.member("synced_seq") { $0.number(Int64(self.journal.syncedSeq)) }
                    o.member("journal_id") { $0.string(self.journal.journalID) }
                }
            }
            o.member("storage") { w in
                let reason = self.unavailableReason
                w.object { o in
                    o.member("ok") { $0.bool(reason == nil) }
                    if let reason { o.member("reason") { $0.string(reason.description) } }
                }
            }
            o.member("idempotency") { w in
                w.object { o in
                    o.member("keys") { $0.number(Int64(self.keys.count)) }
                    o.member("evicted") { $0.number(Int64(self.keys.evicted)) }
                    o.member("retention_s") { $0.number(self.keys.retentionMilliseconds / 1000) }
                }
            }
            o.member("counters") { w in
                let m = self.meters
                w.object { o in
                    o.member("queries") { $0.number(Int64(m.queries.count)) }
                    o.member("decisions") { $0.number(Int64(m.decisions.total)) }
                    o.member("repeats") { $0.number(Int64(m.repeats.count)) }
                    o.member("errors") { EngineCore.writeCounts(m.errors, into: &$0) }
                    o.member("reloads") { $0.number(Int64(m.reloads.count)) }
                    o.member("reloads_rejected") { $0.number(Int64(m.reloadsRejected.count)) }
                    extra(&o)
                }
            }
        }
    }
}

extension EngineCore {
    /// `{"code": n, …}` for counts by one label (errors by code), in the order of the codes.
    public static func writeCounts(_ counts: MeteredCounts, into w: inout JSONWriter) {
        w.object { o in for (values, n) in counts.snapshot { o.member(dynamic: values.joined(separator: ".")) { $0.number(Int64(n)) } } }
    }
}

extension TableSet {
    /// Every table's holiday calendars that end within 90 days of `now` or have ended.
    public func calendarExpiries(at now: Instant) -> [CalendarExpiry] {
        tables.keys.sorted().flatMap { tables[$0]!.calendarExpiries(at: now) }
    }

    /// What `fresh` drops of this set: tables, topics, targets and schedules, each as "table: kind id".
    public func removals(in fresh: TableSet) -> [String] {
        var removed: [String] = []
        for (name, old) in tables.sorted(by: { $0.key < $1.key }) {
            guard let new = fresh.tables[name] else {
                removed.append("table \(name)")
                continue
            }
            func missing(_ kind: String, _ old: [String], _ new: [String]) {
                let kept = Set(new)
                for id in old where !kept.contains(id) { removed.append("\(name): \(kind) \(id)") }
            }
            missing("topic", old.topics.map(\.code), new.topics.map(\.code))
            missing("target", old.targets.map(\.id), new.targets.map(\.id))
            missing("schedule", old.schedules.map(\.id), new.schedules.map(\.id))
        }
        return removed
    }
}
