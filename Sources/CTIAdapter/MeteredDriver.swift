import Metrics

/// A telephony driver that counts what it was asked to do by result (`switchboard_cti_transfers_total{result}`)
/// and reports the adapter's CTI incident state (`switchboard_cti_incident`, 1 while declared) as it was
/// before each transfer and after the last.
public final class MeteredDriver: CTIDriver {
    let inner: CTIDriver
    /// Read on the feed's thread only, where the adapter and this driver live.
    public weak var adapter: CTIAdapter?
    private let incident = Gauge(label: "switchboard_cti_incident")

    public init(_ inner: CTIDriver) {
        self.inner = inner
        incident.record(0)
    }

    public func perform(_ transfer: Transfer) throws(DriverFailure) {
        if let adapter { incident.record(adapter.incidentDeclared ? 1 : 0) }
        do {
            try inner.perform(transfer)
            Counter(label: "switchboard_cti_transfers_total", dimensions: [("result", "ok")]).increment()
        } catch {
            Counter(label: "switchboard_cti_transfers_total", dimensions: [("result", error.kind.description)]).increment()
            throw error
        }
    }

    public func wasPerformed(_ transfer: Transfer) -> Bool? { inner.wasPerformed(transfer) }

    public var hasReachedTelephony: Bool { inner.hasReachedTelephony }
}
