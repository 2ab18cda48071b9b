// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .library(name: "Routing", targets: ["Routing"]),
        .library(name: "Wire", targets: ["Wire"]),
        .library(name: "TableLanguage", targets: ["TableLanguage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The compiled table and its evaluation, schedules, time, sessions, masking: no sockets, no files, no clocks, no YAML.
        .target(name: "Routing"),
        // The table language: YAML loading and compiling, coverage, scenarios, diff (the tooling around Routing).
        .target(name: "TableLanguage", dependencies: ["Routing", .product(name: "Yams", package: "Yams")]),
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
        // libpq, PostgreSQL's C client (Debian's libpq-dev): synchronous, so it fits the engine's own thread like libzmq.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // A small, safe Swift wrapper; the only target that touches libpq.
        .target(name: "Postgres", dependencies: ["CLibPQ"]),
        // A throwaway PostgreSQL server for tests (tools/pg-local).
        .target(name: "LocalPostgres"),
        // The engine without sockets: tables, sessions, idempotency keys, journal; queries, replay, control.
        .target(
            name: "EngineCore",
            dependencies: ["Routing", "TableLanguage", "Wire", "Storage", "ServiceThread", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")]
        ),
        // The journal, keys, sessions and operations state in PostgreSQL, shared by several engines.
        .target(name: "PostgresStore", dependencies: ["EngineCore", "Postgres", "Routing", "Storage", "Wire", .product(name: "Logging", package: "swift-log")]),
        // The server: a thread that owns the sockets and hands messages to the core.
        .target(
            name: "Engine",
            dependencies: [
                "EngineCore", "PostgresStore", "Routing", "Wire", "Storage", "ZeroMQ", "ServiceThread",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "Routing", "TableLanguage", "Wire", "Engine", "EngineCore", "ZeroMQ", "EventFeed", "Recorder", "CTIAdapter", "Simulator", "ServiceThread", "Gateway", "Telemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A subscriber's view of the engine: every decision once, in order, gaps replayed.
        .target(
            name: "EventFeed",
            dependencies: ["Routing", "Wire", "ZeroMQ", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")]
        ),
        // Stores every decision's interaction comment in SQLite (the only target that uses GRDB) or PostgreSQL.
        .target(
            name: "Recorder",
            dependencies: [
                "EventFeed", "Postgres", "Routing", "ServiceThread", "Wire",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The C API, to bind a row's text without GRDB's `StatementArguments` (CommentStore.store).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
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
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTTP/WebSocket gateway for agent desktops and the panel: a ZeroMQ client of the engine like any other.
        .target(
            name: "Gateway",
            dependencies: [
                "EventFeed", "Recorder", "Routing", "Wire", "ZeroMQ", "Telemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Panel")]
        ),
        // Prometheus text on --metrics HOST:PORT with /healthz and /readyz, and JSON log lines, for every process.
        .target(
            name: "Telemetry",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Load generation against a running engine, with latency histograms and event accounting.
        .target(
            name: "Simulator",
            dependencies: ["EventFeed", "Routing", "TableLanguage", "Wire", "ZeroMQ", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        // What the fuzzers exercise, shared with the tests that replay kept inputs (tools/fuzz).
        .target(name: "FuzzTargets", dependencies: ["Routing", "TableLanguage", "Wire"]),
        .executableTarget(name: "fuzz-request", dependencies: ["FuzzTargets"], swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "fuzz-table", dependencies: ["FuzzTargets"], swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Release-mode throughput benchmark of the routing core (tools/bench-core).
        .executableTarget(name: "CoreBenchmark", dependencies: ["Routing", "TableLanguage", "Wire"]),
        // Helpers shared by test targets (table fixtures, a log capture, the `.ownThreads` trait for blocking suites):
        // test targets cannot share a file.
        .target(
            name: "TestSupport",
            dependencies: ["Routing", "TableLanguage", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "TableLanguage", "Wire", "TestSupport"]),
        .testTarget(name: "TableLanguageTests", dependencies: ["TableLanguage", "Routing", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["TestSupport", "Storage"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Routing", "TableLanguage", "TestSupport"]),
        .testTarget(
            name: "SwitchboardCLITests",
            dependencies: ["TestSupport", "Wire", "Routing", "Recorder", "CTIAdapter", "ZeroMQ", "Gateway", "EventFeed", "Postgres", "PostgresStore", "LocalPostgres", .product(name: "Logging", package: "swift-log")],
            exclude: ["decisions"]
        ),
        .testTarget(name: "GatewayTests", dependencies: ["TestSupport", "Gateway", "EventFeed", "Wire", "Routing", "ZeroMQ", "CTIAdapter", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ZeroMQTests", dependencies: ["TestSupport", "ZeroMQ"]),
        .testTarget(name: "PostgresTests", dependencies: ["TestSupport", "Postgres", "LocalPostgres"]),
        .testTarget(name: "RecorderTests", dependencies: ["TestSupport", "Recorder", "EventFeed", "Engine", "LocalPostgres", "Postgres", "Wire", "Routing", "TableLanguage", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CTIAdapterTests", dependencies: ["TestSupport", "CTIAdapter", "EventFeed", "Engine", "Storage", "Wire", "Routing", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "EventFeedTests", dependencies: ["TestSupport", "EventFeed", "Wire", "Routing", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "SimulatorTests", dependencies: ["TestSupport", "Simulator", "Routing", "TableLanguage", "Wire", "ZeroMQ"]),
        .testTarget(name: "ServiceThreadTests", dependencies: [
            "TestSupport", "ServiceThread", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"], resources: [.copy("corpus")]),
        .testTarget(name: "EngineCoreTests", dependencies: ["TestSupport", "EngineCore", "PostgresStore", "LocalPostgres", "Storage", "Wire", "Routing", "TableLanguage", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "EngineTests", dependencies: ["TestSupport", "Engine", "EngineCore", "Storage", "Wire", "Routing", "TableLanguage", "ZeroMQ", .product(name: "Logging", package: "swift-log")]),
    ],
    swiftLanguageModes: [.v6]
)
