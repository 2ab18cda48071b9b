import Foundation
import Hummingbird
import HummingbirdWebSocket
import HTTPTypes
import Logging
import Metrics
import Recorder
import Routing
import Synchronization
import Wire

/// The routes of ``Gateway``: `/v1/…` (see `Panel/openapi.json` and docs/PROTOCOL.md) and the panel's files.
final class API: Sendable {
    let gateway: Gateway
    let counter = Atomic<UInt64>(0)
    let store = Mutex<(any CommentStorage)?>(nil)
    let panel: [String: (type: String, bytes: [UInt8])]

    init(gateway: Gateway) {
        self.gateway = gateway
        var files: [String: (String, [UInt8])] = [:]
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                     "json": "application/json", "png": "image/png", "svg": "image/svg+xml"]
        if let folder = Bundle.module.url(forResource: "Panel", withExtension: nil),
           let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) {
            for name in names {
                guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { continue }
                files[name] = (types[(name as NSString).pathExtension] ?? "application/octet-stream", Array(data))
            }
        }
        panel = files
    }

    func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        let gateway = self.gateway
        // The panel: plain files, no build step.
        for (name, file) in panel {
            let paths = name == "index.html" ? ["/", "/index.html"] : ["/\(name)"]
            for path in paths {
                router.get(RouterPath(path)) { _, _ -> Response in
                    Response(status: .ok, headers: [.contentType: file.type, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
                }
            }
        }
        if let doc = panel["openapi.json"] {
            router.get("/v1/openapi.json") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: doc.bytes)))
            }
        }
        router.post("/v1/signin") { request, context in try await self.signIn(request) }
        router.post("/v1/signout") { request, _ in
            let session = try self.session(request)
            gateway.directory.signOut(session.token)
            return API.json(.object([.init("ok", .bool(true))]))
        }
        router.get("/v1/me") { request, _ in
            let s = try self.session(request)
            return API.json(API.agentValue(s))
        }
        router.get("/v1/tables") { request, _ in
            _ = try self.session(request)
            return API.json(gateway.catalog.list())
        }
        router.get("/v1/tables/:table") { request, context in
            _ = try self.session(request)
            let name = context.parameters.get("table") ?? ""
            guard let t = gateway.catalog.table(name) else {
                throw APIError(InputError(.unknownTable, "no table \"\(name)\": the gateway knows \(gateway.catalog.tables.map(\.name).joined(separator: ", ")).", field: "table"))
            }
            return API.json(gateway.catalog.describe(t))
        }
        router.post("/v1/tables/:table/form") { request, context in
            _ = try self.session(request)
            return try await self.form(request, table: context.parameters.get("table") ?? "")
        }
        router.post("/v1/tables/:table/decide") { request, context in
            try await self.decide(request, context: context, extra: nil)
        }
        router.post("/v1/tables/:table/outcome") { request, context in
            try await self.decide(request, context: context, extra: .outcome)
        }
        router.post("/v1/tables/:table/key") { request, context in
            try await self.decide(request, context: context, extra: .key)
        }
        router.get("/v1/calls/:call/comments") { request, context in
            _ = try self.session(request)
            return try self.comments(callID: context.parameters.get("call") ?? "")
        }
        router.ws("/v1/stream", shouldUpgrade: { request, _ in
            guard let token = request.uri.queryParameters.get("access_token"), gateway.directory.session(token) != nil else {
                throw APIError(InputError(.unauthorized, "sign in first: the stream needs ?access_token=<session> from POST /v1/signin."))
            }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            let q = context.request.uri.queryParameters
            guard let token = q.get("access_token"), let session = gateway.directory.session(token) else { return }
            let after = q.get("after").flatMap { UInt64($0) } ?? 0
            let popsAfter = q.get("pops_after").flatMap { UInt64($0) } ?? after
            let (stream, sub) = gateway.hub.subscribe(agent: session.agent.id, after: after, popsAfter: popsAfter)
            defer { gateway.hub.unsubscribe(sub) }
            try await outbound.write(.text("{\"type\":\"hello\",\"agent\":\(API.quote(session.agent.id)),\"after\":\(after),\"pops_after\":\(popsAfter),\"engine_seq\":\(gateway.hub.lastSeq)}"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in inbound.messages(maxSize: 4096) {}  // the panel says nothing; a close ends the stream
                }
                group.addTask {
                    for await json in stream { try await outbound.write(.text(json)) }
                }
                try await group.next()
                group.cancelAll()
            }
        })
    }

    // MARK: - Sign-in

    func signIn(_ request: Request) async throws -> Response {
        let body = try await API.object(request, limit: gateway.configuration.maximumBody, keys: ["agent", "token"])
        guard case .string(let agent)? = body["agent"] else { throw APIError(InputError(.missingField, "agent is required: the agent's id, a string.", field: "agent")) }
        guard case .string(let token)? = body["token"] else { throw APIError(InputError(.missingField, "token is required: the agent's token, a string.", field: "token")) }
        guard let session = gateway.directory.signIn(agent: agent, token: token) else {
            throw APIError(InputError(.unauthorized, "unknown agent or wrong token.", field: "token"))
        }
        var v = API.agentValue(session)
        if case .object(var members) = v {
            members.append(.init("session", .string(session.token)))
            v = .object(members)
        }
        return API.json(v)
    }

    /// The session named by `Authorization: Bearer <session>`.
    func session(_ request: Request) throws -> AgentDirectory.Session {
        guard let header = request.headers[.authorization] else {
            throw APIError(InputError(.unauthorized, "sign in first: send Authorization: Bearer <session> from POST /v1/signin."))
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let s = gateway.directory.session(String(parts[1])) else {
            throw APIError(InputError(.unauthorized, "the session is unknown or has expired: sign in again."))
        }
        return s
    }

    static func agentValue(_ s: AgentDirectory.Session) -> Value {
        .object([
            .init("agent", .string(s.agent.id)), .init("name", .string(s.agent.name)),
            .init("targets", .array(s.agent.targets.map(Value.string))),
            .init("expires_at", .string(ISO8601DateFormatter().string(from: s.expires))),
        ])
    }

    // MARK: - Decisions

    enum Extra { case outcome, key }

    func decide(_ request: Request, context: BasicWebSocketRequestContext, extra: Extra?) async throws -> Response {
        let session = try session(request)
        let started = ContinuousClock.now
        let table = context.parameters.get("table") ?? ""
        let keys: [String]
        switch extra {
        case nil: keys = ["call", "at"]
        case .outcome: keys = ["call", "at", "step", "outcome"]
        case .key: keys = ["call", "at", "key"]
        }
        let body = try await API.object(request, limit: gateway.configuration.maximumBody, keys: keys)
        guard var call = body["call"] else { throw APIError(InputError(.missingField, "call is required: the contract's call object.", field: "call")) }
        guard case .object(var members) = call else { throw APIError(InputError(.badType, "call must be an object, got \(call.kindDescription).", field: "call")) }
        if let extra {
            var facts: [Value.Member] = []
            if let i = members.firstIndex(where: { $0.key == "facts" }) {
                guard case .object(let f) = members[i].value else { throw APIError(InputError(.badType, "call.facts must be an object.", field: "call.facts")) }
                facts = f
                members.remove(at: i)
            }
            switch extra {
            case .outcome:
                guard case .string(let step)? = body["step"] else { throw APIError(InputError(.missingField, "step is required: the playbook step the outcome is for.", field: "step")) }
                guard case .string(let outcome)? = body["outcome"] else { throw APIError(InputError(.missingField, "outcome is required: one of the step's outcomes.", field: "outcome")) }
                facts.removeAll { $0.key == "step" || $0.key == "outcome" }
                facts += [.init("step", .string(step)), .init("outcome", .string(outcome))]
            case .key:
                guard case .string(let key)? = body["key"], key.count == 1 else { throw APIError(InputError(.badType, "key must be one key of the phone's keypad, like \"1\" or \"#\".", field: "key")) }
                var digits = ""
                if let i = facts.firstIndex(where: { $0.key == "digits" }) {
                    if case .string(let d) = facts[i].value { digits = d }
                    facts.remove(at: i)
                }
                facts.append(.init("digits", .string(digits + key)))
            }
            members.append(.init("facts", .object(facts)))
            call = .object(members)
        }
        let idempotencyKey = request.headers[HTTPField.Name("Idempotency-Key")!] ?? UUID().uuidString
        guard (1...128).contains(idempotencyKey.utf8.count), idempotencyKey.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw APIError(InputError(.badType, "the Idempotency-Key header must be 1 to 128 printable ASCII characters (a UUID, say).", field: "idempotency_key"))
        }
        if case .string(let callID)? = call["call_id"] { gateway.hub.noteDecider(callID: callID, agent: session.agent.id) }
        let id = counter.add(1, ordering: .relaxed).newValue
        var query: [Value.Member] = [.init("id", .string("gw-\(id)")), .init("table", .string(table))]
        if let at = body["at"], at != .null { query.append(.init("at", at)) }
        query += [.init("call", call), .init("idempotency_key", .string(idempotencyKey))]
        var w = JSONWriter(capacity: 2048)
        w.value(.object(query))
        let replyBytes: [UInt8]
        do {
            replyBytes = try await gateway.engine.query(w.bytes)
        } catch {
            throw APIError(InputError(.unavailable, "the engine did not answer (\(error)); retry with the same Idempotency-Key."))
        }
        Timer(label: "switchboard_gateway_query_duration_seconds").recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        let reply: Value
        do { reply = try JSONReader.parse(replyBytes) } catch { throw APIError(InputError(.unavailable, "the engine's reply is not JSON.")) }
        if let e = reply["error"] {
            let code = e["code"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "bad_request"
            Counter(label: "switchboard_gateway_errors_total", dimensions: [("code", code)]).increment()
            return API.json(.object([.init("error", e)]), status: API.status(for: code), headers: [HTTPField.Name("Idempotency-Key")!: idempotencyKey])
        }
        let decision = reply["decision"] ?? .null
        let action = decision["action"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "?"
        let topic = call["topic"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "?"
        if gateway.catalog.table(table)?.topic(named: topic) != nil {
            Counter(label: "switchboard_gateway_decisions_total", dimensions: [("table", table), ("topic", topic), ("action", action)]).increment()
        }
        return API.json(.object([
            .init("seq", reply["seq"] ?? .null), .init("event_id", reply["event_id"] ?? .null),
            .init("idempotency_key", .string(idempotencyKey)), .init("decision", decision),
        ]), headers: [HTTPField.Name("Idempotency-Key")!: idempotencyKey])
    }

    // MARK: - The form

    /// `POST /v1/tables/{table}/form` `{"call", "at"?}`: which facts the deciding branch reads given the answers
    /// so far (``Table/formStep(for:at:operations:)``), labels in the call's language. Decides nothing; the
    /// gateway answers from its own copy of the tables.
    func form(_ request: Request, table name: String) async throws -> Response {
        guard let table = gateway.catalog.table(name) else {
            throw APIError(InputError(.unknownTable, "no table \"\(name)\": the gateway knows \(gateway.catalog.tables.map(\.name).joined(separator: ", ")).", field: "table"))
        }
        let body = try await API.object(request, limit: gateway.configuration.maximumBody, keys: ["call", "at"])
        guard let value = body["call"] else { throw APIError(InputError(.missingField, "call is required: the call so far (topic, language, customer, facts).", field: "call")) }
        var instant = Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        if let at = body["at"], at != .null {
            guard case .string(let text) = at, let parsed = Timestamp.parse(text) else {
                throw APIError(InputError(.badTime, "at must be an ISO 8601 instant with an offset, like 2026-11-22T23:49:00+03:00.", field: "at"))
            }
            instant = parsed.instant
        }
        do throws(InputError) {
            let call = try Call(value: value)
            let step = try table.formStep(for: call, at: instant)
            return API.json(.object([
                .init("topic", .string(call.topic)), .init("language", call.language.map(Value.string) ?? .null),
                .init("facts", .array(step.facts.map(Catalog.field))), .init("customer", .array(step.customer.map(Catalog.field))),
                .init("next", step.next.map(Value.string) ?? .null),
            ]))
        } catch {
            throw APIError(error)
        }
    }

    // MARK: - Comments

    func comments(callID: String) throws -> Response {
        guard let path = gateway.configuration.commentsDB else {
            throw APIError(InputError(.unavailable, "the gateway was started without --comments-db: no comment store to read."))
        }
        let store: any CommentStorage = try self.store.withLock { s in
            if let s { return s }
            guard isPostgresURL(path) || FileManager.default.fileExists(atPath: path) else {
                throw APIError(InputError(.unavailable, "no comment store at \(path) yet: is the recorder running?"))
            }
            let opened = try openCommentStorage(path)
            s = opened
            return opened
        }
        var rows: [Value] = []
        try store.comments(callID: callID) { row in rows.append(.object(row.fields.map { .init($0.0, $0.1) })) }
        guard !rows.isEmpty else {
            throw APIError(InputError(.notFound, "no stored comment for call \"\(callID)\" (yet).", field: "call_id"))
        }
        return API.json(.object([.init("call_id", .string(callID)), .init("comments", .array(rows))]))
    }

    // MARK: - JSON in and out

    /// The request body as a JSON object with only `keys`.
    static func object(_ request: Request, limit: Int, keys: [String]) async throws -> Value {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        let bytes = Array(buffer.readableBytesView)
        let value: Value
        do { value = try JSONReader.parse(bytes) } catch { throw APIError(error) }
        guard case .object(let members) = value else {
            throw APIError(InputError(.badType, "the body must be a JSON object, got \(value.kindDescription)."))
        }
        if let unknown = members.first(where: { !keys.contains($0.key) }) {
            throw APIError(InputError(.unknownField, "unknown member \"\(unknown.key)\"; expected \(keys.joined(separator: ", ")).", field: unknown.key))
        }
        return value
    }

    static func json(_ value: Value, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var w = JSONWriter(capacity: 1024)
        w.value(value)
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
    }

    static func errorValue(code: String, message: String, field: String?) -> Value {
        var e: [Value.Member] = [.init("code", .string(code)), .init("message", .string(message))]
        if let field { e.append(.init("field", .string(field))) }
        return .object([.init("error", .object(e))])
    }

    static func quote(_ s: String) -> String {
        var w = JSONWriter(capacity: s.utf8.count + 2)
        w.string(s)
        return w.string
    }

    /// The HTTP status for each error code (docs/PROTOCOL.md, HTTP API).
    static func status(for code: String) -> HTTPResponse.Status {
        switch code {
        case "bad_json", "bad_request": .badRequest
        case "unauthorized": .unauthorized
        case "unknown_table", "unknown_session", "not_found": .notFound
        case "idempotency_key_reused", "session_closed", "stale_step": .conflict
        case "too_large": .contentTooLarge
        case "unavailable": .serviceUnavailable
        default: .unprocessableContent  // bad_type, unknown_field, missing_field, missing_fact, unknown_topic, bad_time, bad_outcome
        }
    }
}

extension InputError.Code {
    /// No session, or an unknown one (HTTP 401).
    static let unauthorized = InputError.Code(rawValue: "unauthorized")
    /// No such resource (HTTP 404).
    static let notFound = InputError.Code(rawValue: "not_found")
}

/// A contract error answered with its HTTP status.
struct APIError: Error, HTTPResponseError {
    let error: InputError
    init(_ error: InputError) { self.error = error }

    var status: HTTPResponse.Status { API.status(for: error.code.rawValue) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Counter(label: "switchboard_gateway_errors_total", dimensions: [("code", error.code.rawValue)]).increment()
        let status = self.status
        var headers: HTTPFields = [:]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return API.json(API.errorValue(code: error.code.rawValue, message: error.message, field: error.field), status: status, headers: headers)
    }
}
