import Foundation
import Governance
import Logging
import PostgresStorage
import SwitchyardCore
import Testing

/// Three "replicas" — each its own pool, store, shared limits and Governor — on one database.
struct Replica {
    let database: PostgresDatabase
    let store: PostgresGovernanceStore
    let limits: PostgresSharedLimits
    let governor: Governor
    let services: Task<Void, Never>

    static func start(_ url: PostgresURL, name: String, keys: [StoredKey], staleAfter: Double = 15, sync: Bool = false) async throws -> Replica {
        let database = PostgresDatabase(url: url, maximumConnections: 8, logger: Logger(label: name))
        database.start()
        let store = try await BlockingWork.run { try PostgresGovernanceStore(database: database, spend: { _, _, _ in 0 }) }
        let limits = try await BlockingWork.run { try PostgresSharedLimits(database: database, replicaID: name, heartbeat: .milliseconds(200), staleAfterSeconds: staleAfter) }
        let governor = Governor(configKeys: keys, persistence: store)
        try await BlockingWork.run { try governor.load() }
        governor.share(limits, replicasAlive: { limits.replicasAlive })
        let syncService = GovernanceSyncService(store: store, governor: governor, resync: .seconds(30), logger: Logger(label: name))
        let services = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await limits.run() }
                if sync { group.addTask { try? await syncService.run() } }
            }
        }
        return Replica(database: database, store: store, limits: limits, governor: governor, services: services)
    }

    func stop() async {
        services.cancel()
        await services.value
        await database.shutdown()
    }
}

@Suite("Budgets, rate limits and keys shared by replicas on PostgreSQL", .enabled(if: PostgresTestDatabase.serverURL != nil, "needs SWITCHYARD_TEST_POSTGRES"))
struct SharedLimitsTests {
    static func key(_ name: String, rpm: Int? = nil, budget: Budget? = nil) -> StoredKey {
        Governor.configKey(
            secret: "sk-test-\(name)", name: name, role: .member, models: nil, tools: nil, groups: [], collectionWrite: nil, budget: budget,
            rpm: rpm, tpm: nil, tags: [:])
    }

    @Test func sixtyConcurrentRequestsAcrossThreeReplicasAgainstThirtyPerMinuteAdmitExactlyThirty() async throws {
        let url = try await PostgresTestDatabase.create()
        let key = Self.key("limited", rpm: 30)
        var replicas: [Replica] = []
        for index in 0..<3 { replicas.append(try await Replica.start(url, name: "r\(index)", keys: [key])) }
        let governors = replicas.map(\.governor)
        let admitted = await withTaskGroup(of: Int.self) { group in
            for index in 0..<60 {
                group.addTask { (try? await governors[index % 3].admit(key, tokens: 10)) != nil ? 1 : 0 }
            }
            return await group.reduce(0, +)
        }
        #expect(admitted == 30)
        // The refusal carries OpenAI's numbers: nothing remaining, a retry-after of about two seconds (60 s / 30).
        do {
            _ = try await governors[1].admit(key, tokens: 10)
            Issue.record("a 61st request was admitted")
        } catch let limited as Governor.RateLimited {
            #expect(limited.status.remaining == 0)
            #expect(limited.retryAfterSeconds > 0 && limited.retryAfterSeconds <= 2.1)
        }
        for replica in replicas { await replica.stop() }
    }

    @Test func fortyConcurrentRequestsAcrossThreeReplicasNeverSpendMoreThanAHardBudget() async throws {
        let url = try await PostgresTestDatabase.create()
        let key = Self.key("spender", budget: Budget(usd: 0.12, period: .total, mode: .hard))
        var replicas: [Replica] = []
        for index in 0..<3 { replicas.append(try await Replica.start(url, name: "b\(index)", keys: [key])) }
        let governors = replicas.map(\.governor)
        // Each request reserves a worst case of 1.5 cents and really costs 1 cent.
        let served = await withTaskGroup(of: Int.self) { group in
            for index in 0..<40 {
                group.addTask {
                    guard let reservation = try? await governors[index % 3].reserve(key, usd: 0.015) else { return 0 }
                    try? await Task.sleep(for: .milliseconds(20))
                    governors[index % 3].settle(reservation, actualUSD: 0.01)
                    return 1
                }
            }
            return await group.reduce(0, +)
        }
        #expect(served >= 8 && served <= 12)
        // Settlements are written off the request path: wait for them, then the shared account.
        let period = Date(timeIntervalSince1970: 0)
        var account = try await replicas[0].limits.account(subject: "key:" + key.id, periodStart: period)
        for _ in 0..<50 where account.held > 0 {
            try await Task.sleep(for: .milliseconds(100))
            account = try await replicas[0].limits.account(subject: "key:" + key.id, periodStart: period)
        }
        #expect(account.held == 0)
        #expect(abs(account.spent - Double(served) * 0.01) < 1e-9)
        #expect(account.spent <= 0.12 + 1e-9)
        // Now more requests, one at a time, until refused: the total stays within the budget.
        var more = 0
        while more < 20, let reservation = try? await governors[more % 3].reserve(key, usd: 0.01) {
            governors[more % 3].settle(reservation, actualUSD: 0.01)
            more += 1
        }
        #expect(Double(served + more) * 0.01 <= 0.12 + 1e-9)
        for replica in replicas { await replica.stop() }
    }

    @Test func theHoldsOfAReplicaThatDiedStopCountingOnceItsHeartbeatIsStale() async throws {
        let url = try await PostgresTestDatabase.create()
        let key = Self.key("orphan", budget: Budget(usd: 1, period: .total, mode: .hard))
        let doomed = try await Replica.start(url, name: "doomed", keys: [key], staleAfter: 2)
        let survivor = try await Replica.start(url, name: "survivor", keys: [key], staleAfter: 2)
        _ = try await doomed.governor.reserve(key, usd: 0.9)
        // The doomed replica's hold counts while it beats.
        await #expect(throws: Governor.BudgetExceeded.self) { try await survivor.governor.reserve(key, usd: 0.5) }
        await doomed.stop()  // no settlement, no more heartbeats: as kill -9 leaves it
        try await Task.sleep(for: .milliseconds(2600))
        let reservation = try await survivor.governor.reserve(key, usd: 0.5)
        survivor.governor.settle(reservation, actualUSD: 0.5)
        await survivor.stop()
    }

    @Test func aKeyRevokedThroughOneReplicaIsRefusedByTheOthersWithinASecond() async throws {
        let url = try await PostgresTestDatabase.create()
        let admin = Self.key("admin")
        var replicas: [Replica] = []
        for index in 0..<3 { replicas.append(try await Replica.start(url, name: "k\(index)", keys: [admin], sync: true)) }
        try await Task.sleep(for: .milliseconds(300))  // listeners up
        let (created, secret) = try await replicas[0].governor.createKey(
            StoredKey(id: "", hash: "", prefix: "", name: "temp", rpm: 5), actor: "test")
        // Created through replica 0: the others know it within a second.
        let known = ContinuousClock.now
        while replicas.dropFirst().contains(where: { (try? $0.governor.authenticate(secret).get()) == nil }), ContinuousClock.now - known < .seconds(3) {
            try await Task.sleep(for: .milliseconds(20))
        }
        for replica in replicas { #expect((try? replica.governor.authenticate(secret).get())?.0.id == created.id) }
        _ = try await replicas[0].governor.revokeKey(created.id, actor: "test")
        let revokedAt = ContinuousClock.now
        var elapsed = Duration.zero
        while replicas.dropFirst().contains(where: { (try? $0.governor.authenticate(secret).get()) != nil }) {
            elapsed = ContinuousClock.now - revokedAt
            if elapsed > .seconds(3) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(elapsed < .seconds(1))
        for replica in replicas {
            guard case .failure(.revoked) = replica.governor.authenticate(secret) else {
                Issue.record("replica still accepts a revoked key")
                continue
            }
        }
        for replica in replicas { await replica.stop() }
    }

    @Test func auditEntriesAppendedByTwoReplicasAtOnceFormOneUnbrokenChain() async throws {
        let url = try await PostgresTestDatabase.create()
        let a = try await Replica.start(url, name: "a1", keys: [])
        let b = try await Replica.start(url, name: "a2", keys: [])
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let store = index.isMultiple(of: 2) ? a.store : b.store
                group.addTask {
                    _ = try? await BlockingWork.run { try store.appendAudit(at: Date(), actor: "t", action: "key.create", target: "k\(index)", details: ["i": .int(Int64(index))]) }
                }
            }
        }
        let entries = try await BlockingWork.run { try a.store.auditEntries() }
        #expect(entries.count == 40)
        #expect(entries.map(\.sequence) == Array(1...40))
        #expect(AuditChain.verify(entries) == nil)
        await a.stop()
        await b.stop()
    }
}
