import Foundation

/// A throwaway PostgreSQL server in a folder of its own, for tests: started by `tools/pg-local` (the
/// same shell functions `tools/run-cluster` uses), stopped by ``stop()`` or when the value goes away.
///
/// Nothing is assumed running: each server gets its own data folder, Unix socket folder and port. As
/// root, the server runs as the `postgres` system user (PostgreSQL refuses root).
///
/// ```swift
/// let server = try LocalPostgresServer()
/// let db = try PostgresConnection(server.url)
/// ```
public final class LocalPostgresServer: Sendable {
    /// The folder holding `data/`, `socket/` and `server.log`.
    public let folder: String
    /// A `postgres://` URL for the `postgres` database as the `postgres` user.
    public let url: String
    private let arguments: [String]
    private let ownsFolder: Bool

    /// Initialises and starts a server.
    /// - Parameters:
    ///   - listen: an address to listen on besides the Unix socket (nil: the socket only); the URL
    ///     then names that address.
    ///   - port: the TCP port (and socket name); nil picks a free one.
    ///   - networkNamespace: runs the server inside this `ip netns` namespace.
    ///   - folder: where to put it; nil makes a new temporary folder.
    public init(listen: String? = nil, port: Int? = nil, networkNamespace: String? = nil, folder: String? = nil) throws {
        ownsFolder = folder == nil
        let folder = folder ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("switchboard-pg-\(UUID().uuidString.prefix(8))").path
        self.folder = folder
        arguments = ["start", folder, port.map(String.init) ?? "", listen ?? "", networkNamespace ?? ""]
        url = try Self.run(arguments).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server; a folder this value made is deleted too.
    deinit {
        if ownsFolder { destroy() } else { stop() }
    }

    /// Starts the server again after ``stop()``, on the same folder, port and address.
    public func start() throws {
        _ = try Self.run(arguments)
    }

    /// Stops the server (fast shutdown: open connections are dropped); nothing when it is not running.
    public func stop() {
        _ = try? Self.run(["stop", folder])
    }

    /// Stops the server and deletes its folder.
    public func destroy() {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// `tools/pg-local` in this checkout: found from this file's place, or `SWITCHBOARD_ROOT`.
    static var script: String {
        if let root = ProcessInfo.processInfo.environment["SWITCHBOARD_ROOT"] { return root + "/tools/pg-local" }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("tools/pg-local").path
    }

    /// Runs `tools/pg-local`; its output goes through files, not pipes: a server started by it could keep a
    /// pipe's write end open (inherited through a concurrent spawn), and reading it would never end.
    private static func run(_ arguments: [String]) throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("pg-local-\(UUID().uuidString)")
        let outPath = base.path + ".out", errPath = base.path + ".err"
        defer { try? FileManager.default.removeItem(atPath: outPath); try? FileManager.default.removeItem(atPath: errPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "exec \"$0\" \"$@\" >\"\(outPath)\" 2>\"\(errPath)\" </dev/null", script] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw LocalPostgresError(message: "tools/pg-local \(arguments.first ?? "") failed: " + errors)
        }
        return output
    }
}

/// `tools/pg-local` failed; its message says why (no postgresql installed, initdb or start failed).
public struct LocalPostgresError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
