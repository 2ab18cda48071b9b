import Foundation
import Routing
import Synchronization
import Wire

/// The agents who may sign in, read from a file of hashed tokens, and the sessions they hold.
///
/// The file has one JSON object a line (blank lines and lines starting with `#` are skipped):
///
/// ```json
/// {"agent": "a-17", "name": "Анна", "targets": ["retention"], "iterations": 100000, "salt": "<hex>", "hash": "<hex>"}
/// ```
///
/// `hash` is PBKDF2-HMAC-SHA256(token, salt, iterations), 32 bytes in hex; `switchboard gateway-agent`
/// writes such a line. `targets` are the table target ids whose transfers ring this agent's phone (the
/// screen pop). Signing in costs one PBKDF2; it returns a random session token kept in memory only.
public final class AgentDirectory: Sendable {
    public struct Agent: Sendable, Hashable {
        public let id: String
        public let name: String
        public let targets: [String]
        let iterations: Int
        let salt: [UInt8]
        let hash: [UInt8]
    }

    public struct Session: Sendable {
        public let token: String
        public let agent: Agent
        public let expires: Date
    }

    private let agents: [String: Agent]
    private let sessions = Mutex<[String: Session]>([:])
    /// How long a session lasts after sign-in.
    public let sessionLifetime: TimeInterval

    public init(agents: [Agent], sessionLifetime: TimeInterval = 12 * 3600) {
        self.agents = Dictionary(agents.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.sessionLifetime = sessionLifetime
    }

    /// Reads the agents file.
    /// - Throws: a message naming the line that is not an agent.
    public convenience init(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw GatewayFailure("cannot read the agents file \(path)") }
        var agents: [Agent] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            do {
                let v = try JSONReader.parse(Array(text.utf8))
                guard case .string(let id)? = v["agent"], case .string(let saltHex)? = v["salt"], case .string(let hashHex)? = v["hash"],
                      let salt = PBKDF2.bytes(hex: saltHex), let hash = PBKDF2.bytes(hex: hashHex), hash.count == 32 else {
                    throw GatewayFailure("needs \"agent\", \"salt\" (hex) and \"hash\" (64 hex digits)")
                }
                var iterations = 100_000
                if case .number(let i)? = v["iterations"] { iterations = max(1, Int(i)) }
                var targets: [String] = []
                if case .array(let items)? = v["targets"] { targets = items.compactMap { if case .string(let s) = $0 { s } else { nil } } }
                var name = id
                if case .string(let s)? = v["name"] { name = s }
                agents.append(Agent(id: id, name: name, targets: targets, iterations: iterations, salt: salt, hash: hash))
            } catch {
                throw GatewayFailure("\(path):\(n + 1): not an agent line: \(error)")
            }
        }
        self.init(agents: agents)
    }

    /// The line of the agents file for an agent and token, with a fresh random salt.
    public static func line(agent: String, name: String? = nil, token: String, targets: [String], iterations: Int = 100_000) -> String {
        var rng = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let hash = PBKDF2.sha256(password: Array(token.utf8), salt: salt, iterations: iterations)
        var w = JSONWriter(capacity: 256)
        var members: [Value.Member] = [.init("agent", .string(agent))]
        if let name { members.append(.init("name", .string(name))) }
        members += [.init("targets", .array(targets.map(Value.string))), .init("iterations", .number(Double(iterations))),
                    .init("salt", .string(PBKDF2.hex(salt))), .init("hash", .string(PBKDF2.hex(hash)))]
        w.value(.object(members))
        return w.string
    }

    /// Checks an agent's token and opens a session; nil when the agent is unknown or the token wrong.
    public func signIn(agent id: String, token: String, now: Date = Date()) -> Session? {
        // An unknown agent costs the same as a known one, so timing does not tell which agents exist.
        let agent = agents[id]
        let computed = PBKDF2.sha256(password: Array(token.utf8), salt: agent?.salt ?? Array(repeating: 0, count: 16),
                                     iterations: agent?.iterations ?? 1000)
        guard let agent, PBKDF2.constantTimeEqual(computed, agent.hash) else { return nil }
        var rng = SystemRandomNumberGenerator()
        let token = PBKDF2.hex((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let session = Session(token: token, agent: agent, expires: now.addingTimeInterval(sessionLifetime))
        sessions.withLock { all in
            all = all.filter { $0.value.expires > now }
            all[token] = session
        }
        return session
    }

    /// The session a bearer token names, if it has not expired.
    public func session(_ token: String, now: Date = Date()) -> Session? {
        sessions.withLock { all in
            guard let s = all[token], s.expires > now else { return nil }
            return s
        }
    }

    /// Ends a session.
    public func signOut(_ token: String) { _ = sessions.withLock { $0.removeValue(forKey: token) } }

    /// The agents whose phones ring for transfers to `target`.
    public func agents(servingTarget target: String) -> [Agent] { agents.values.filter { $0.targets.contains(target) } }

    public var count: Int { agents.count }
}

/// A gateway failure at start: a file that cannot be read, a table that does not load.
public struct GatewayFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
