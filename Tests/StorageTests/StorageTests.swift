import Foundation
import Storage
import TestSupport
import Testing

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct AppendLogTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)").path

    func lines(_ path: String) throws -> [String] {
        var seen: [String] = []
        _ = try AppendLog(path: path) { line, _ in seen.append(String(decoding: line, as: UTF8.self)) }
        return seen
    }

    @Test func appendsAndReadsBackEveryRecordWithItsOffset() throws {
        let path = FileIO.join(folder, "log.jsonl")
        let log = try AppendLog(path: path) { _, _ in Issue.record("a new file has no lines") }
        let starts = try log.append([Array("one".utf8), Array("two".utf8)])
        #expect(starts == [0, 4])
        try log.append([Array("three".utf8)])
        try log.sync()
        #expect(log.end == 14)
        #expect(try log.read(at: 4, count: 3) == Array("two".utf8))
        #expect(try lines(path) == ["one", "two", "three"])
    }

    @Test func dropsATornFinalLineAtOpening() throws {
        let path = FileIO.join(folder, "torn.jsonl")
        try FileIO.makeDirectory(folder)
        try Data("first\nsecond\nthi".utf8).write(to: URL(fileURLWithPath: path))
        var offsets: [Int64] = []
        let log = try AppendLog(path: path) { _, offset in offsets.append(offset) }
        #expect(offsets == [0, 6])
        #expect(log.droppedTailBytes == 3)
        #expect(log.end == 13)
        try log.append([Array("third".utf8)])
        #expect(try lines(path) == ["first", "second", "third"])
    }

    @Test func linesLongerThanOneReadChunkArriveWhole() throws {
        let path = FileIO.join(folder, "long.jsonl")
        let long = String(repeating: "x", count: 3 << 20)
        let log = try AppendLog(path: path) { _, _ in }
        try log.append([Array(long.utf8), Array("short".utf8)])
        #expect(try lines(path) == [long, "short"])
    }

    @Test func aRefusedLineRefusesTheFile() throws {
        let path = FileIO.join(folder, "bad.jsonl")
        let log = try AppendLog(path: path) { _, _ in }
        try log.append([Array("good".utf8), Array("bad".utf8)])
        #expect(throws: StorageError.self) {
            _ = try AppendLog(path: path) { line, _ throws(StorageError) in
                if line.elementsEqual("bad".utf8) { throw StorageError(.damaged, path: path, errno: 0, "line 2 is bad") }
            }
        }
    }

    @Test func truncateTakesBackABatch() throws {
        let path = FileIO.join(folder, "undo.jsonl")
        let log = try AppendLog(path: path) { _, _ in }
        try log.append([Array("kept".utf8)])
        let mark = log.end
        try log.append([Array("undone".utf8)])
        try log.truncate(to: mark)
        #expect(try lines(path) == ["kept"])
    }

    @Test func readingPastTheEndIsAnErrorNotAnEmptyAnswer() throws {
        let log = try AppendLog(path: FileIO.join(folder, "short.jsonl")) { _, _ in }
        try log.append([Array("abc".utf8)])
        #expect(throws: StorageError.self) { _ = try log.read(at: 2, count: 10) }
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct AtomicFileTests {
    @Test func replacesContentsWhole() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)").path
        try FileIO.makeDirectory(folder)
        let path = FileIO.join(folder, "state.json")
        try AtomicFile.replace(path, with: Array("old".utf8))
        try AtomicFile.replace(path, with: Array("new".utf8))
        #expect(try FileIO.contents(of: path) == Array("new".utf8))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    @Test func aFailedReplaceKeepsTheOldContentsAndSaysWhy() throws {
        #expect {
            try AtomicFile.replace("/proc/switchboard-cannot-write-here", with: [1])
        } throws: { error in
            (error as? StorageError)?.code == .open
        }
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5))) struct DirectoryLockTests {
    @Test func aSecondHolderIsRefusedWithTheFirstOnesPid() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)").path
        var first: DirectoryLock? = try DirectoryLock(directory: folder)
        _ = first
        do {
            _ = try DirectoryLock(directory: folder)
            Issue.record("a second lock on the same folder was granted")
        } catch {
            #expect(error.code == .locked)
            #expect(error.description.contains("pid \(getpid())"))
        }
        first = nil
        _ = try DirectoryLock(directory: folder)  // released with its holder
    }
}
