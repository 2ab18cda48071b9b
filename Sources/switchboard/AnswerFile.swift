import Foundation

/// `simulate --answers FILE`: one JSON line per answered query, written as the answers come.
///
/// Streamed, never held: lines gather in a buffer of at most `bufferLimit` bytes, which is written out when
/// full and at ``close()``, so a run of any length uses the same memory. The file is created or truncated
/// when opened; a failure to write ends the run with an error naming the file.
final class AnswerFile {
    let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    static let bufferLimit = 64 * 1024

    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw RuntimeError("--answers: cannot create \(path)")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw RuntimeError("--answers: cannot open \(path)") }
        self.handle = handle
        buffer.reserveCapacity(Self.bufferLimit)
    }

    func append(_ line: [UInt8]) throws {
        if buffer.count + line.count + 1 > Self.bufferLimit { try flush() }
        buffer.append(contentsOf: line)
        buffer.append(0x0A)
    }

    /// Writes what is buffered and closes the file.
    func close() throws {
        try flush()
        do { try handle.close() } catch { throw RuntimeError("--answers: cannot close \(path): \(error)") }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch { throw RuntimeError("--answers: cannot write \(path): \(error)") }
        buffer.removeAll(keepingCapacity: true)
    }
}

// Made and used on the simulation's thread only.
@available(*, unavailable) extension AnswerFile: Sendable {}
