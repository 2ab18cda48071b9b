import Foundation
import Logging
import Routing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// One agent's baresip softphone, driven over its `ctrl_tcp` module: netstring-framed JSON commands
/// (`{"command","params","token"}`), answered by `{"response":true,"ok","data","token"}`, with call events
/// (`{"event":true,"type","id","direction","peeruri","param"}`) arriving in between.
///
/// baresip accepts one control client at a time (a second connection closes the first), so a softphone is
/// driven by exactly one adapter. Events that arrive while a command is outstanding are queued for
/// ``nextEvent(until:)``; events nobody waits for are dropped by ``drainEvents()``.
///
/// Connecting backs off: after a failed connection the next attempt waits `reconnectDelay`, doubling up to
/// `reconnectCeiling`; the logger hears once when the softphone becomes unreachable and once when it is back.
final class Softphone {
    let agent: SIPDriver.Agent
    private let timing: SIPDriver.Timing
    private let logger: Logger
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var queued: [Value] = []
    private var nextToken = 1
    private let clock = ContinuousClock()
    private var failedConnections = 0
    private var nextConnectionAt: ContinuousClock.Instant?
    private var lastError = ""
    private(set) var hasConnected = false
    /// Whether the last attempt failed: the state whose changes are logged.
    private var down = false

    init(agent: SIPDriver.Agent, timing: SIPDriver.Timing, logger: Logger) {
        self.agent = agent
        self.timing = timing
        self.logger = logger
    }

    deinit { disconnect() }

    var name: String { "softphone \(agent.id) (\(agent.host):\(agent.port))" }

    struct Broken: Error, CustomStringConvertible {
        let description: String
    }

    /// A connected control socket, or `unreachable` saying why and when the next attempt is due.
    func connectIfNeeded() throws(DriverFailure) {
        if fd >= 0 {
            do {
                try drainEvents()
                return
            } catch {
                disconnect()
                noteDown("the control connection closed: \(error)")
            }
        }
        let now = clock.now
        if let next = nextConnectionAt, now < next {
            throw DriverFailure(.unreachable, "\(name) unreachable (\(lastError)); next attempt in \(Self.seconds(next - now))")
        }
        do {
            try connect()
            failedConnections = 0
            nextConnectionAt = nil
            hasConnected = true
            if down {
                down = false
                logger.notice("\(name) reachable again")
            }
        } catch {
            disconnect()
            failedConnections += 1
            let delay = min(timing.reconnectDelay * pow(2, Double(min(failedConnections - 1, 30))), timing.reconnectCeiling)
            nextConnectionAt = clock.now + .milliseconds(Int64(delay * 1000))
            lastError = error.description
            noteDown(error.description)
            throw DriverFailure(.unreachable, "\(name): \(error); next attempt in \(Self.seconds(.milliseconds(Int64(delay * 1000))))")
        }
    }

    /// Once per change of state, not once per attempt: a softphone that is off all day is one line.
    private func noteDown(_ why: String) {
        guard !down else { return }
        down = true
        logger.warning("\(name) unreachable: \(why); reconnecting with backoff up to \(timing.reconnectCeiling) s, transfers of its calls fail meanwhile")
    }

    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        buffer = []
        queued = []
    }

    /// Sends one command and returns its response (events read meanwhile are queued).
    func command(_ command: String, _ params: String = "") throws(Broken) -> (ok: Bool, data: String) {
        try pipeline([(command, params)])[0]
    }

    /// Selects the call and sends the command in the same write, so baresip runs both before anything else
    /// (an incoming call becomes the current call the moment it arrives: a separate `callfind` could be
    /// overtaken). Callers check first that the call is there (``select(callID:)``).
    /// - Returns: whether the call was found (if not, the command acted on the current call), and the
    ///   command's response.
    func command(on callID: String, _ command: String, _ params: String = "") throws(Broken) -> (found: Bool, ok: Bool, data: String) {
        let r = try pipeline([("callfind", callID), (command, params)])
        return (r[0].ok && r[0].data.contains("setting current call"), r[1].ok, r[1].data)
    }

    private func pipeline(_ commands: [(String, String)]) throws(Broken) -> [(ok: Bool, data: String)] {
        guard fd >= 0 else { throw Broken(description: "not connected") }
        var frame: [UInt8] = []
        var tokens: [String] = []
        for (command, params) in commands {
            let token = "sb\(nextToken)"
            nextToken += 1
            tokens.append(token)
            var w = JSONWriter(capacity: 128)
            w.object { o in
                o.member("command") { $0.string(command) }
                o.member("params") { $0.string(params) }
                o.member("token") { $0.string(token) }
            }
            frame += Array("\(w.count):".utf8)
            frame += w.bytes
            frame.append(UInt8(ascii: ","))
        }
        var sent = 0
        while sent < frame.count {
            let n = frame[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                disconnect()
                throw Broken(description: "send: \(reason)")
            }
            sent += n
        }
        let deadline = clock.now + .milliseconds(Int64(timing.responseTimeout * 1000))
        var responses: [String: (ok: Bool, data: String)] = [:]
        while responses.count < tokens.count {
            guard let message = try readMessage(until: deadline) else {
                disconnect()  // a late response must not be read as another command's
                throw Broken(description: "no response to \(commands.map(\.0).joined(separator: " + ")) within \(timing.responseTimeout) s")
            }
            if message["response"] == .bool(true) {
                guard let token = message["token"]?.text, tokens.contains(token) else { continue }
                responses[token] = (message["ok"] == .bool(true), message["data"]?.text ?? "")
            } else if message["event"] == .bool(true) {
                queued.append(message)
            }
        }
        return tokens.map { responses[$0]! }
    }

    /// The next event, queued or read, or nil when none comes before the deadline.
    func nextEvent(until deadline: ContinuousClock.Instant) throws(Broken) -> Value? {
        if !queued.isEmpty { return queued.removeFirst() }
        while let message = try readMessage(until: deadline) {
            if message["event"] == .bool(true) { return message }
        }
        return nil
    }

    /// Drops what the softphone said while nobody listened.
    /// - Throws: when the softphone closed the connection.
    func drainEvents() throws(Broken) {
        queued = []
        while try readMessage(until: clock.now) != nil {}
    }

    /// Whether the softphone has this SIP Call-ID; when it has, the call is selected for the next command.
    ///
    /// baresip's `callfind` answers `ok` even for an unknown id ("call not found"), and does not exist at
    /// all while no call is up ("command not found"): only the text "setting current call" means found.
    func select(callID: String) throws(Broken) -> Bool {
        let r = try command("callfind", callID)
        return r.ok && r.data.contains("setting current call")
    }

    // MARK: - Socket

    private func connect() throws(Broken) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(agent.host, String(agent.port), &hints, &result) == 0, let info = result else {
            throw Broken(description: "cannot resolve \(agent.host)")
        }
        defer { freeaddrinfo(result) }
        let s = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
        guard s >= 0 else { throw Broken(description: "socket: \(String(cString: strerror(errno)))") }
        let flags = fcntl(s, F_GETFL)
        _ = fcntl(s, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(s, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                let reason = String(cString: strerror(errno))
                close(s)
                throw Broken(description: "connect: \(reason)")
            }
            var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
            var ready: Int32
            repeat { ready = poll(&p, 1, Int32(timing.responseTimeout * 1000)) } while ready < 0 && errno == EINTR
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &length)
            guard ready > 0, error == 0 else {
                close(s)
                throw Broken(description: ready > 0 ? "connect: \(String(cString: strerror(error)))" : "connect: no answer within \(timing.responseTimeout) s")
            }
        }
        _ = fcntl(s, F_SETFL, flags)
        fd = s
        buffer = []
        queued = []
    }

    /// One netstring's JSON, or nil when none is complete by the deadline (a deadline in the past only
    /// reads what is already there).
    private func readMessage(until deadline: ContinuousClock.Instant) throws(Broken) -> Value? {
        while true {
            if let message = try takeFrame() { return message }
            let remaining = deadline - clock.now
            let ms = remaining <= .zero ? 0 : Int32(max(1, min(1000, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)))
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, ms)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                if clock.now >= deadline { return nil }
                continue
            }
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                disconnect()
                throw Broken(description: "\(name) closed the control connection")
            }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    private func takeFrame() throws(Broken) -> Value? {
        guard let colon = buffer.firstIndex(of: UInt8(ascii: ":")) else {
            if buffer.count > 12 { throw garbled() }
            return nil
        }
        guard let length = Int(String(decoding: buffer[..<colon], as: UTF8.self)), length >= 0 else { throw garbled() }
        let start = colon + 1
        guard buffer.count >= start + length + 1 else { return nil }
        guard buffer[start + length] == UInt8(ascii: ",") else { throw garbled() }
        let body = Array(buffer[start..<start + length])
        buffer.removeFirst(start + length + 1)
        guard let value = try? JSONReader.parse(body) else { throw garbled() }
        return value
    }

    private func garbled() -> Broken {
        disconnect()
        return Broken(description: "\(name) sent something that is not a ctrl_tcp netstring")
    }

    private static func seconds(_ d: Duration) -> String {
        String(format: "%.1f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}

// A softphone's socket belongs to the adapter's thread.
@available(*, unavailable) extension Softphone: Sendable {}
