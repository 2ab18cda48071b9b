import Storage
import Wire

/// Writes the CSTA commands it would issue as JSON lines to a file, and reads them back to know what it did.
///
/// ```json
/// {"event_id":"…-12","seq":12,"command":"SingleStepTransferCall","call":"c-1","to":"cti:retention","via":"cti","target":"retention"}
/// ```
///
/// The file is an ``AppendLog``: a transfer's lines go in one write and are synced before it counts as
/// performed, so the file never holds half a warm transfer, and what it holds survives a crash.
public final class LogDriver: CTIDriver {
    private let log: AppendLog
    public let path: String
    private var performed: Set<String>
    /// Written, but the sync failed: they may or may not survive a crash.
    private var uncertain: Set<String> = []

    /// - Throws: ``StorageError`` when the file cannot be opened, or holds a line that is not a command.
    public init(path: String) throws(StorageError) {
        self.path = path
        var performed = Set<String>()
        log = try AppendLog(path: path) { line, offset throws(StorageError) in
            guard let v = try? JSONReader.parse(Array(line), limits: .trusted), case .string(let id)? = v["event_id"] else {
                throw StorageError(.damaged, path: path, errno: 0, "the line at byte \(offset) is not a CSTA command with an event_id")
            }
            performed.insert(id)
        }
        self.performed = performed
    }

    public func perform(_ t: Transfer) throws(DriverFailure) {
        let lines = t.cstaSteps.map { step in
            var w = JSONWriter(capacity: 256)
            w.object { o in
                o.member("event_id") { $0.string(t.eventID) }
                o.member("seq") { $0.number(Int64(t.seq)) }
                o.member("command") { $0.string(step) }
                o.member("call") { $0.string(t.callID) }
                o.member("to") { $0.string(t.address) }
                o.member("via") { $0.string(t.via.rawValue) }
                o.member("target") { $0.string(t.target) }
            }
            return w.bytes
        }
        do {
            try log.append(lines)
        } catch {
            // Taken back: nothing was issued.
            throw DriverFailure(.unreachable, "cannot write \(path): \(error)")
        }
        do {
            try log.sync()
        } catch {
            uncertain.insert(t.eventID)
            throw DriverFailure(.unknownOutcome, "wrote the commands but could not sync \(path): \(error)")
        }
        performed.insert(t.eventID)
    }

    public func wasPerformed(_ transfer: Transfer) -> Bool? { wasPerformed(eventID: transfer.eventID) }

    /// Whether the file holds the commands of this event's transfer (nil: written, but the sync failed).
    public func wasPerformed(eventID: String) -> Bool? {
        if uncertain.contains(eventID) { return nil }
        return performed.contains(eventID)
    }
}
