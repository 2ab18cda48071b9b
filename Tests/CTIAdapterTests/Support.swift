import Foundation
import Logging
import Synchronization
import TestSupport
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// A control endpoint that records every request and never answers: any request at all is a failure of a test
/// that expects no incident.
final class ControlRecorder: Sendable {
    let endpoint: String
    private let received = Mutex<[String]>([])
    private let stopping = Atomic<Bool>(false)
    private let owned: Owned

    init() throws {
        let context = try Context()
        let router = try Socket(context, .router)
        try router.set(.linger, Int32(0))
        try router.set(.receiveTimeout, Int32(50))
        try router.bind("tcp://127.0.0.1:*")
        endpoint = router.lastEndpoint
        owned = Owned(context: context, router: router)
        Thread { [self] in
            while !stopping.load(ordering: .acquiring) {
                if let frames = try? owned.router.receiveMultipart(), let body = frames.last {
                    received.withLock { $0.append(String(decoding: body, as: UTF8.self)) }
                }
            }
            owned.router.close()
        }.start()
    }

    deinit { stopping.store(true, ordering: .releasing) }

    var requests: [String] { received.withLock { $0 } }

    final class Owned {
        let context: Context
        let router: Socket
        init(context: Context, router: Socket) { (self.context, self.router) = (context, router) }
    }
}

// Used only by the recorder's thread once made.
extension ControlRecorder.Owned: @unchecked Sendable {}

extension ScriptedAMIPeer {
    /// A loopback port nothing listens on: bound, read, closed.
    static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: addr.sin_port)
    }
}

/// Makes the writes to an open file fail, as a full disk would, and then work again: the descriptor the
/// process holds for `path` is pointed at `/dev/full` (ENOSPC on every write) and later restored.
final class FullDisk: Sendable {
    let fd: Int32
    private let saved: Int32

    init(path: String) throws {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var found: Int32?
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let n = Int32(entry), let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)") else { continue }
            if target == path || target == resolved { found = n }
        }
        guard let fd = found else { throw POSIXError(.ENOENT) }
        self.fd = fd
        saved = dup(fd)
    }

    func fill() {
        let full = open("/dev/full", O_WRONLY | O_CLOEXEC)
        dup2(full, fd)
        close(full)
    }

    func free() { dup2(saved, fd) }

    deinit { close(saved) }
}
