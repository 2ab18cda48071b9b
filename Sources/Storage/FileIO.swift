#if canImport(Glibc)
import Glibc
#endif

/// Small, checked wrappers over the system calls the durable files use: each retries `EINTR` and
/// short transfers, and throws ``StorageError`` with `errno` read at once.
public enum FileIO {
    /// Writes all of `bytes` to `fd` (which may have been opened with `O_APPEND`).
    /// - Throws: `.write`; some of the bytes may be in the file then, so the caller takes them back.
    public static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(StorageError) {
        var written = 0
        while written < bytes.count {
            let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.system(.write, path: path, "write failed")
            }
            written += n
        }
    }

    public static func writeFully(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StorageError) {
        try bytes.withUnsafeBytes { b in Result { () throws(StorageError) in try writeFully(fd, b, path: path) } }.get()
    }

    /// Reads exactly `count` bytes at `offset`.
    /// - Throws: `.read` on a failed `pread`, or when the file ends first (it was truncated under us).
    public static func readFully(_ fd: Int32, at offset: Int64, count: Int, path: String) throws(StorageError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.system(.read, path: path, "read at \(offset + Int64(got)) failed")
            }
            guard n > 0 else { throw StorageError(.read, path: path, errno: 0, "the file ends at \(offset + Int64(got)), before the \(count) bytes expected") }
            got += n
        }
        return buffer
    }

    /// `fdatasync`, retried on `EINTR`.
    /// - Throws: `.sync`; after a failed sync the written data may not be on disk, whatever a later sync says.
    public static func dataSync(_ fd: Int32, path: String) throws(StorageError) {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw StorageError.system(.sync, path: path, "fdatasync failed")
        }
    }

    /// `fsync` of a folder, so a rename or a new file in it is durable.
    public static func syncDirectory(_ path: String) throws(StorageError) {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(.open, path: path, "cannot open the folder") }
        defer { close(fd) }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw StorageError.system(.sync, path: path, "fsync of the folder failed")
        }
    }

    /// Creates `path` and its parents when missing.
    public static func makeDirectory(_ path: String) throws(StorageError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw StorageError.system(.open, path: prefix, "cannot create the folder")
            }
            prefix += "/"
        }
    }

    /// The folder part of a path ("" for a bare name).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `directory/name`.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : (directory.hasSuffix("/") ? directory + name : directory + "/" + name)
    }

    /// The whole file, or nil when it does not exist.
    public static func contents(of path: String) throws(StorageError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .system(.open, path: path, "cannot open")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .system(.read, path: path, "cannot stat") }
        return try readFully(fd, at: 0, count: Int(st.st_size), path: path)
    }
}
