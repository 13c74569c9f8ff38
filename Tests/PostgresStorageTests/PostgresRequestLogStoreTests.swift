import Foundation
import Governance
import PostgresNIO
import PostgresStorage
import Storage
import SwitchyardCore
import Testing

/// The request log on PostgreSQL against the SQLite store fed the same rows: the same answers.
@Suite(
    "PostgreSQL request log", .enabled(if: PostgresTestDatabase.serverURL != nil, "needs SWITCHYARD_TEST_POSTGRES"),
    .timeLimit(.minutes(2)))
struct PostgresRequestLogStoreTests {
    static let base = 1_795_000_000.0

    /// Sixty varied rows; pairs share a time (paging must break ties by id), costs are sums of
    /// binary fractions (so totals are exact whatever the order of summation).
    static func records() -> [RequestRecord] {
        let models = ["alpha", "beta", "gamma"]
        let teams: [String?] = ["red", "blue", nil]
        let keys: [String?] = ["key_a", "key_b", "key_c", nil]
        return (0..<60).map { i in
            var record = RequestRecord(
                id: "req_" + String(1000 + i).dropFirst(), createdAt: Date(timeIntervalSince1970: base + Double(i / 2) * 4000.5),
                caller: "caller-\(i % 4)", clientProtocol: i % 2 == 0 ? "openai" : "anthropic", endpoint: "chat", model: models[i % 3],
                provider: i % 4 == 0 ? nil : ["openai", "anthropic"][i % 2], upstreamModel: "up-\(i % 3)", stream: i % 2 == 0,
                promptTokens: i * 10, completionTokens: i * 3, cachedTokens: i % 5, usageEstimated: i % 6 == 0,
                costUSD: Double(i % 5) * 0.25 + 0.125, latencyMs: Double((i * 37) % 100) + 0.5, ttftMs: i % 2 == 0 ? 12.5 : nil,
                status: i % 7 == 0 ? 502 : 200, error: i % 7 == 0 ? "upstream" : (i % 11 == 0 ? "broke mid-stream" : nil),
                cache: i % 4 == 0 ? "hit-exact" : (i % 4 == 1 ? "miss" : nil), savedUSD: i % 4 == 0 ? 0.5 : 0,
                toolCalls: i % 9 == 0 ? ["name": "search", "arguments": ["q": "x"]] : nil)
            if i % 8 == 0 {
                var trace = RouteTrace(requested: "fast", kind: "group", strategy: "cost")
                trace.attempts = [.init(deployment: "a", provider: "openai", group: "fast", retry: 0, status: 503, milliseconds: 4)]
                trace.notes = ["fell back"]
                record.route = trace
            } else {
                record.route = RouteTrace(requested: models[i % 3], kind: "model")  // not stored by either
            }
            record.servedModel = i % 5 == 0 ? nil : "served-\(i % 2)"
            record.keyID = keys[i % 4]
            record.team = teams[i % 3]
            record.user = i % 2 == 0 ? "u\(i % 3)" : nil
            record.tags = i % 3 == 0 ? nil : ["env": i % 2 == 0 ? "prod" : "dev", "source": "s\(i % 2)"]
            record.budgetFlag = i == 13 ? "soft" : nil
            record.episodeID = i % 6 == 0 ? "ep-\(i % 12)" : nil
            record.prompt = i % 2 == 0 ? "prompt \(i)" : nil
            record.variant = i % 3 == 0 ? "exp/" + (i % 2 == 0 ? "control" : "treat") : (i % 5 == 0 ? "expx/a" : nil)
            return record
        }
    }

    static func feedback() -> [Feedback] {
        func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: base + 300_000 + seconds) }
        return [
            Feedback(id: "fb_1", requestID: "req_000", episodeID: nil, metric: "helpful", value: .bool(false), createdAt: at(1)),
            Feedback(id: "fb_2", requestID: "req_000", episodeID: nil, metric: "helpful", value: .bool(true), createdAt: at(2)),
            Feedback(id: "fb_3", requestID: "req_004", episodeID: nil, metric: "helpful", value: .bool(false), createdAt: at(3)),
            Feedback(id: "fb_4", requestID: nil, episodeID: "ep-6", metric: "rating", value: .number(4), createdAt: at(4)),
            Feedback(id: "fb_5", requestID: nil, episodeID: "ep-0", metric: "helpful", value: .bool(true), createdAt: at(5)),
            Feedback(id: "fb_6", requestID: "req_009", episodeID: nil, metric: "rating", value: .number(2), comment: "meh", createdAt: at(6)),
            Feedback(id: "fb_7", requestID: "req_030", episodeID: nil, metric: "helpful", value: .bool(true), createdAt: at(6)),
        ]
    }

    /// Both stores with the same rows and feedback; the SQLite file also holds governance (for `spend`).
    static func stores() async throws -> (sqlite: RequestLogStore, governance: GovernanceStore, postgres: PostgresRequestLogStore, db: TestDatabase) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString).db").path
        let sqlite = try RequestLogStore(path: path)
        let governance = try GovernanceStore(path: path)
        let db = try await TestDatabase.make()
        let postgres = try await open { try PostgresRequestLogStore(database: db.database) }
        let records = records()
        // In three batches, as a flusher would write them.
        for batch in [records[0..<25], records[25..<26], records[26...]] {
            try await sqlite.insert { Array(batch) }
            try await postgres.insert { Array(batch) }
        }
        for item in feedback() {
            try await sqlite.insertFeedback(item)
            try await postgres.insertFeedback(item)
        }
        return (sqlite, governance, postgres, db)
    }

    static let scopes: [LedgerScope] = [.all, .team("red"), .key("key_b"), .team("nobody")]

    @Test func readsMatchSQLite() async throws {
        let (sqlite, _, postgres, db) = try await Self.stores()
        defer { Task { await db.close() } }
        #expect(try await BlockingWork.run { try postgres.count() } == 60)
        for scope in Self.scopes {
            let fromSQLite = try await sqlite.recent(limit: 100, scope: scope)
            let fromPostgres = try await postgres.recent(limit: 100, scope: scope)
            func ordered(_ records: [RequestRecord]) -> [RequestRecord] { records.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) } }
            #expect(fromPostgres == ordered(fromSQLite), "recent, \(scope)")
            #expect(fromPostgres == ordered(fromPostgres), "newest first, then id, \(scope)")
            let few = try await postgres.recent(limit: 5, scope: scope)
            #expect(few == Array(fromPostgres.prefix(5)))
        }
        #expect(try await postgres.recent(limit: 100).count == 60)
        for id in ["req_000", "req_008", "req_013", "req_059", "nope"] {
            for scope in Self.scopes {
                let expected = try await sqlite.record(id: id, scope: scope)
                #expect(try await postgres.record(id: id, scope: scope) == expected, "\(id) in \(scope)")
            }
        }
        let routed = try #require(try await postgres.record(id: "req_008"))
        #expect(routed.route?.notes == ["fell back"] && routed.toolCalls == nil && routed.tags?["env"] == "prod")
        #expect(try await postgres.record(id: "req_001")?.route == nil)  // a plain first-try answer keeps no trace
        let all = try await postgres.recent(limit: 100)
        #expect(try await postgres.feedback(for: all) == sqlite.feedback(for: all))
        #expect(try await postgres.feedback(for: all)["req_000"]?.map(\.id) == ["fb_1", "fb_2", "fb_5"])
        for episode in ["ep-0", "ep-6", "ep-7"] {
            for scope in Self.scopes {
                #expect(try await postgres.episodeExists(episode, scope: scope) == sqlite.episodeExists(episode, scope: scope))
            }
        }
    }

    @Test func pagesMatchSQLite() async throws {
        let (sqlite, _, postgres, db) = try await Self.stores()
        defer { Task { await db.close() } }
        let filters = [
            RequestLogFilter(), RequestLogFilter(model: "alpha"), RequestLogFilter(model: "served-1"), RequestLogFilter(outcome: .failed),
            RequestLogFilter(outcome: .succeeded), RequestLogFilter(outcome: .status(502)), RequestLogFilter(key: "caller-1"),
            RequestLogFilter(key: "key_a"),
            RequestLogFilter(
                team: "blue", since: Date(timeIntervalSince1970: Self.base + 8001), until: Date(timeIntervalSince1970: Self.base + 80_010)),
        ]
        var pagesRead = 0
        for filter in filters {
            for scope in Self.scopes {
                var cursor: RequestLogCursor?
                var seen = 0
                repeat {
                    let expected = try await sqlite.page(filter, before: cursor, limit: 7, scope: scope)
                    let page = try await postgres.page(filter, before: cursor, limit: 7, scope: scope)
                    #expect(page.records == expected.records, "\(filter) \(scope)")
                    #expect(page.next == expected.next && page.total == expected.total && page.totalIsExact == expected.totalIsExact)
                    seen += page.records.count
                    cursor = page.next
                    pagesRead += 1
                } while cursor != nil
                #expect(seen == (try await sqlite.page(filter, before: nil, limit: 1000, scope: scope)).total)
            }
        }
        #expect(pagesRead > filters.count * Self.scopes.count)  // some filters span several pages
    }

    @Test func spendReportsMatchSQLite() async throws {
        let (sqlite, governance, postgres, db) = try await Self.stores()
        defer { Task { await db.close() } }
        let groupings: [SpendGrouping] = [.key, .team, .model, .route, .provider, .user, .day, .tag("env"), .tag("missing")]
        let windows: [(Date?, Date?)] = [
            (nil, nil), (Date(timeIntervalSince1970: Self.base + 10_000), Date(timeIntervalSince1970: Self.base + 90_000)),
        ]
        for grouping in groupings {
            for scope in Self.scopes {
                for (since, until) in windows {
                    let expected = try await sqlite.spendReport(groupBy: grouping, since: since, until: until, scope: scope)
                    let report = try await postgres.spendReport(groupBy: grouping, since: since, until: until, scope: scope)
                    #expect(report == expected, "\(grouping) \(scope) \(String(describing: since))")
                }
            }
        }
        let byDay = try await postgres.spendReport(groupBy: .day, since: nil, until: nil, scope: .all)
        #expect(byDay.count >= 2 && byDay.allSatisfy { $0.group.hasPrefix("2026-") })
        let byKey = try await postgres.spendReport(groupBy: .key, since: nil, until: nil, scope: .all)
        #expect(byKey.first { $0.group == "key_a" }?.feedback["helpful"] == FeedbackStat(count: 3, mean: 2.0 / 3.0))

        let since = Date(timeIntervalSince1970: Self.base + 20_000)
        for (key, team) in [("key_a", nil), (nil, "red"), ("key_b", "blue"), (nil, nil), ("key_none", nil)] as [(String?, String?)] {
            let spent = try await BlockingWork.run { try postgres.spend(key: key, team: team, since: since) }
            #expect(spent == (try governance.spend(key: key, team: team, since: since)), "\(String(describing: key)) \(String(describing: team))")
            #expect(spent == (try sqlite.spend(key: key, team: team, since: since)))
        }
        #expect(try await BlockingWork.run { try postgres.spend(key: "key_a", team: nil, since: since) } > 0)
    }

    /// Retention on both stores: the same records go, in batches, and every budget's spend since a UTC midnight —
    /// before, at and after the cut-off, and since the epoch (a `total` budget) — is what it was before.
    @Test func pruningKeepsBudgetsExactAndMatchesSQLite() async throws {
        let (sqlite, governance, postgres, db) = try await Self.stores()
        defer { Task { await db.close() } }
        let day = 86_400.0
        let cutoff = Date(timeIntervalSince1970: ((Self.base / day).rounded(.down) + 1) * day)  // base + 46,400 s
        let midnights = [0, (Self.base / day).rounded(.down) * day, cutoff.timeIntervalSince1970, cutoff.timeIntervalSince1970 + day]
            .map(Date.init(timeIntervalSince1970:))
        let subjects: [(String?, String?)] = [("key_a", nil), (nil, "red"), ("key_b", "blue"), (nil, nil), (nil, "nobody")]
        func spends() async throws -> [Double] {
            var all: [Double] = []
            for since in midnights {
                for (key, team) in subjects {
                    let spent = try await BlockingWork.run { try postgres.spend(key: key, team: team, since: since) }
                    #expect(spent == (try sqlite.spend(key: key, team: team, since: since)), "\(since) \(String(describing: key))")
                    #expect(spent == (try governance.spend(key: key, team: team, since: since)), "\(since) \(String(describing: team))")
                    all.append(spent)
                }
            }
            return all
        }
        let before = try await spends()
        #expect(before.contains { $0 > 0 })
        let expectedGone = Self.records().filter { $0.createdAt < cutoff }.count
        #expect(expectedGone == 24)
        for store in [sqlite, postgres] as [any RequestLogPersistence] {
            var removed: [Int] = []
            while removed.last.map({ $0 == 5 }) ?? true { removed.append(try await store.prune(before: cutoff, limit: 5)) }
            #expect(removed == [5, 5, 5, 5, 4], "\(type(of: store))")
            #expect(try await store.prune(before: cutoff, limit: 5) == 0)
            let left = try await store.recent(limit: 100)
            #expect(left.count == 36 && left.allSatisfy { $0.createdAt >= cutoff })
        }
        #expect(try await spends() == before)
        // Nothing of the pruned days is counted twice, and later days are still read from the records.
        #expect(try await BlockingWork.run { try postgres.count() } == 36)
    }

    @Test func overviewsAndReportsMatchSQLite() async throws {
        let (sqlite, _, postgres, db) = try await Self.stores()
        defer { Task { await db.close() } }
        let since = Date(timeIntervalSince1970: Self.base - 100)
        let until = Date(timeIntervalSince1970: Self.base + 130_000)
        for filter in [RequestLogFilter(), RequestLogFilter(model: "beta"), RequestLogFilter(since: Date(timeIntervalSince1970: Self.base + 50_000))] {
            for scope in Self.scopes {
                let expected = try await sqlite.overview(since: since, until: until, bucketSeconds: 21_600, filter: filter, scope: scope)
                let overview = try await postgres.overview(since: since, until: until, bucketSeconds: 21_600, filter: filter, scope: scope)
                #expect(overview.buckets.map(\.start) == expected.buckets.map(\.start))
                #expect(overview.buckets.map(\.stats) == expected.buckets.map(\.stats), "\(filter) \(scope)")
                #expect(overview.totals == expected.totals)
                #expect(overview.models.map(\.model) == expected.models.map(\.model))
                #expect(overview.models.map(\.stats) == expected.models.map(\.stats))
            }
        }
        let whole = try await postgres.overview(since: since, until: until, bucketSeconds: 21_600)
        #expect(whole.totals.requests == 60 && whole.totals.cacheHits == 15 && whole.totals.p95LatencyMs != nil)

        let expected = try await sqlite.experimentObservations("exp")
        let observed = try await postgres.experimentObservations("exp")
        #expect(Set(observed.requests.keys) == ["control", "treat"])
        for (variant, requests) in expected.requests {
            #expect(Set(observed.requests[variant] ?? []) == Set(requests) && observed.requests[variant]?.count == requests.count)
        }
        #expect(observed.feedback.mapValues { $0.mapValues { $0.map(\.number).sorted() } }
            == expected.feedback.mapValues { $0.mapValues { $0.map(\.number).sorted() } })
        #expect(!observed.feedback.isEmpty)

        for metric in ["helpful", "rating", "absent"] {
            #expect(try await postgres.outcomeObservations(metric: metric) == sqlite.outcomeObservations(metric: metric))
        }
        #expect(try await postgres.outcomeObservations(metric: "helpful").count >= 3)
    }

    @Test func aRetriedBatchIsStoredOnce() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let store = try await open { try PostgresRequestLogStore(database: db.database) }
        let batch = Array(Self.records().prefix(10))
        try await store.insert { batch }
        try await store.insert { batch }  // the flusher sent it again: the reply was lost
        try await store.insert { batch + Array(Self.records()[10..<12]) }
        #expect(try await BlockingWork.run { try store.count() } == 12)
        #expect(store.refusedRows == 0)  // skipped as already stored, not refused one by one
        #expect(try await store.recent(limit: 100).map(\.id).sorted() == Self.records().prefix(12).map(\.id).sorted())
    }

    @Test func twoReplicasSeeEachOthersRows() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let other = TestDatabase.connect(db.url)
        defer { Task { await other.shutdown() } }
        let one = try await open { try PostgresRequestLogStore(database: db.database) }
        let two = try await open { try PostgresRequestLogStore(database: other) }  // migrations already applied: nothing to do
        let records = Self.records()
        // Interleaved in time: each replica writes every other request.
        try await one.insert { stride(from: 0, to: 20, by: 2).map { records[$0] } }
        try await two.insert { stride(from: 1, to: 20, by: 2).map { records[$0] } }
        let fromOne = try await one.recent(limit: 100)
        let fromTwo = try await two.recent(limit: 100)
        #expect(fromOne.count == 20 && fromOne == fromTwo)
        #expect(fromOne.map(\.id) == records.prefix(20).sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id))
        #expect(try await one.record(id: "req_001") != nil)
        #expect(try await two.record(id: "req_000") != nil)
        try await two.insertFeedback(Feedback(id: "fb_x", requestID: "req_002", episodeID: nil, metric: "helpful", value: .bool(true), createdAt: Date()))
        #expect(try await one.feedback(for: fromOne)["req_002"]?.map(\.id) == ["fb_x"])
        let since = Date(timeIntervalSince1970: 0)
        let costOne = try await BlockingWork.run { try one.spend(key: "key_b", team: nil, since: since) }
        let costTwo = try await BlockingWork.run { try two.spend(key: "key_b", team: nil, since: since) }
        #expect(costOne == costTwo && costOne == records.prefix(20).filter { $0.keyID == "key_b" }.reduce(0) { $0 + $1.costUSD })
    }

    @Test func batchesLandInTheOrderAsked() async throws {
        let db = try await TestDatabase.make()
        defer { Task { await db.close() } }
        let store = try await open { try PostgresRequestLogStore(database: db.database) }
        let records = Self.records()
        // Many concurrent flushes; each takes one record. When any returns, its own and every earlier take are stored.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for record in records.prefix(30) {
                group.addTask {
                    try await store.insert { [record] }
                    #expect(try await store.record(id: record.id) != nil)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await BlockingWork.run { try store.count() } == 30)
    }
}
