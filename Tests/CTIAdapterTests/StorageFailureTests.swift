import EventFeed
import Foundation
import Logging
import Testing
@testable import CTIAdapter
import Routing
import Storage
import Wire
import TestSupport

/// A transfer record that cannot be written is not a failed transfer: the adapter stops performing
/// transfers, says why once, retries, and when the disk is back performs each transfer exactly once,
/// without declaring an incident.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct StorageFailureTests {
    func performed(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONReader.parse(String($0))["event_id"]?.text }
    }

    @Test func aFullDiskStopsTransfersUntilTheRecordCanBeWritten() throws {
        let dir = folder("full")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recordPath = dir.appendingPathComponent("r.log").path, commands = dir.appendingPathComponent("commands.jsonl").path
        let log = LogCapture()
        let control = try ControlRecorder()
        var configuration = CTIAdapter.Configuration()
        configuration.failuresForIncident = 1
        configuration.controlEndpoint = control.endpoint
        configuration.storageRetryDelay = .milliseconds(20)
        configuration.storageRetryCeiling = .milliseconds(100)
        let adapter = CTIAdapter(configuration: configuration, driver: try LogDriver(path: commands), record: try TransferRecord(path: recordPath),
                                 logger: log.logger)
        let disk = try FullDisk(path: recordPath)
        disk.fill()
        // The disk comes back after a while; meanwhile nothing may be transferred.
        let observedWhileFull = Observed()
        Thread {
            usleep(500_000)
            observedWhileFull.set(((try? String(contentsOfFile: commands, encoding: .utf8)) ?? "").isEmpty)
            disk.free()
        }.start()
        try adapter.handle([transferEvent(1), transferEvent(2, mode: "warm"), transferEvent(3)])
        #expect(observedWhileFull.value == true, "a transfer was performed while its start could not be recorded")
        #expect(performed(commands) == ["j-1", "j-2", "j-2", "j-3"])  // the warm transfer is two commands
        let critical = log.lines(atLeast: .critical)
        #expect(critical.count == 1 && critical[0].contains("cannot write the transfer record"), "\(critical)")
        #expect(log.lines(atLeast: .notice).contains { $0.contains("can be written again") })
        #expect(!adapter.incidentDeclared && control.requests.isEmpty)
        #expect(adapter.storageFailure == nil)
        let reopened = try TransferRecord(path: recordPath)
        #expect(reopened.unfinished.isEmpty && reopened.doneCount == 3 && reopened.lastSeq == 3)
    }

    /// The disk fills between performing a transfer and recording its outcome: the outcome is recorded once
    /// the disk is back, and the transfer is not performed again.
    @Test func aFullDiskAfterATransferDoesNotRepeatIt() throws {
        let dir = folder("full-done")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recordPath = dir.appendingPathComponent("r.log").path
        let record = try TransferRecord(path: recordPath)
        let disk = try FullDisk(path: recordPath)
        let driver = FillingDriver(disk)
        var configuration = CTIAdapter.Configuration()
        configuration.failuresForIncident = 1
        configuration.storageRetryDelay = .milliseconds(20)
        let control = try ControlRecorder()
        configuration.controlEndpoint = control.endpoint
        let adapter = CTIAdapter(configuration: configuration, driver: driver, record: record, logger: quietLogger)
        try adapter.handle([transferEvent(1), transferEvent(2)])
        #expect(driver.performed == ["j-1", "j-2"])
        try adapter.handle([transferEvent(1), transferEvent(2)])  // replayed: nothing again
        #expect(driver.performed == ["j-1", "j-2"])
        let text = try String(contentsOfFile: recordPath, encoding: .utf8)
        #expect(text.components(separatedBy: "\n").filter { $0.hasPrefix("done") } == ["done 1 j-1 ok", "done 2 j-2 ok"])
        #expect(control.requests.isEmpty)
    }

    /// Fills the disk while it performs the first transfer, and frees it 300 ms later.
    final class FillingDriver: CTIDriver {
        let disk: FullDisk
        var performed: [String] = []
        init(_ disk: FullDisk) { self.disk = disk }
        func perform(_ transfer: Transfer) throws(DriverFailure) {
            performed.append(transfer.eventID)
            guard performed.count == 1 else { return }
            disk.fill()
            let disk = self.disk
            Thread {
                usleep(300_000)
                disk.free()
            }.start()
        }
        func wasPerformed(_ transfer: Transfer) -> Bool? { performed.contains(transfer.eventID) }
    }

    final class Observed: @unchecked Sendable {
        private let lock = NSLock()
        private var v: Bool?
        func set(_ value: Bool) { lock.lock(); v = value; lock.unlock() }
        var value: Bool? { lock.lock(); defer { lock.unlock() }; return v }
    }
}
