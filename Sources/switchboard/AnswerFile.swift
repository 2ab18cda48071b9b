#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `simulate --answers FILE`: one JSON line per answered query, written as the answers come.
///
/// Streamed, never held: lines gather in an ``OutputBuffer`` (about 64 KiB), written out when full and at
/// ``close()``, so a run of any length uses the same memory. The file is created or truncated when opened;
/// a failure to write ends the run with an error naming the file.
final class AnswerFile {
    let path: String
    private let fd: Int32
    private let output: OutputBuffer

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RuntimeError("--answers: cannot create \(path): \(String(cString: strerror(errno)))") }
        output = OutputBuffer(fd: fd)
    }

    func append(_ line: [UInt8]) throws {
        output.line(line)
        try check()
    }

    /// Writes what is buffered and closes the file.
    func close() throws {
        output.flush()
        try check()
        #if canImport(Glibc)
        let closed = Glibc.close(fd)
        #else
        let closed = Darwin.close(fd)
        #endif
        guard closed == 0 else { throw RuntimeError("--answers: cannot close \(path): \(String(cString: strerror(errno)))") }
    }

    private func check() throws {
        if let failure = output.failure { throw RuntimeError("--answers: cannot write \(path): \(String(cString: strerror(failure)))") }
    }
}

// Made and used on the simulation's thread only.
@available(*, unavailable) extension AnswerFile: Sendable {}
