import CTIAdapter
import Dispatch
import Engine
import Foundation
import Metrics
import Routing
import Wire

/// The engine's metrics, from the batches its serving thread reports (``EngineObserver``), counted on a
/// queue of their own so the serving thread only hands them over.
enum EngineMetrics {
    static func install() {
        let queue = DispatchQueue(label: "switchboard.engine.metrics")
        let journalSeq = Gauge(label: "switchboard_engine_journal_seq")
        let latency = Timer(label: "switchboard_engine_query_duration_seconds")
        EngineObserver.install { batch in
            queue.async {
                journalSeq.record(Int64(batch.journalSeq))
                let nanos = Int64(batch.duration / .nanoseconds(1))
                for reply in batch.replies {
                    latency.recordNanoseconds(nanos)
                    guard let v = try? JSONReader.parse(reply), let e = v["error"], case .string(let code)? = e["code"] else { continue }
                    Counter(label: "switchboard_engine_errors_total", dimensions: [("code", code)]).increment()
                }
                for bytes in batch.events {
                    guard let event = try? Wire.DecodedEvent(json: bytes) else { continue }
                    Counter(label: "switchboard_engine_decisions_total", dimensions: [
                        ("table", event.table), ("topic", event.call?.topic ?? "unknown"), ("action", event.decision.action.rawValue),
                    ]).increment()
                }
            }
        }
    }
}

/// A telephony driver that counts what it was asked to do by result (`switchboard_cti_transfers_total{result}`)
/// and reports the adapter's CTI incident state (`switchboard_cti_incident`, 1 while declared) as it was
/// before each transfer and after the last.
final class MeteredDriver: CTIDriver {
    let inner: CTIDriver
    /// Read on the feed's thread only, where the adapter and this driver live.
    weak var adapter: CTIAdapter?
    private let incident = Gauge(label: "switchboard_cti_incident")

    init(_ inner: CTIDriver) {
        self.inner = inner
        incident.record(0)
    }

    func perform(_ transfer: Transfer) throws(DriverFailure) {
        if let adapter { incident.record(adapter.incidentDeclared ? 1 : 0) }
        do {
            try inner.perform(transfer)
            Counter(label: "switchboard_cti_transfers_total", dimensions: [("result", "ok")]).increment()
        } catch {
            Counter(label: "switchboard_cti_transfers_total", dimensions: [("result", error.kind.description)]).increment()
            throw error
        }
    }

    func wasPerformed(eventID: String) -> Bool? { inner.wasPerformed(eventID: eventID) }

    var hasReachedTelephony: Bool { inner.hasReachedTelephony }
}
