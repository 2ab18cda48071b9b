import Foundation
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Writes the CSTA commands it would issue as JSON lines to a file, and reads them back to know what it did.
///
/// ```json
/// {"event_id":"…-12","seq":12,"command":"SingleStepTransferCall","call":"c-1","to":"cti:retention","via":"cti","target":"retention"}
/// ```
public final class LogDriver: CTIDriver {
    private let fd: Int32
    public let path: String
    private var performed: Set<String>

    public init(path: String) throws {
        self.path = path
        performed = []
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                if let v = try? JSONReader.parse(String(line), limits: .trusted), case .string(let id)? = v["event_id"] { performed.insert(id) }
            }
        }
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DriverFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    public func perform(_ t: Transfer) throws(DriverFailure) {
        var text = ""
        for step in t.cstaSteps {
            var w = JSONWriter(capacity: 256)
            w.object { o in
                o.member("event_id") { $0.string(t.eventID) }
                o.member("seq") { $0.number(Int64(t.seq)) }
                o.member("command") { $0.string(step) }
                o.member("call") { $0.string(t.callID) }
                o.member("to") { $0.string(t.address) }
                o.member("via") { $0.string(t.via) }
                o.member("target") { $0.string(t.target) }
            }
            text += w.string + "\n"
        }
        let bytes = Array(text.utf8)
        // One write for all the steps, so the file never holds half a warm transfer.
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw DriverFailure("cannot write \(path): \(String(cString: strerror(errno)))") }
        performed.insert(t.eventID)
    }

    public func wasPerformed(eventID: String) -> Bool? { performed.contains(eventID) }
}
