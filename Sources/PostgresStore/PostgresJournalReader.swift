import Foundation
import Postgres
import Storage

/// Reads the shared journal for the replay server, on its own connection (a libpq connection serves one
/// thread at a time, and the engine's is busy with batches). Connects on first use and after a failure.
public final class PostgresJournalReader {
    private let url: String
    private let lock = NSLock()
    private var db: PostgresConnection?

    init(url: String) { self.url = url }

    /// Up to `max` events from `seq` on, stopping before `maxBytes` (at least one): the replay server's reader.
    public func read(from seq: UInt64, max: Int, maxBytes: Int) throws(StorageError) -> [ArraySlice<UInt8>] {
        lock.lock()
        defer { lock.unlock() }
        do {
            if db?.isConnected != true {
                db = nil
                var settings = PostgresStore.connectionSettings
                settings["application_name"] = "switchboard-replay"
                db = try PostgresConnection(url, settings: settings)
            }
            return try PostgresStore.read(db!, from: seq, max: max, maxBytes: maxBytes)
        } catch {
            throw PostgresStore.storageError(error)
        }
    }
}

/// The connection is used only under `lock`.
extension PostgresJournalReader: @unchecked Sendable {}
