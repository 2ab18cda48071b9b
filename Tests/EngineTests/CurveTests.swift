import Foundation
import TestSupport
import Testing
@testable import Engine
import Routing
import Wire
import ZeroMQ

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct CurveTests {
    let server = try! CurveKeyPair.generate()
    let client = try! CurveKeyPair.generate()

    func engine() throws -> RunningEngine {
        try RunningEngine { $0.curve = .init(serverSecretKey: server.secretKey, allowedClientKeys: [client.publicKey]) }
    }

    /// Sends a query and waits up to a second: nil when the connection was refused.
    func attempt(_ e: RunningEngine, serverKey: String?, keys: CurveKeyPair?) throws -> Value? {
        let s = try Socket(e.context, .req)
        try s.set(.linger, Int32(0))
        try s.set(.receiveTimeout, Int32(1000))
        if let serverKey, let keys { try s.makeCurveClient(serverKey: serverKey, keys: keys) }
        try s.connect(e.engine.snapshot.queryEndpoint)
        try s.send(query(id: 1))
        return try s.receiveMultipart().map { try JSONReader.parse($0.last!) }
    }

    @Test func allowedClientIsServed() throws {
        let e = try engine()
        #expect(try attempt(e, serverKey: server.publicKey, keys: client)?["decision"] != nil)
    }

    @Test func unknownClientKeyIsRefused() throws {
        let e = try engine()
        #expect(try attempt(e, serverKey: server.publicKey, keys: try CurveKeyPair.generate()) == nil)
    }

    @Test func wrongServerKeyIsRefused() throws {
        let e = try engine()
        #expect(try attempt(e, serverKey: try CurveKeyPair.generate().publicKey, keys: client) == nil)
    }

    @Test func plainTextClientIsRefused() throws {
        let e = try engine()
        #expect(try attempt(e, serverKey: nil, keys: nil) == nil)
    }

    /// With `ZAP_ENFORCE_DOMAIN`, a CURVE server refuses everyone while no handler answers.
    @Test func noHandlerMeansNoConnection() throws {
        let context = try Context()
        let handler = try ZAPHandler(allowedKeys: [client.publicKey])
        try handler.start(in: context)
        let router = try Socket(context, .router)
        try router.set(.linger, Int32(0))
        try router.makeCurveServer(secretKey: server.secretKey)
        try router.bind("tcp://127.0.0.1:*")
        try router.set(.receiveTimeout, Int32(1000))
        func send() throws -> Bool {
            let d = try Socket(context, .dealer)
            try d.set(.linger, Int32(0))
            try d.makeCurveClient(serverKey: server.publicKey, keys: client)
            try d.connect(router.lastEndpoint)
            try d.send("hello")
            defer { d.close() }
            return try router.receiveMultipart() != nil
        }
        #expect(try send())
        handler.stop()
        #expect(!handler.isRunning)
        #expect(try send() == false)
    }

    @Test func allowListKeysAreChecked() {
        #expect(throws: ZMQError.self) { try ZAPHandler(allowedKeys: ["not a key"]) }
    }
}
