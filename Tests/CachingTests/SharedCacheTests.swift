import Foundation
import Synchronization
import Testing

@testable import Caching
import SwitchyardCore

/// A store shared by gateways, in memory, counting the lookups that reach it.
final class SharedMemoryPersistence: SharedCachePersistence, Sendable {
    let base = MemoryPersistence()
    private let lookups = Atomic<Int>(0)
    var lookupCount: Int { lookups.load(ordering: .relaxed) }
    func save(_ batch: [CacheRecord]) throws { try base.save(batch) }
    func remove(keys: [String]) throws { try base.remove(keys: keys) }
    func removeAll(namespace: String?) throws { try base.removeAll(namespace: namespace) }
    func load(now: Date) throws -> [CacheRecord] { try base.load(now: now) }
    func record(key: String, now: Date) async -> CacheRecord? {
        lookups.add(1, ordering: .relaxed)
        return (try? base.load(now: now))?.first { $0.key == key }
    }
}

/// The exact cache across gateways: a local miss asks the shared store once, a hit there is kept locally.
@Suite("Shared exact cache")
struct SharedCacheTests {
    let tests = ResponseCacheTests()

    @Test func aLocalMissIsServedFromTheSharedStoreOnceThenFromMemory() async throws {
        let clock = TestClock()
        let shared = SharedMemoryPersistence()
        let first = ResponseCache(persistence: shared, now: { clock.now })
        let second = ResponseCache(persistence: shared, now: { clock.now })
        let policy = CachePolicy(exact: true, ttl: .seconds(60))
        guard case .miss(let fill) = await first.lookup(tests.request(), namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("a fresh cache answered")
            return
        }
        #expect(shared.lookupCount == 1)  // the local miss asked the shared store
        first.store(tests.answer(), for: fill, costUSD: 0.002)
        try await first.flush()
        guard case .hit(let hit) = await second.lookup(tests.request(), namespace: "t", policy: policy, directive: .normal) else {
            Issue.record("the other gateway's answer was not served")
            return
        }
        #expect(hit.kind == .exact && hit.response.message?.text == "Paris." && hit.savedTokens == 23)
        #expect(shared.lookupCount == 2)
        if case .hit = await second.lookup(tests.request(), namespace: "t", policy: policy, directive: .normal) {} else {
            Issue.record("the shared answer was not kept locally")
        }
        #expect(shared.lookupCount == 2)  // the second hit was local
        #expect(second.stats().exactHits == 2 && second.stats().misses == 0)
        // Semantic-only or bypassed lookups never ask it.
        _ = await second.lookup(tests.request("other"), namespace: "t", policy: CachePolicy(exact: false, semantic: .init()), directive: .normal)
        _ = await second.lookup(tests.request("other"), namespace: "t", policy: policy, directive: .noCache)
        #expect(shared.lookupCount == 2)
        clock.advance(61)
        if case .hit = await second.lookup(tests.request(), namespace: "t", policy: policy, directive: .normal) {
            Issue.record("an expired answer was served")
        }
    }

    @Test func evictionsDoNotDeleteFromASharedStore() async throws {
        let shared = SharedMemoryPersistence()
        let small = ResponseCache(capacityBytes: 600, persistence: shared)
        let policy = CachePolicy(exact: true, ttl: .seconds(60))
        for index in 0..<6 {
            guard case .miss(let fill) = await small.lookup(tests.request("question \(index)"), namespace: "t", policy: policy, directive: .normal)
            else { continue }
            small.store(tests.answer(), for: fill, costUSD: 0)
            try await small.flush()
        }
        #expect(small.stats().evictions > 0)
        #expect(try shared.load(now: Date()).count == 6)  // other gateways may still serve what this one evicted
        // A store that is not shared still follows this gateway's memory.
        let local = MemoryPersistence()
        let alone = ResponseCache(capacityBytes: 600, persistence: local)
        for index in 0..<6 {
            guard case .miss(let fill) = await alone.lookup(tests.request("question \(index)"), namespace: "t", policy: policy, directive: .normal)
            else { continue }
            alone.store(tests.answer(), for: fill, costUSD: 0)
            try await alone.flush()
        }
        #expect(try local.load(now: Date()).count < 6)
    }
}
