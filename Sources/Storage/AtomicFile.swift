#if canImport(Glibc)
import Glibc
#endif

/// Replaces a small file's contents all at once: a reader (or a restart after a crash) sees the old
/// contents or the new, never a mix.
public enum AtomicFile {
    /// Writes `bytes` to a temporary file beside `path`, syncs it, renames it over `path` and syncs the folder.
    /// - Throws: ``StorageError``; `path` keeps its previous contents then.
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws(StorageError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system(.open, path: temporary, "cannot create") }
        do throws(StorageError) {
            try FileIO.writeFully(fd, bytes, path: temporary)
            while fsync(fd) != 0 {
                if errno == EINTR { continue }
                throw StorageError.system(.sync, path: temporary, "fsync failed")
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = StorageError.system(.rename, path: path, "cannot put \(temporary) in place")
            unlink(temporary)
            throw error
        }
        try FileIO.syncDirectory(FileIO.directory(of: path))
    }
}
