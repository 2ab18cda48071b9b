import ServiceLifecycle
import ServiceThread

/// The engine as a swift-service-lifecycle `Service`: runs until graceful shutdown (SIGTERM, SIGINT) or
/// cancellation, then drains and syncs the journal before returning.
public struct EngineService: Service {
    public let engine: Engine

    public init(engine: Engine) { self.engine = engine }

    public func run() async throws {
        try engine.start()
        let engine = self.engine
        // Waiting blocks a thread of its own, never the cooperative pool.
        try await ServiceThread.run(name: "engine-service") { stop in
            stop.whenRequested { engine.stop() }
            engine.wait()
        }
    }
}
