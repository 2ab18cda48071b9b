import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A scripted Asterisk Manager Interface peer on loopback, speaking AMI's wire format: the banner,
/// `Key: Value` lines ending in a blank line, ActionIDs echoed, events interleaved. No Asterisk was
/// available here; this stands in for one, as docs/OPERATIONS.md says.
final class ScriptedAMIPeer: @unchecked Sendable {
    private let listener: Int32
    let port: UInt16
    private let lock = NSLock()
    private var actions: [[String: String]] = []
    /// Transfers to refuse before accepting again.
    private var refusals = 0
    /// Drop the connection after this many more actions (nil: never).
    private var dropAfter: Int?
    /// Transfers to leave unanswered (received, never responded to) before answering again.
    private var silences = 0
    private var stopping = false
    private var connections: [Int32] = []

    init(refuse: Int = 0, silent: Int = 0) throws {
        refusals = refuse
        silences = silent
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = UInt16(bigEndian: addr.sin_port)
        Thread { [self] in acceptLoop() }.start()
    }

    deinit {
        lock.lock()
        stopping = true
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    var received: [[String: String]] {
        lock.lock()
        defer { lock.unlock() }
        return actions
    }

    func refuseNext(_ n: Int) { lock.lock(); refusals = n; lock.unlock() }
    func dropConnection(afterActions n: Int) { lock.lock(); dropAfter = n; lock.unlock() }

    /// Closes every connection now, with no action outstanding (Asterisk restarted while the driver was idle).
    func closeConnections() {
        lock.lock()
        for c in connections { shutdown(c, Int32(SHUT_RDWR)) }
        connections = []
        lock.unlock()
    }

    private func acceptLoop() {
        while true {
            let c = accept(listener, nil, nil)
            guard c >= 0 else { return }
            lock.lock()
            connections.append(c)
            lock.unlock()
            Thread { [self] in serve(c) }.start()
        }
    }

    private func serve(_ c: Int32) {
        defer { close(c) }
        write(c, "Asterisk Call Manager/5.0.1\r\n")
        var buffer = ""
        var loggedIn = false
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = recv(c, &chunk, chunk.count, 0)
            guard n > 0 else { return }
            buffer += String(decoding: chunk[0..<n], as: UTF8.self)
            while let end = buffer.range(of: "\r\n\r\n") {
                let block = String(buffer[..<end.lowerBound])
                buffer = String(buffer[end.upperBound...])
                var message: [String: String] = [:]
                for line in block.components(separatedBy: "\r\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    message[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                lock.lock()
                actions.append(message)
                var drop = false
                if let d = dropAfter {
                    dropAfter = d - 1
                    drop = d <= 0
                    if drop { dropAfter = nil }
                }
                let refuse = refusals > 0 && message["Action"] != "Login"
                if refuse { refusals -= 1 }
                let silent = silences > 0 && message["Action"] != "Login"
                if silent { silences -= 1 }
                lock.unlock()
                if drop { return }
                if silent { continue }
                let id = message["ActionID"] ?? ""
                switch message["Action"] {
                case "Login":
                    loggedIn = message["Username"] == "switchboard" && message["Secret"] == "s3cret"
                    write(c, loggedIn
                        ? "Response: Success\r\nActionID: \(id)\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
                        : "Response: Error\r\nActionID: \(id)\r\nMessage: Authentication failed\r\n\r\n")
                case "BlindTransfer" where loggedIn:
                    write(c, refuse ? "Response: Error\r\nActionID: \(id)\r\nMessage: No such channel\r\n\r\n"
                                    : "Response: Success\r\nActionID: \(id)\r\nMessage: Transfer successful\r\n\r\n")
                case "Atxfer" where loggedIn:
                    if refuse {
                        write(c, "Response: Error\r\nActionID: \(id)\r\nMessage: No such channel\r\n\r\n")
                    } else {
                        let channel = message["Channel"] ?? ""
                        // An unrelated event first, then the response, then the transfer's completion.
                        write(c, "Event: Newchannel\r\nChannel: Local/x\r\n\r\nResponse: Success\r\nActionID: \(id)\r\nMessage: Atxfer successfully queued\r\n\r\n")
                        usleep(50_000)  // the specialist answers
                        write(c, "Event: AttendedTransfer\r\nResult: Success\r\nOrigTransfererChannel: \(channel)\r\n\r\n")
                    }
                default:
                    write(c, "Response: Error\r\nActionID: \(id)\r\nMessage: Permission denied\r\n\r\n")
                }
            }
        }
    }

    private func write(_ c: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
