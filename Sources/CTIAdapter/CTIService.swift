import EventFeed
import Foundation
import Logging
import ServiceLifecycle

/// `switchboard cti` as a swift-service-lifecycle `Service`.
public struct CTIService: Service {
    let adapter: CTIAdapter
    let feed: EventFeed.Configuration
    let logger: Logger

    public init(adapter: CTIAdapter, feed: EventFeed.Configuration, logger: Logger) {
        self.adapter = adapter
        self.feed = feed
        self.logger = logger
    }

    public func run() async throws {
        let feed = EventFeed(configuration: self.feed, after: adapter.resumeAfter, logger: logger)
        logger.info("performing transfers", metadata: ["from_seq": "\(adapter.resumeAfter + 1)"])
        let box = AdapterBox(adapter)
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
                // Sockets and the driver block: they get a thread of their own, never the cooperative pool.
                let thread = Thread {
                    do {
                        try feed.run { batch in try box.adapter.handle(batch) }
                        done.resume()
                    } catch {
                        done.resume(throwing: error)
                    }
                }
                thread.name = "cti-feed"
                thread.start()
            }
        } onGracefulShutdown: {
            feed.stop()
        }
        logger.info("stopped", metadata: ["resume_after": "\(adapter.resumeAfter)"])
    }
}

/// Hands the adapter to the feed's thread, which alone uses it from then on.
private final class AdapterBox: @unchecked Sendable {
    let adapter: CTIAdapter
    init(_ adapter: CTIAdapter) { self.adapter = adapter }
}

extension CTIAdapter: @unchecked Sendable {}  // used by one thread at a time: the service hands it to the feed's thread
