import EventFeed
import Foundation
import Logging
import ServiceLifecycle
import ServiceThread

/// `switchboard cti` as a swift-service-lifecycle `Service`.
///
/// The adapter, its driver and its record are made on the feed's thread by `makeAdapter` and used only
/// there: sockets and the driver block, so they get a thread of their own, never the cooperative pool.
public struct CTIService: Service {
    let makeAdapter: @Sendable () throws -> CTIAdapter
    let feed: EventFeed.Configuration
    let logger: Logger

    public init(feed: EventFeed.Configuration, logger: Logger, makeAdapter: @escaping @Sendable () throws -> CTIAdapter) {
        self.makeAdapter = makeAdapter
        self.feed = feed
        self.logger = logger
    }

    public func run() async throws {
        let (makeAdapter, configuration, logger) = (self.makeAdapter, feed, self.logger)
        let resumeAfter = try await ServiceThread.run(name: "cti-feed") { stop in
            let adapter = try makeAdapter()
            adapter.isStopping = { stop.isRequested }
            let feed = EventFeed(configuration: configuration, after: adapter.resumeAfter, logger: logger)
            stop.whenRequested { feed.stop() }
            logger.info("performing transfers", metadata: ["from_seq": "\(adapter.resumeAfter + 1)"])
            try feed.run { batch in try adapter.handle(batch) }
            return adapter.resumeAfter
        }
        logger.info("stopped", metadata: ["resume_after": "\(resumeAfter)"])
    }
}
