import Caching
import Foundation
import Synchronization
import PostgresNIO
import PostgresStorage
import SwitchyardCore
import Testing

/// The exact cache shared through PostgreSQL: what one replica stores another serves; nothing expired is.
@Suite(
    "PostgreSQL shared cache", .enabled(if: PostgresTestDatabase.serverURL != nil, "needs SWITCHYARD_TEST_POSTGRES"),
    .timeLimit(.minutes(2)))
struct PostgresCacheStoreTests {
    static func record(_ key: String, namespace: String = "t", expiresIn seconds: TimeInterval, now: Date = Date(), semantic: Bool = false) -> CacheRecord {
        CacheRecord(
            key: key, namespace: namespace, scope: semantic ? "scope-1" : nil, vector: semantic ? [0.5, -0.25, 1e-8] : nil,
            text: semantic ? "what is the capital of france" : nil, response: Data("{\"answer\":\"\(key)\"}".utf8), model: "m",
            costUSD: 0.002, promptTokens: 20, completionTokens: 3, createdAt: now, expiresAt: now.addingTimeInterval(seconds))
    }

    @Test func aRecordSavedThroughOneStoreIsFoundThroughAnother() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let other = TestDatabase.connect(db.url)
        defer { Task { await other.shutdown() } }
        let one = try await open { try PostgresCacheStore(database: db.database) }
        let two = try await open { try PostgresCacheStore(database: other) }
        let now = Date()
        try await one.save([
            Self.record("k1", expiresIn: 60, now: now), Self.record("k2", expiresIn: -1, now: now),
            Self.record("k3", namespace: "u", expiresIn: 60, now: now, semantic: true),
            Self.record("k1", expiresIn: 120, now: now),  // the same key twice in a batch: the later wins
        ])
        let found = await two.record(key: "k1", now: now)
        #expect(found?.response == Data("{\"answer\":\"k1\"}".utf8))
        #expect(found?.expiresAt.timeIntervalSince1970 == now.addingTimeInterval(120).timeIntervalSince1970)
        #expect(await two.record(key: "k2", now: now) == nil)  // expired: never served
        #expect(await two.record(key: "k1", now: now.addingTimeInterval(121)) == nil)
        #expect(await two.record(key: "nope", now: now) == nil)
        let semantic = await two.record(key: "k3", now: now)
        #expect(semantic?.vector == [0.5, -0.25, 1e-8] && semantic?.scope == "scope-1" && semantic?.text == "what is the capital of france")

        // Loading at start drops what has expired, from the table too.
        let loaded = try await BlockingWork.run { try two.load(now: now) }
        #expect(Set(loaded.map(\.key)) == ["k1", "k3"])
        let left = try await db.execute("SELECT count(*) FROM response_cache").first?.decode(Int.self)
        #expect(left == 2)

        try await two.remove(keys: ["k1"])
        #expect(await one.record(key: "k1", now: now) == nil)
        try await one.save([Self.record("k4", expiresIn: 60, now: now)])
        try await two.removeAll(namespace: "u")
        #expect(try await BlockingWork.run { try one.load(now: now) }.map(\.key) == ["k4"])
        try await one.removeAll(namespace: nil)
        #expect(try await BlockingWork.run { try two.load(now: now) }.isEmpty)
    }

    @Test func aReplicaServesAnotherReplicasAnswer() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let other = TestDatabase.connect(db.url)
        defer { Task { await other.shutdown() } }
        let clock = ManualClock()
        let first = ResponseCache(persistence: try await open { try PostgresCacheStore(database: db.database) }, now: { clock.now })
        let second = ResponseCache(persistence: try await open { try PostgresCacheStore(database: other) }, now: { clock.now })
        let request = ChatRequest(model: "m", messages: [.system("Be brief."), .user("What is the capital of France?")])
        let answer = ChatResponse(
            id: "x", created: 1, model: "up", choices: [.init(message: .assistant("Paris."), finishReason: .stop)],
            usage: Usage(promptTokens: 20, completionTokens: 3))
        let policy = CachePolicy(exact: true, ttl: .seconds(60))

        guard case .miss(let fill) = await first.lookup(request, namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("a fresh cache answered")
            return
        }
        first.store(answer, for: fill, costUSD: 0.002)
        // Not written yet: the second replica misses.
        guard case .miss = await second.lookup(request, namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("served before the fill was written")
            return
        }
        try await first.flush()
        guard case .hit(let hit) = await second.lookup(request, namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("the second replica missed the first one's answer")
            return
        }
        #expect(hit.kind == .exact && hit.response.message?.text == "Paris." && hit.savedCostUSD == 0.002 && hit.savedTokens == 23)
        #expect(second.stats().exactHits == 1 && second.stats().entries == 1)  // kept locally too
        // Another tenant's lookup never reaches it.
        if case .hit = await second.lookup(request, namespace: "other", policy: policy, directive: .normal) {
            Issue.record("cross-tenant hit through the shared table")
        }
        // Expired: neither replica serves it, from memory or from the table.
        clock.advance(61)
        let third = ResponseCache(persistence: try await open { try PostgresCacheStore(database: other) }, now: { clock.now })
        for cache in [first, second, third] {
            if case .hit = await cache.lookup(request, namespace: "t", policy: policy, directive: .normal) {
                Issue.record("an expired answer was served")
            }
        }
    }
}

/// A wall clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Mutex(Date())
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
