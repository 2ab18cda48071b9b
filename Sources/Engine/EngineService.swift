import Foundation
import ServiceLifecycle

/// The engine as a swift-service-lifecycle `Service`: runs until graceful shutdown (SIGTERM, SIGINT),
/// then drains and flushes the journal before returning.
public struct EngineService: Service {
    public let engine: Engine

    public init(engine: Engine) { self.engine = engine }

    public func run() async throws {
        try engine.start()
        let engine = self.engine
        await withGracefulShutdownHandler {
            // Waiting blocks a thread of its own, never the cooperative pool.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Thread {
                    engine.wait()
                    done.resume()
                }.start()
            }
        } onGracefulShutdown: {
            engine.stop()
        }
    }
}
