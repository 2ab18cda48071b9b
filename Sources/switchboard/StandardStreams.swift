#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered output to a file descriptor (standard output unless told): a batch writes a line per call, and a
/// write(2) per line would dominate. At most about 64 KiB wait; a failed write is kept in ``failure``.
final class OutputBuffer {
    private var bytes: [UInt8] = []
    private let fd: Int32
    private let threshold = 1 << 16
    /// The `errno` of the first write that failed; what was buffered then is dropped. Standard output closed
    /// by its reader leaves nothing more to say; a file's writer checks this and names the file.
    private(set) var failure: Int32?

    init(fd: Int32 = 1) {
        self.fd = fd
        bytes.reserveCapacity(threshold + 4096)
    }

    func append(_ b: [UInt8]) {
        bytes.append(contentsOf: b)
        if bytes.count >= threshold { flush() }
    }

    func line(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        bytes.append(0x0A)
        if bytes.count >= threshold { flush() }
    }

    func line(_ b: [UInt8]) {
        bytes.append(contentsOf: b)
        bytes.append(0x0A)
        if bytes.count >= threshold { flush() }
    }

    func flush() {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if failure == nil { failure = errno }
                break
            }
            offset += n
        }
        bytes.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// Reads standard input as lines of bytes, without Foundation's per-line overhead.
struct LineReader: ~Copyable {
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    private let fd: Int32

    init(fd: Int32 = 0) { self.fd = fd }

    /// Calls `body` with each line (without its newline); a final line without a newline counts.
    mutating func forEachLine(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                var end = nl
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }  // tolerate CRLF
                buffer[start..<end].withUnsafeBufferPointer(body)
                start = nl + 1
                continue
            }
            if eof {
                if start < buffer.count { buffer[start...].withUnsafeBufferPointer(body) }
                return
            }
            buffer.removeFirst(start)
            start = 0
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { eof = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        }
    }
}
