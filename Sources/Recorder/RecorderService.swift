import EventFeed
import Foundation
import Logging
import ServiceLifecycle
import ServiceThread

/// `switchboard recorder` as a swift-service-lifecycle `Service`: stores every decision's comment until shutdown.
public struct RecorderService: Service {
    public let store: any CommentStorage
    public let feed: EventFeed.Configuration
    private let logger: Logger

    /// Events gathered into one transaction while catching up.
    public static let catchUpBatch = 10_000

    public init(store: any CommentStorage, feed: EventFeed.Configuration, logger: Logger) {
        self.store = store
        self.feed = feed
        self.logger = logger
    }

    public func run() async throws {
        let start = try store.lastSeq()
        var configuration = self.feed
        // Up to 10,000 events (about 10 MB) a transaction while catching up: each commit waits for the
        // disk (synchronous = FULL), so rows a second follow the transaction size.
        configuration.catchUpBatch = max(configuration.catchUpBatch, RecorderService.catchUpBatch)
        let feed = EventFeed(configuration: configuration, after: start, logger: logger)
        let store = self.store
        let logger = self.logger
        logger.info("recording", metadata: ["db": "\(store.location)", "from_seq": "\(start + 1)"])
        // The feed blocks on sockets: it gets a thread of its own, never the cooperative pool. It reads and
        // masks; a second thread stores (BatchWriter), so the two halves of the work use both cores.
        try await ServiceThread.run(name: "recorder-feed") { stop in
            let writer = BatchWriter(store: store, logger: logger)
            defer { writer.finish() }
            stop.whenRequested {
                feed.stop()
                writer.close()
            }
            // Only the columns stored are read from each event (RecordedEvent), not the whole event.
            try feed.run(as: RecordedEvent.self) { batch in
                try writer.submit(batch.map { $0.maskingComment() })
            }
        }
        logger.info("stopped", metadata: ["last_seq": "\((try? store.lastSeq()) ?? 0)"])
    }
}
