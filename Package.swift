// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .library(name: "Routing", targets: ["Routing"]),
        .library(name: "Wire", targets: ["Wire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // Pure routing logic: no sockets, no files, no clocks.
        .target(name: "Routing", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The contract's JSON: calls, decisions, errors, envelopes.
        .target(name: "Wire", dependencies: ["Routing"]),
        // Durable files: one append-only record log with torn-tail truncation, atomic replace, a folder lock.
        .target(name: "Storage"),
        // Runs a socket owner on a thread of its own, stopped by graceful shutdown or task cancellation.
        .target(name: "ServiceThread", dependencies: [.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        // libzmq, the C library (Debian's libzmq3-dev).
        .systemLibrary(name: "CLibZMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        // A small, safe Swift wrapper; the only target that touches libzmq.
        .target(name: "ZeroMQ", dependencies: ["CLibZMQ"]),
        // The engine without sockets: tables, sessions, idempotency keys, journal; queries, replay, control.
        .target(name: "EngineCore", dependencies: ["Routing", "Wire", "Storage", .product(name: "Logging", package: "swift-log")]),
        // The server: a thread that owns the sockets and hands messages to the core.
        .target(
            name: "Engine",
            dependencies: [
                "EngineCore", "Routing", "Wire", "Storage", "ZeroMQ", "ServiceThread",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "Routing", "Wire", "Engine", "EngineCore", "ZeroMQ", "EventFeed", "Recorder", "CTIAdapter", "Simulator", "ServiceThread",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A subscriber's view of the engine: every decision once, in order, gaps replayed.
        .target(name: "EventFeed", dependencies: ["Routing", "Wire", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        // Stores every decision's interaction comment in SQLite; the only target that uses GRDB.
        .target(
            name: "Recorder",
            dependencies: [
                "EventFeed", "Routing", "ServiceThread", "Wire",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Performs transfer decisions through a telephony driver, exactly once.
        .target(
            name: "CTIAdapter",
            dependencies: [
                "EventFeed", "Routing", "ServiceThread", "Storage", "Wire", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Load generation against a running engine, with latency histograms and event accounting.
        .target(
            name: "Simulator",
            dependencies: ["Routing", "Wire", "ZeroMQ", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        // What the fuzzers exercise, shared with the tests that replay kept inputs (tools/fuzz).
        .target(name: "FuzzTargets", dependencies: ["Routing", "Wire"]),
        .executableTarget(name: "fuzz-request", dependencies: ["FuzzTargets"], swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "fuzz-table", dependencies: ["FuzzTargets"], swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Release-mode throughput benchmark of the routing core (tools/bench-core).
        .executableTarget(name: "CoreBenchmark", dependencies: ["Routing", "Wire"]),
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "Wire"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Routing"]),
        .testTarget(name: "SwitchboardCLITests", dependencies: ["Wire", "Routing", "Recorder", "CTIAdapter", "ZeroMQ"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "RecorderTests", dependencies: ["Recorder", "EventFeed", "Engine", "Wire", "Routing", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CTIAdapterTests", dependencies: ["CTIAdapter", "EventFeed", "Engine", "Storage", "Wire", "Routing", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "Routing", "Wire", "ZeroMQ"]),
        .testTarget(name: "ServiceThreadTests", dependencies: [
            "ServiceThread", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"], resources: [.copy("corpus")]),
        .testTarget(name: "EngineCoreTests", dependencies: ["EngineCore", "Storage", "Wire", "Routing", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "EngineCore", "Storage", "Wire", "Routing", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
    ],
    swiftLanguageModes: [.v6]
)
