import Foundation
import PostgresNIO
import PostgresStorage
import Storage
import SwitchyardCore
import Testing

/// Values PostgreSQL treats differently from SQLite: NUL characters (TEXT cannot hold them), very
/// long text, and a row the server refuses. Never a crash, never the rest of the batch lost.
@Suite(
    "PostgreSQL hostile rows", .enabled(if: PostgresTestDatabase.serverURL != nil, "needs SWITCHYARD_TEST_POSTGRES"),
    .timeLimit(.minutes(2)))
struct PostgresHostileRowsTests {
    static func record(_ index: Int, caller: String = "caller") -> RequestRecord {
        var record = RequestRecord(
            id: "req_\(index)", createdAt: Date(timeIntervalSince1970: 1_795_000_000 + Double(index)), caller: caller,
            clientProtocol: "openai", endpoint: "chat", model: "m", costUSD: 0.25, latencyMs: 10)
        record.keyID = "key_a"
        return record
    }

    @Test func nulCharactersAreReplacedAndLongTextIsKept() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let store = try await open { try PostgresRequestLogStore(database: db.database) }
        let long = String(repeating: "a", count: 1 << 20) + "é"
        var hostile = Self.record(1, caller: "bad\u{0}caller")
        hostile.prompt = long
        hostile.error = "upstream said \u{0}\u{0} then stopped"
        hostile.tags = ["env\u{0}": "pr\u{0}od"]
        hostile.toolCalls = ["arguments": "a\u{0}b"]
        hostile.episodeID = "ep\u{0}1"
        var batch = (2..<6).map { Self.record($0) }
        batch.insert(hostile, at: 2)
        try await store.insert { [batch] in batch }
        #expect(try await BlockingWork.run { try store.count() } == 5)
        let stored = try #require(try await store.record(id: "req_1"))
        #expect(stored.caller == "bad\u{FFFD}caller")
        #expect(stored.error == "upstream said \u{FFFD}\u{FFFD} then stopped")
        #expect(stored.prompt == long)
        #expect(stored.tags == ["env\u{FFFD}": "pr\u{FFFD}od"])
        #expect(stored.toolCalls == ["arguments": "a\u{0}b"])  // JSON text escapes it: kept exactly
        #expect(try await store.episodeExists("ep\u{0}1"))  // looked up the way it was stored
        let report = try await store.spendReport(groupBy: .tag("env\u{0}"), since: nil, until: nil, scope: .all)
        #expect(report.first { $0.group == "pr\u{FFFD}od" }?.requests == 1)
        // The filter values a client sends are cleaned the same way: no error, same rows.
        let page = try await store.page(RequestLogFilter(key: "bad\u{0}caller"), before: nil, limit: 10)
        #expect(page.records.map(\.id) == ["req_1"])
    }

    @Test func aRowTheServerRefusesCostsOnlyItself() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let store = try await open { try PostgresRequestLogStore(database: db.database) }
        // Something the server refuses whatever the client does: here a constraint added for the test.
        _ = try await db.execute("ALTER TABLE request_log ADD CONSTRAINT no_poison CHECK (caller <> 'poison')")
        var batch = (0..<9).map { Self.record($0) }
        batch[5] = Self.record(5, caller: "poison")
        try await store.insert { [batch] in batch }
        #expect(try await BlockingWork.run { try store.count() } == 8)
        #expect(store.refusedRows == 1)
        #expect(try await store.record(id: "req_5") == nil)
        #expect(try await store.record(id: "req_8") != nil)
        // The next batch is not held back by the refusal.
        try await store.insert { [Self.record(20)] }
        #expect(try await BlockingWork.run { try store.count() } == 9)
    }

    @Test func hostileSpendAndOverviewInputsAreErrorsNotTraps() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let store = try await open { try PostgresRequestLogStore(database: db.database) }
        try await store.insert { [Self.record(1)] }
        await #expect(throws: StorageFailure.self) {
            _ = try await store.overview(since: Date(timeIntervalSince1970: 0), until: Date(timeIntervalSince1970: 1e300), bucketSeconds: 1)
        }
        await #expect(throws: StorageFailure.self) {
            _ = try await store.overview(since: Date(), until: Date(), bucketSeconds: 0)
        }
        #expect(try await store.recent(limit: -5).count == 1)  // no limit, as in SQLite
        let far = try await BlockingWork.run { try store.spend(key: "key_a", team: nil, since: Date(timeIntervalSince1970: -1e300)) }
        #expect(far == 0.25)
    }
}
