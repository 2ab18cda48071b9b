import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Transfers through the Asterisk Manager Interface (AMI) over TCP.
///
/// Logs in with `Action: Login`, then performs a blind transfer with `Action: BlindTransfer` and a warm
/// one with `Action: Atxfer`, waiting for Asterisk's `AttendedTransfer` event to say the specialist
/// answered and the transfer went through. Responses are matched by `ActionID`; unrelated events are
/// skipped.
///
/// **An action that may have been sent is never sent again.** Once any byte of a transfer action has
/// gone to the socket, a response timeout or a dropped connection makes the outcome unknown
/// (``DriverFailure/Kind/unknownOutcome``): Asterisk may have transferred the call. The driver reports it
/// and moves on; it does not retry. Before sending, it checks that the connection is still open (reading
/// what Asterisk sent meanwhile), so a connection that died while idle is replaced before anything is sent.
///
/// Connecting backs off: after a failed connection or login, the next attempt waits `reconnectDelay`,
/// doubling up to `reconnectCeiling`; transfers meanwhile fail at once as unreachable, with nothing sent.
///
/// The call's channel comes from `channelTemplate` with `{call_id}` replaced: a deployment whose call ids
/// are not channel names maps them there.
public final class AMIDriver: CTIDriver {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port: UInt16 = 5038
        public var username = "switchboard"
        public var secret = ""
        public var context = "from-internal"
        public var channelTemplate = "{call_id}"
        /// How long to wait for a connection and a response (seconds), and for a warm transfer to complete.
        public var responseTimeout: Double = 5
        public var attendedTimeout: Double = 30
        /// The wait after the first failed connection; it doubles with each failure up to the ceiling.
        public var reconnectDelay: Double = 0.5
        public var reconnectCeiling: Double = 30

        public init() {}
    }

    public let configuration: Configuration
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var nextActionID = 1
    /// TCP connections tried since start (for tests and health).
    public private(set) var connectionAttempts = 0
    public private(set) var hasReachedTelephony = false
    private var failedConnections = 0
    private var nextConnectionAt: ContinuousClock.Instant?
    private var lastConnectionError = ""
    private let clock = ContinuousClock()

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    deinit { disconnect() }

    private var server: String { "AMI \(configuration.host):\(configuration.port)" }

    public func perform(_ t: Transfer) throws(DriverFailure) {
        try connectIfNeeded()
        let channel = configuration.channelTemplate.replacingOccurrences(of: "{call_id}", with: t.callID)
        let action = t.mode == .blind ? "BlindTransfer" : "Atxfer"
        let id: String
        do {
            id = try send(action, ["Channel": channel, "Exten": t.address, "Context": configuration.context])
        } catch {
            disconnect()
            guard error.sentAny else { throw DriverFailure(.unreachable, "\(server): \(error); \(action) was not sent") }
            throw unknown(action, error)
        }
        let response: [String: String]
        do {
            response = try awaitResponse(id)
        } catch {
            disconnect()  // a late response must not be read as another action's
            throw unknown(action, error)
        }
        guard response["Response"] == "Success" else {
            throw DriverFailure(.refused, "\(action) refused: \(response["Message"] ?? "no message")")
        }
        guard t.mode == .warm else { return }
        // The consultation call must be answered before the transfer completes.
        let deadline = Date().addingTimeInterval(configuration.attendedTimeout)
        while true {
            let message: [String: String]
            do {
                message = try readMessage(until: deadline)
            } catch {
                disconnect()
                throw unknown("the attended transfer", error)
            }
            guard message["Event"] == "AttendedTransfer", message["OrigTransfererChannel"] == channel || message["TransfererChannel"] == channel else { continue }
            guard message["Result"] == "Success" else { throw DriverFailure(.refused, "attended transfer failed: \(message["Result"] ?? "no result")") }
            return
        }
    }

    private func unknown(_ what: String, _ error: Broken) -> DriverFailure {
        DriverFailure(.unknownOutcome, "\(server): \(error) after \(what) was sent; the call may have been transferred, so it is not sent again")
    }

    /// AMI cannot be asked what it did before a crash.
    public func wasPerformed(_ transfer: Transfer) -> Bool? { nil }

    struct Broken: Error, CustomStringConvertible {
        let description: String
        /// Whether any byte of the action had gone out when it broke.
        var sentAny = false
    }

    /// A logged-in connection, or a failure saying why not and when the next attempt is due.
    private func connectIfNeeded() throws(DriverFailure) {
        if fd >= 0 {
            if connectionIsOpen() { return }
            disconnect()
        }
        let now = clock.now
        if let next = nextConnectionAt, now < next {
            throw DriverFailure(.unreachable, "\(server) unreachable (\(lastConnectionError)); next attempt in \(Self.seconds(next - now))")
        }
        connectionAttempts += 1
        do {
            try connectAndLogin()
            failedConnections = 0
            nextConnectionAt = nil
            hasReachedTelephony = true
        } catch {
            disconnect()
            failedConnections += 1
            let delay = min(configuration.reconnectDelay * pow(2, Double(min(failedConnections - 1, 30))), configuration.reconnectCeiling)
            nextConnectionAt = clock.now + .milliseconds(Int64(delay * 1000))
            lastConnectionError = error.description
            throw DriverFailure(.unreachable, "\(server): \(error); next attempt in \(Self.seconds(.milliseconds(Int64(delay * 1000))))")
        }
    }

    private static func seconds(_ d: Duration) -> String {
        String(format: "%.1f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    /// Reads what Asterisk sent while no action was outstanding (events, dropped as they are complete);
    /// false when it closed the connection.
    private func connectionIsOpen() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                // Nothing outstanding: every complete message buffered is an event nobody waits for.
                if let end = lastMessageEnd() { buffer.removeFirst(end) }
                return true
            }
            return false  // 0: closed by the peer; < 0: reset
        }
    }

    /// The index just after the last blank line (`\r\n\r\n` or `\n\n`) in the buffer.
    private func lastMessageEnd() -> Int? {
        var i = buffer.count - 1
        while i >= 1 {
            if buffer[i] == 0x0A {
                if buffer[i - 1] == 0x0A { return i + 1 }
                if i >= 3, buffer[i - 1] == 0x0D, buffer[i - 2] == 0x0A { return i + 1 }
            }
            i -= 1
        }
        return nil
    }

    private func connectAndLogin() throws(Broken) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(configuration.host, String(configuration.port), &hints, &result) == 0, let info = result else {
            throw Broken(description: "cannot resolve \(configuration.host)")
        }
        defer { freeaddrinfo(result) }
        let s = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
        guard s >= 0 else { throw Broken(description: "socket: \(String(cString: strerror(errno)))") }
        // Connect without blocking past the response timeout (an unroutable host would hold us for minutes).
        let flags = fcntl(s, F_GETFL)
        _ = fcntl(s, F_SETFL, flags | O_NONBLOCK)
        if connect(s, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                let reason = String(cString: strerror(errno))
                close(s)
                throw Broken(description: "connect: \(reason)")
            }
            var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
            var ready: Int32
            repeat { ready = poll(&p, 1, Int32(configuration.responseTimeout * 1000)) } while ready < 0 && errno == EINTR
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &length)
            guard ready > 0, error == 0 else {
                close(s)
                throw Broken(description: ready > 0 ? "connect: \(String(cString: strerror(error)))" : "connect: no answer within \(configuration.responseTimeout) s")
            }
        }
        _ = fcntl(s, F_SETFL, flags)
        fd = s
        buffer = []
        let banner = try readLine(until: Date().addingTimeInterval(configuration.responseTimeout))
        guard banner.hasPrefix("Asterisk Call Manager") else {
            throw Broken(description: "not an AMI server: \(banner)")
        }
        let id = try send("Login", ["Username": configuration.username, "Secret": configuration.secret, "Events": "on"])
        let response = try awaitResponse(id)
        guard response["Response"] == "Success" else {
            throw Broken(description: "login refused: \(response["Message"] ?? "no message")")
        }
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        buffer = []
    }

    private func send(_ action: String, _ fields: KeyValuePairs<String, String>) throws(Broken) -> String {
        let id = String(nextActionID)
        nextActionID += 1
        var text = "Action: \(action)\r\nActionID: \(id)\r\n"
        for (k, v) in fields { text += "\(k): \(v)\r\n" }
        text += "\r\n"
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Broken(description: "send: \(String(cString: strerror(errno)))", sentAny: sent > 0) }
            sent += n
        }
        return id
    }

    private func awaitResponse(_ id: String) throws(Broken) -> [String: String] {
        let deadline = Date().addingTimeInterval(configuration.responseTimeout)
        while true {
            let message = try readMessage(until: deadline)
            if message["ActionID"] == id && message["Response"] != nil { return message }
        }
    }

    /// One AMI message: `Key: Value` lines up to a blank line.
    private func readMessage(until deadline: Date) throws(Broken) -> [String: String] {
        var message: [String: String] = [:]
        while true {
            let line = try readLine(until: deadline)
            if line.isEmpty {
                if message.isEmpty { continue }
                return message
            }
            if let colon = line.firstIndex(of: ":") {
                let key = String(line[..<colon])
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                message[key] = value
            }
        }
    }

    private func readLine(until deadline: Date) throws(Broken) -> String {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                var end = nl
                if end > 0 && buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Broken(description: "no answer in time") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(remaining, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Broken(description: "AMI closed the connection") }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}
