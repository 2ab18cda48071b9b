import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Transfers through the Asterisk Manager Interface (AMI) over TCP.
///
/// Logs in with `Action: Login`, then performs a blind transfer with `Action: BlindTransfer` and a warm
/// one with `Action: Atxfer`, waiting for Asterisk's `AttendedTransfer` event to say the specialist
/// answered and the transfer went through. Responses are matched by `ActionID`; unrelated events are
/// skipped. A lost connection is re-established (with a fresh login) and the action tried once more.
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
        /// How long to wait for a response, and for a warm transfer to complete.
        public var responseTimeout: Double = 5
        public var attendedTimeout: Double = 30

        public init() {}
    }

    public let configuration: Configuration
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var nextActionID = 1

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    deinit { disconnect() }

    public func perform(_ t: Transfer) throws(DriverFailure) {
        do {
            try attempt(t)
        } catch let failure as Refused {
            throw DriverFailure(failure.message)
        } catch {
            // The connection went: log in again and try once more.
            disconnect()
            do {
                try attempt(t)
            } catch let failure as Refused {
                throw DriverFailure(failure.message)
            } catch {
                disconnect()
                throw DriverFailure("AMI \(configuration.host):\(configuration.port): \(error)")
            }
        }
    }

    /// AMI cannot be asked what it did before a crash.
    public func wasPerformed(eventID: String) -> Bool? { nil }

    /// Asterisk answered, and said no.
    struct Refused: Error { let message: String }
    struct Broken: Error, CustomStringConvertible { let description: String }

    private func attempt(_ t: Transfer) throws {
        if fd < 0 { try connectAndLogin() }
        let channel = configuration.channelTemplate.replacingOccurrences(of: "{call_id}", with: t.callID)
        let action = t.mode == .blind ? "BlindTransfer" : "Atxfer"
        let id = try send(action, ["Channel": channel, "Exten": t.address, "Context": configuration.context])
        let response = try awaitResponse(id)
        guard response["Response"] == "Success" else {
            throw Refused(message: "\(action) refused: \(response["Message"] ?? "no message")")
        }
        if t.mode == .warm {
            // The consultation call must be answered before the transfer completes.
            let deadline = Date().addingTimeInterval(configuration.attendedTimeout)
            while true {
                let message = try readMessage(until: deadline)
                guard message["Event"] == "AttendedTransfer", message["OrigTransfererChannel"] == channel || message["TransfererChannel"] == channel else { continue }
                guard message["Result"] == "Success" else { throw Refused(message: "attended transfer failed: \(message["Result"] ?? "no result")") }
                return
            }
        }
    }

    private func connectAndLogin() throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(configuration.host, String(configuration.port), &hints, &result) == 0, let info = result else {
            throw Broken(description: "cannot resolve \(configuration.host)")
        }
        defer { freeaddrinfo(result) }
        let s = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard s >= 0 else { throw Broken(description: "socket: \(String(cString: strerror(errno)))") }
        guard connect(s, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            close(s)
            throw Broken(description: "connect: \(reason)")
        }
        fd = s
        buffer = []
        let banner = try readLine(until: Date().addingTimeInterval(configuration.responseTimeout))
        guard banner.hasPrefix("Asterisk Call Manager") else {
            disconnect()
            throw Broken(description: "not an AMI server: \(banner)")
        }
        let id = try send("Login", ["Username": configuration.username, "Secret": configuration.secret, "Events": "on"])
        let response = try awaitResponse(id)
        guard response["Response"] == "Success" else {
            disconnect()
            throw Refused(message: "AMI login refused: \(response["Message"] ?? "no message")")
        }
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        buffer = []
    }

    @discardableResult
    private func send(_ action: String, _ fields: KeyValuePairs<String, String>) throws -> String {
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
            guard n > 0 else { throw Broken(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
        return id
    }

    private func awaitResponse(_ id: String) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(configuration.responseTimeout)
        while true {
            let message = try readMessage(until: deadline)
            if message["ActionID"] == id && message["Response"] != nil { return message }
        }
    }

    /// One AMI message: `Key: Value` lines up to a blank line.
    private func readMessage(until deadline: Date) throws -> [String: String] {
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

    private func readLine(until deadline: Date) throws -> String {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                var end = nl
                if end > 0 && buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Broken(description: "AMI did not answer within the timeout") }
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
