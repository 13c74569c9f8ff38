import Foundation
import GRDB
import Synchronization
import Testing

@testable import Governance
import Storage
import SwitchyardCore

@Suite struct BudgetBookTests {
    /// 1,000 reservations of 1 cent from 1,000 tasks against a $1 hard budget: exactly 100 fit, and
    /// what they settle to never passes the budget.
    @Test func concurrentReservationsNeverPassAHardBudget() async {
        let key = GovernorAdmissionTests.key("spender", budget: Budget(usd: 1, period: .total, mode: .hard))
        let governor = Governor(configKeys: [key], persistence: nil)
        let reserved = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<1000 {
                group.addTask {
                    guard let reservation = try? await governor.reserve(key, usd: 0.01) else { return 0 }
                    await Task.yield()
                    governor.settle(reservation, actualUSD: 0.01)
                    return 1
                }
            }
            return await group.reduce(0, +)
        }
        #expect(reserved == 100)
        let account = governor.account("key:" + key.id)
        #expect(account.map { abs($0.spent - 1) < 1e-9 && $0.reserved < 1e-12 } == true)
        await #expect(throws: Governor.BudgetExceeded.self) { try await governor.reserve(key, usd: 0.0001) }
    }

    @Test func settlingBelowTheWorstCaseFreesTheDifference() throws {
        var book = BudgetBook()
        let now = Date()
        book.open("key:a", budget: Budget(usd: 1, period: .day), spent: 0, now: now)
        #expect(book.reserve(0.6, on: ["key:a"], now: now) == [.reserved])
        guard case .refused(_, _, let available) = book.reserve(0.6, on: ["key:a"], now: now).first else {
            Issue.record("a reservation past the budget must be refused")
            return
        }
        #expect(abs(available - 0.4) < 1e-12)
        book.settle(reserved: 0.6, actual: 0.1, on: ["key:a"], now: now)
        #expect(book.reserve(0.6, on: ["key:a"], now: now) == [.reserved])
        #expect(abs((book.account("key:a")?.spent ?? 0) - 0.1) < 1e-12)
    }

    @Test func aSoftBudgetLetsTheRequestThroughAndFlagsIt() {
        var book = BudgetBook()
        let now = Date()
        book.open("team:t", budget: Budget(usd: 0.5, period: .month, mode: .soft), spent: 0.45, now: now)
        #expect(book.reserve(0.1, on: ["team:t"], now: now) == [.overSoft(subject: "team:t", budget: Budget(usd: 0.5, period: .month, mode: .soft))])
        #expect(abs((book.account("team:t")?.reserved ?? 0) - 0.1) < 1e-12)
    }

    @Test func aKeyAndItsTeamReserveAllOrNone() {
        var book = BudgetBook()
        let now = Date()
        book.open("key:k", budget: Budget(usd: 10), spent: 0, now: now)
        book.open("team:t", budget: Budget(usd: 1), spent: 0.95, now: now)
        if case .refused(let subject, _, _) = book.reserve(0.1, on: ["key:k", "team:t"], now: now).first {
            #expect(subject == "team:t")
        } else {
            Issue.record("the team's budget must refuse")
        }
        #expect(book.account("key:k")?.reserved == 0)  // nothing held on the key either
    }

    @Test func aNewPeriodStartsFromNothingSpent() {
        var book = BudgetBook()
        let monday = Date(timeIntervalSince1970: 1_797_206_400)  // 2026-12-14 00:00 UTC, a Monday
        book.open("key:d", budget: Budget(usd: 1, period: .day), spent: 0, now: monday.addingTimeInterval(3600))
        #expect(book.reserve(0.9, on: ["key:d"], now: monday.addingTimeInterval(3600)) == [.reserved])
        book.settle(reserved: 0.9, actual: 0.9, on: ["key:d"], now: monday.addingTimeInterval(3600))
        #expect(book.reserve(0.2, on: ["key:d"], now: monday.addingTimeInterval(7200)).first != .reserved)
        #expect(book.reserve(0.2, on: ["key:d"], now: monday.addingTimeInterval(86_400 + 1)) == [.reserved])
        #expect(BudgetPeriod.week.start(containing: monday.addingTimeInterval(5 * 86_400)) == monday)
        #expect(BudgetPeriod.total.start(containing: monday) == Date(timeIntervalSince1970: 0))
    }
}

@Suite struct GovernanceStoreTests {
    static func temporaryDatabase() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-governance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("gateway.sqlite").path
    }

    /// Keys survive a restart as hashes only: the secret is in no byte of the database files, and a
    /// restored governor still knows the key (and that it was revoked).
    @Test func keysAreStoredAsHashesAndSurviveARestart() async throws {
        let path = try Self.temporaryDatabase()
        let store = try GovernanceStore(path: path)
        let governor = Governor(configKeys: [], persistence: store)
        _ = try await governor.createTeam(StoredTeam(name: "search", budget: Budget(usd: 5)), actor: "key_admin (admin)")
        let template = StoredKey(id: "", hash: "", prefix: "", name: "alice", team: "search", tags: ["project": "rag"])
        let (kept, keptSecret) = try await governor.createKey(template, actor: "key_admin (admin)")
        let (gone, goneSecret) = try await governor.createKey(StoredKey(id: "", hash: "", prefix: "", name: "bob"), actor: "key_admin (admin)")
        #expect(keptSecret.hasPrefix("sk-sy-") && keptSecret.count == 46)
        #expect(kept.id == Governor.keyID(hash: Governor.hash(keptSecret)))
        _ = try await governor.revokeKey(gone.id, actor: "key_admin (admin)")
        guard case .failure(.revoked) = governor.authenticate(goneSecret) else {
            Issue.record("a revoked key must be refused at once")
            return
        }

        let restored = Governor(configKeys: [], persistence: try GovernanceStore(path: path))
        try restored.load()
        guard case .success(let (key, source)) = restored.authenticate(keptSecret) else {
            Issue.record("the key must survive a restart")
            return
        }
        #expect(key.name == "alice" && key.team == "search" && key.tags == ["project": "rag"] && source == .api)
        guard case .failure(.revoked) = restored.authenticate(goneSecret) else {
            Issue.record("a revoked key stays revoked after a restart")
            return
        }
        #expect(restored.team(named: "search")?.budget == Budget(usd: 5))

        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for secret in [keptSecret, goneSecret] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds a raw key")
                #expect(bytes.range(of: Data(secret.dropFirst(6).utf8)) == nil, "\(file) holds a raw key's body")
            }
        }
    }

    @Test func anExpiredKeyIsRefused() async throws {
        let clock = Mutex(Date())
        let governor = Governor(configKeys: [], persistence: try GovernanceStore(path: ":memory:"), now: { clock.withLock { $0 } })
        var template = StoredKey(id: "", hash: "", prefix: "", name: "temp")
        template.expiresAt = clock.withLock { $0 }.addingTimeInterval(60)
        let (_, secret) = try await governor.createKey(template, actor: "test")
        guard case .success = governor.authenticate(secret) else {
            Issue.record("a key before its expiry must be accepted")
            return
        }
        clock.withLock { $0 = $0.addingTimeInterval(61) }
        guard case .failure(.expired(let name)) = governor.authenticate(secret) else {
            Issue.record("a key after its expiry must be refused")
            return
        }
        #expect(name == "temp")
    }

    /// The chain verifies; editing one field of one row in the file, deleting a row, or re-hashing an
    /// edited row without the rows after it all break it.
    @Test func theAuditChainVerifiesAndAnyEditBreaksIt() async throws {
        let path = try Self.temporaryDatabase()
        let store = try GovernanceStore(path: path)
        for index in 0..<5 {
            _ = try store.appendAudit(at: Date(), actor: "key_a (admin)", action: "key.create", target: "key_\(index)", details: ["budget": ["usd": 5.0]])
        }
        let entries = try store.auditEntries()
        #expect(entries.count == 5)
        #expect(AuditChain.verify(entries) == nil)
        #expect(entries[3].previousHash == entries[2].hash && entries[0].previousHash == AuditChain.genesis)

        let database = try DatabaseQueue(path: path)
        try await database.write { db in try db.execute(sql: "UPDATE audit_log SET actor = 'key_b (admin)' WHERE seq = 3") }
        let edited = AuditChain.verify(try GovernanceStore(path: path).auditEntries())
        #expect(edited?.sequence == 3)
        #expect(edited?.reason.contains("edited") == true)

        try await database.write { db in
            try db.execute(sql: "UPDATE audit_log SET actor = 'key_a (admin)' WHERE seq = 3")
            try db.execute(sql: "UPDATE audit_log SET details = '{\"budget\":{\"usd\":500}}' WHERE seq = 2")
        }
        #expect(AuditChain.verify(try GovernanceStore(path: path).auditEntries())?.sequence == 2)

        try await database.write { db in
            try db.execute(sql: "UPDATE audit_log SET details = ? WHERE seq = 2", arguments: [entries[1].detailsJSON])
        }
        #expect(AuditChain.verify(try GovernanceStore(path: path).auditEntries()) == nil)  // byte for byte back: intact
        try await database.write { db in try db.execute(sql: "DELETE FROM audit_log WHERE seq = 4") }
        #expect(AuditChain.verify(try GovernanceStore(path: path).auditEntries())?.sequence == 5)

        // Appending after a break still chains to the last row (verification keeps failing: no silent repair).
        let next = try GovernanceStore(path: path).appendAudit(at: Date(), actor: "x", action: "team.create", target: "t", details: [:])
        #expect(next.sequence == 6)
    }

    @Test func spendSumsTheRequestLogByKeyAndTeamSinceAPeriodStart() async throws {
        let path = try Self.temporaryDatabase()
        let log = try RequestLogStore(path: path)
        let store = try GovernanceStore(path: path)
        var records: [RequestRecord] = []
        for (index, (key, team, cost, age)) in [("key_a", "t", 0.25, 10.0), ("key_a", "t", 0.5, 100_000.0), ("key_b", "t", 1.0, 10.0), ("key_c", nil, 2.0, 10.0)].enumerated() {
            var record = RequestRecord(
                id: "r\(index)", createdAt: Date().addingTimeInterval(-age), caller: key, clientProtocol: "openai", endpoint: "chat", model: "m")
            record.keyID = key
            record.team = team
            record.costUSD = cost
            records.append(record)
        }
        let batch = records
        try await log.insert(taking: { batch })
        let since = Date().addingTimeInterval(-3600)
        #expect(abs(try store.spend(key: "key_a", team: nil, since: since) - 0.25) < 1e-12)
        #expect(abs(try store.spend(key: nil, team: "t", since: since) - 1.25) < 1e-12)
        #expect(abs(try store.spend(key: "key_a", team: nil, since: .distantPast) - 0.75) < 1e-12)
        let byTeam = try await log.spendReport(groupBy: .team, since: since, until: nil, scope: .all)
        #expect(byTeam.map(\.group) == ["", "t"] || byTeam.map(\.group) == ["t", ""])
        let scoped = try await log.spendReport(groupBy: .key, since: nil, until: nil, scope: .team("t"))
        #expect(Set(scoped.map(\.group)) == ["key_a", "key_b"])
        #expect(scoped.first { $0.group == "key_a" }?.requests == 2)
    }
}
