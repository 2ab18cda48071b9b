import Routing
import Storage
import Wire

/// The operations state that survives restarts: `operations.json` in the data folder. An engine restarted
/// during a CTI incident must not go back to CTI, so the flag is on disk before it is confirmed.
public struct OperationsFile: Sendable {
    public let path: String

    public init(directory: String) { path = FileIO.join(directory, "operations.json") }

    /// The saved state; the default (no incident) when there is no file.
    /// - Throws: when the file exists but cannot be read or is not the expected JSON: starting as if
    ///   there were no incident could send calls to a CTI that is down.
    public func load() throws(StorageError) -> Operations {
        guard let bytes = try FileIO.contents(of: path) else { return Operations() }
        guard let value = try? JSONReader.parse(bytes, limits: .trusted), case .bool(let on)? = value["cti_incident"] else {
            throw StorageError(.damaged, path: path, errno: 0, #"not {"cti_incident": true|false}; fix or remove it"#)
        }
        return Operations(ctiIncident: on)
    }

    /// Replaces the saved state atomically and durably.
    public func save(_ operations: Operations) throws(StorageError) {
        try AtomicFile.replace(path, with: Array(#"{"cti_incident":\#(operations.ctiIncident)}"#.utf8))
    }
}
