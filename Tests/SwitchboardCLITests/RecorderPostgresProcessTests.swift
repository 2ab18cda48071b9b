import Foundation
import LocalPostgres
import Recorder
import Routing
import TestSupport
import Testing
import Wire

/// `switchboard recorder --db postgres://…` and `switchboard comments --db postgres://…` as processes, against a
/// real `switchboard serve` and a PostgreSQL server the test starts itself.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(5))) struct RecorderPostgresProcessTests {
    @Test func recordsEveryDecisionOnceInPostgresAndCommentsReadsThemBack() throws {
        let postgres = try LocalPostgresServer()
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let serve = try ServeProcess(data: folder.appendingPathComponent("data"))
        let e = serve.endpoints
        let answered = try LoadClient.run(endpoint: e["query"]!, total: 300)
        // Killed once mid-catch-up and started again: still each comment once.
        let first = try RecorderProcess(db: postgres.url, endpoints: e)
        usleep(300_000)
        first.kill9()
        let recorder = try RecorderProcess(db: postgres.url, endpoints: e)
        let store = try openCommentStorage(postgres.url)
        let deadline = Date().addingTimeInterval(60)
        while (try store.lastSeq()) < UInt64(answered.count) && Date() < deadline { usleep(100_000) }
        let counts = try store.counts()
        #expect(answered.count == 300)
        #expect(counts.rows == 300 && counts.distinctEvents == 300 && counts.distinctSeqs == 300)
        // The first may have stored everything already: SIGTERM only once the second is up, or it dies of it.
        #expect(recorder.terminate() == 0, "\(recorder.stderr)")

        let r = try CLI.run(["comments", "--db", postgres.url])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").compactMap { try? JSONReader.parse(String($0)) }
        #expect(lines.count == 300)
        #expect(lines.map { $0["seq"] } == (1...300).map { Value.number(Double($0)) })
        #expect(Set(lines.compactMap { $0["call_id"] }).count == 300)
        serve.signal(SIGTERM)
        #expect(serve.waitForExit() == 0)
    }
}
