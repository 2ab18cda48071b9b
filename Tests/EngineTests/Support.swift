import Foundation
import Logging
import Testing
@testable import Engine
import EngineCore
import Routing
import Wire
import ZeroMQ

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A folder under the system's temporary directory, removed when the test is done with it.
final class TemporaryFolder {
    let url: URL
    var path: String { url.path }

    init(_ name: String = "switchboard") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A tables folder holding a copy of the bundled flagship table.
    static func tables() -> TemporaryFolder {
        let folder = TemporaryFolder("tables")
        try! FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("routing-tables/retention-ru.yaml"),
                                          to: folder.url.appendingPathComponent("retention-ru.yaml"))
        return folder
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// An engine on loopback ports the system chooses, with its own tables and data folders.
final class RunningEngine {
    let tables: TemporaryFolder
    let data: TemporaryFolder
    let engine: Engine
    let context = try! Context()

    init(tables: TemporaryFolder = .tables(), data: TemporaryFolder = TemporaryFolder("data"), configure: (inout EngineConfiguration) -> Void = { _ in }) throws {
        self.tables = tables
        self.data = data
        var c = EngineConfiguration()
        c.tablesDirectory = tables.path
        c.dataDirectory = data.path
        c.queryEndpoint = "tcp://127.0.0.1:*"
        c.eventsEndpoint = "tcp://127.0.0.1:*"
        c.replayEndpoint = "tcp://127.0.0.1:*"
        c.controlEndpoint = "tcp://127.0.0.1:*"
        c.heartbeatInterval = .milliseconds(200)
        configure(&c)
        var logger = Logger(label: "test.engine")
        logger.logLevel = .warning
        engine = try Engine(configuration: c, logger: logger)
        try engine.start()
    }

    func stop() {
        engine.stop()
        engine.wait()
    }

    deinit { stop() }

    func socket(_ kind: Socket.Kind, _ endpoint: String) throws -> Socket {
        let s = try Socket(context, kind)
        try s.set(.linger, Int32(0))
        try s.set(.receiveTimeout, Int32(10_000))
        try s.connect(endpoint)
        return s
    }

    func requestSocket() throws -> Socket { try socket(.req, engine.snapshot.queryEndpoint) }

    /// A SUB socket that has seen a heartbeat, so its subscription is known to be in place.
    func subscriber(_ prefix: String = "") throws -> Socket {
        let s = try socket(.sub, engine.snapshot.eventsEndpoint)
        try s.subscribe(prefix)
        if prefix.isEmpty {
            while let frames = try s.receiveMultipart(), frames.first != Array("heartbeat".utf8) {}
        } else {
            try s.subscribe("heartbeat")
            while let frames = try s.receiveMultipart(), frames.first != Array("heartbeat".utf8) {}
            try s.unsubscribe("heartbeat")
            // A heartbeat may already be on its way: let it arrive and set it aside.
            try s.set(.receiveTimeout, Int32(300))
            while let frames = try s.receiveMultipart(), frames.first == Array("heartbeat".utf8) {}
            try s.set(.receiveTimeout, Int32(10_000))
        }
        return s
    }

    /// Sends one request on a REQ socket and parses the reply.
    func ask(_ socket: Socket, _ json: String) throws -> Value {
        try socket.send(json)
        let reply = try #require(try socket.receiveMultipart())
        return try JSONReader.parse(reply.last!)
    }

    /// The operator credentials the engine wrote in its data folder.
    var operatorCredentials: OperatorCredentials {
        get throws { try OperatorCredentials(text: String(contentsOfFile: engine.operatorCredentialsPath, encoding: .utf8)) }
    }

    /// A REQ socket on the control endpoint, as the operator.
    func controlSocket() throws -> Socket {
        let s = try Socket(context, .req)
        try s.set(.linger, Int32(0))
        try s.set(.receiveTimeout, Int32(10_000))
        try s.makeOperatorClient(try operatorCredentials)
        try s.connect(engine.snapshot.controlEndpoint)
        return s
    }

    /// Sends a control command as the operator and parses the reply.
    func control(_ json: String) throws -> Value {
        try ask(try controlSocket(), json)
    }
}

func query(id: Int, topic: String = "termination", facts: String = #"{"insists":true}"#, at: String = "2026-11-23T12:00:00+03:00") -> String {
    #"{"id":\#(id),"table":"retention-ru","at":"\#(at)","call":{"call_id":"c-\#(id)","topic":"\#(topic)","facts":\#(facts)}}"#
}

extension Value {
    /// The elements of an array; nil for any other kind, so `#expect(v?.elements?.count == 3)` fails on a wrong shape.
    var elements: [Value]? { if case .array(let a) = self { a } else { nil } }
    /// The number; nil for any other kind.
    var number: Double? { if case .number(let n) = self { n } else { nil } }
}
