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

    public init(store: any CommentStorage, feed: EventFeed.Configuration, logger: Logger) {
        self.store = store
        self.feed = feed
        self.logger = logger
    }

    public func run() async throws {
        let start = try store.lastSeq()
        let feed = EventFeed(configuration: self.feed, after: start, logger: logger)
        let store = self.store
        let logger = self.logger
        logger.info("recording", metadata: ["db": "\(store.location)", "from_seq": "\(start + 1)"])
        // The feed blocks on sockets: it gets a thread of its own, never the cooperative pool.
        try await ServiceThread.run(name: "recorder-feed") { stop in
            stop.whenRequested { feed.stop() }
            try feed.run { batch in
                try store.store(batch)
                logger.debug("stored", metadata: ["through_seq": "\(batch.last!.seq)", "rows": "\(batch.count)"])
            }
        }
        logger.info("stopped", metadata: ["last_seq": "\((try? store.lastSeq()) ?? 0)"])
    }
}
