import Logging
import Synchronization

/// Collects what a logger says, to count and read lines by level.
package final class LogCapture: Sendable {
    private let entries = Mutex<[(Logger.Level, String)]>([])

    package init() {}

    package var logger: Logger {
        Logger(label: "capture") { _ in Handler(capture: self) }
    }

    package func lines(atLeast level: Logger.Level) -> [String] {
        entries.withLock { $0.filter { $0.0 >= level }.map(\.1) }
    }

    fileprivate func add(_ level: Logger.Level, _ message: String) {
        entries.withLock { $0.append((level, message)) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.add(event.level, "\(event.message)")
        }
    }
}
