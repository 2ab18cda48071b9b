import Foundation
import Recorder
import TestSupport
import Testing

/// `switchboard recorder` as a process of its own, killed without warning.
final class RecorderProcess {
    let process = Process()
    private let errors = Pipe()

    init(db: String, endpoints: [String: String]) throws {
        process.executableURL = CLI.executable
        process.arguments = ["recorder", "--db", db, "--events", endpoints["events"]!, "--replay", endpoints["replay"]!]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
    }

    /// Waits for the "recording" line: from then on SIGTERM means a graceful stop.
    func waitUntilRecording() {
        guard !waited else { return }
        waited = true
        var log = Data()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !String(decoding: log, as: UTF8.self).contains(" recording") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log.append(chunk)
        }
        output.append(log)
        output.drain(errors.fileHandleForReading)
    }

    /// What the recorder has written on stderr since it started (once ``waitUntilRecording()`` has run).
    var stderr: String { output.text }
    private let output = StreamText()
    private var waited = false

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() -> Int32 {
        waitUntilRecording()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill9() } }
}

@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct RecorderProcessTests {
    /// 10,000 decisions while the recorder is killed with SIGKILL and restarted at random moments, at least
    /// 20 times: in the end every decision is stored exactly once.
    @Test func killedTwentyTimesStoresEveryDecisionOnce() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("comments.sqlite").path
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let total = 10_000
        let loadDone = DispatchSemaphore(value: 0)
        let answered = Answered()
        let endpoint = serve.endpoints["query"]!
        Thread {
            answered.set((try? LoadClient.run(endpoint: endpoint, total: total, rate: 1500)) ?? [])
            loadDone.signal()
        }.start()
        var kills = 0
        var recorder: RecorderProcess? = try RecorderProcess(db: db, endpoints: serve.endpoints)
        var loadFinished = false
        while !loadFinished || kills < 20 {
            usleep(UInt32.random(in: 50_000...400_000))
            recorder?.kill9()
            kills += 1
            recorder = try RecorderProcess(db: db, endpoints: serve.endpoints)
            if loadDone.wait(timeout: .now()) == .success { loadFinished = true }
        }
        #expect(answered.count == total)
        // Let the last recorder catch up, then stop it properly.
        let deadline = Date().addingTimeInterval(60)
        var last: UInt64 = 0
        while Date() < deadline {
            last = (try? CommentStore(path: db).lastSeq()) ?? 0
            if last >= UInt64(total) { break }
            usleep(100_000)
        }
        #expect(recorder?.terminate() == 0, "\(recorder?.stderr ?? "")")
        let store = try CommentStore(path: db)
        let counts = try store.counts()
        #expect(kills >= 20)
        #expect(last == UInt64(total))
        #expect(counts.rows == total && counts.distinctEvents == total && counts.distinctSeqs == total, "\(counts)")
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }

    @Test func commentsCommandPrintsJSONLines() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("comments.sqlite").path
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        _ = try LoadClient.run(endpoint: serve.endpoints["query"]!, total: 3)
        let recorder = try RecorderProcess(db: db, endpoints: serve.endpoints)
        recorder.waitUntilRecording()  // also keeps its log drained, so it never blocks on a full pipe
        let deadline = Date().addingTimeInterval(20)
        while ((try? CommentStore(path: db).lastSeq()) ?? 0) < 3 && Date() < deadline { usleep(50_000) }
        #expect(recorder.terminate() == 0)
        let all = try CLI.run(["comments", "--db", db])
        #expect(all.status == 0)
        #expect(all.lines.count == 3)
        let one = try CLI.run(["comments", "--db", db, "--call", "k-1"])
        #expect(one.lines.count == 1)
        #expect(one.stdout.contains(#""call_id":"k-1""#))
        let missing = try CLI.run(["comments", "--db", folder.appendingPathComponent("none.sqlite").path])
        #expect(missing.status != 0)
        serve.signal(SIGTERM)
        _ = serve.waitForExit()
    }
}

final class Answered: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<String> = []
    func set(_ s: Set<String>) { lock.lock(); ids = s; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return ids.count }
}
