import Foundation
import Routing
import Wire

/// What the fuzzers run on each input, shared with the regression tests that replay kept inputs.
///
/// Each function must never trap: any bytes are either accepted or refused with an error value.
public enum FuzzTargets {
    /// The flagship table, for evaluating decoded requests; loaded once from `routing-tables/`.
    static let table: Table? = {
        let path = ProcessInfo.processInfo.environment["SWITCHBOARD_FUZZ_TABLE"] ?? "routing-tables/retention-ru.yaml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return try? TableLoader.load(yaml: text, file: path)
    }()

    /// The engine's request path: decode a query, decide it, encode the reply.
    public static func request(_ bytes: [UInt8]) {
        let (id, decoded) = QueryRequest.decode(bytes)
        var w = JSONWriter()
        switch decoded {
        case .failure(let error):
            Wire.encodeReply(id: id, error: error, into: &w)
        case .success(let request):
            guard let table else { return }
            do {
                let decision = try table.evaluate(request.call, at: request.at ?? Instant(seconds: 1_795_380_900))
                Wire.encodeReply(id: id, decision: decision, into: &w)
            } catch {
                Wire.encodeReply(id: id, error: error, into: &w)
            }
        }
        // The reply must itself be valid JSON.
        precondition((try? JSONReader.parse(w.bytes, limits: .trusted)) != nil, "the engine wrote a reply that is not JSON")
    }

    /// The table loader: any text loads or is refused with positioned errors.
    public static func table(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        do {
            let table = try TableLoader.load(yaml: text, file: "fuzz.yaml")
            // A table that loads must decide its topics without trapping.
            for topic in table.topics {
                _ = try? table.evaluate(Call(callID: "f", topic: topic.code), at: Instant(seconds: 1_795_380_900))
            }
        } catch {
            precondition(error.errors.allSatisfy { $0.mark.line >= 1 && $0.mark.column >= 1 }, "an error without a position")
        }
    }
}
