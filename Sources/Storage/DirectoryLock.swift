#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a data folder, held for the life of the process: `flock` on `lock` in the
/// folder, with the holder's pid written in it for the message a second process gets.
///
/// The kernel releases a `flock` when its holder dies, however it dies (`kill -9` included), so a
/// crashed owner's folder can be taken over at once; there is no stale lock to clean up.
public final class DirectoryLock {
    public let path: String
    private var fd: Int32

    /// Takes the lock or fails at once.
    /// - Throws: `.locked` naming the holder's pid when another process holds it; `.open` otherwise.
    public init(directory: String, name: String = "lock") throws(StorageError) {
        try FileIO.makeDirectory(directory)
        path = FileIO.join(directory, name)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(.open, path: path, "cannot open the lock file") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            var st = stat()
            var text = ""
            if fstat(fd, &st) == 0, st.st_size > 0, let bytes = try? FileIO.readFully(fd, at: 0, count: min(Int(st.st_size), 64), path: path) {
                text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \n")
            }
            close(fd)
            if failure == EWOULDBLOCK {
                throw StorageError(.locked, path: directory, errno: 0,
                                   "the folder is in use by another process (pid \(text.isEmpty ? "unknown" : text)); stop it first, or give another folder")
            }
            throw StorageError(.locked, path: path, errno: failure, "cannot lock")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Gives the folder up (a stopped engine, before the process exits). Idempotent.
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        close(fd)  // releases the lock
        fd = -1
    }

    deinit { release() }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
