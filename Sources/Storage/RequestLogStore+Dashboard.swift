import Foundation
import GRDB
import SwitchyardCore

/// The reads behind the dashboard: the log a page at a time with filters (keyset paging, newest first,
/// so page 100 costs what page 1 does), and the overview's figures per time bucket and per model,
/// percentiles included, in two scans of the window.
extension RequestLogStore {
    static func registerDashboardMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("dashboard-v1-log-order") { db in
            // The page order is (created_at, id): with both in one index, a page is a range scan.
            try db.create(index: "request_log_time_id", on: "request_log", columns: ["created_at", "id"])
        }
    }

    /// One page of the rows `scope` may see that match `filter`, newest first, starting after `before`.
    public func page(
        _ filter: RequestLogFilter, before: RequestLogCursor?, limit: Int, scope: LedgerScope
    ) async throws -> RequestLogPage {
        var (conditions, arguments) = Self.conditions(filter, scope: scope)
        let countSQL = """
            SELECT COUNT(*) FROM (SELECT 1 FROM request_log \(Self.whereClause(conditions)) LIMIT \(RequestLogPage.countCap + 1))
            """
        let countArguments = arguments
        if let before {
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            arguments += [before.createdAt.databaseValue, before.createdAt.databaseValue, before.id.databaseValue]
        }
        let pageSQL = "SELECT * FROM request_log \(Self.whereClause(conditions)) ORDER BY created_at DESC, id DESC LIMIT ?"
        let pageArguments = arguments + [(limit + 1).databaseValue]
        return try await database.read { db in
            var records = try Row.fetchAll(db, sql: pageSQL, arguments: StatementArguments(pageArguments)).map(Self.record)
            let more = records.count > limit
            if more { records.removeLast(records.count - limit) }
            let counted = try Int.fetchOne(db, sql: countSQL, arguments: StatementArguments(countArguments)) ?? 0
            return RequestLogPage(
                records: records,
                next: more ? records.last.map { RequestLogCursor(createdAt: $0.createdAt.timeIntervalSince1970, id: $0.id) } : nil,
                total: min(counted, RequestLogPage.countCap), totalIsExact: counted <= RequestLogPage.countCap)
        }
    }

    /// Requests, errors, latency percentiles, spend and cache savings from `since` to `until` in buckets
    /// of `bucketSeconds` (all present, empty ones too), in total, and per model that answered.
    ///
    /// Two scans of the window, whatever the number of buckets and models: sums per (bucket, model) in
    /// one GROUP BY, added up here per bucket, per model and in total; and the latencies in ascending
    /// order, so that each group's share of them arrives sorted and its nearest-rank p50 and p95 are
    /// exact. (SQLite's window functions did the same in three sorts, about four times slower.)
    public func overview(
        since: Date, until: Date, bucketSeconds: Int, filter: RequestLogFilter, scope: LedgerScope
    ) async throws -> RequestLogOverview {
        var window = filter
        window.since = max(since, filter.since ?? since)
        window.until = min(until, filter.until ?? until)
        let (conditions, arguments) = Self.conditions(window, scope: scope)
        let start = since.timeIntervalSince1970
        let bucketCount = max(0, Int(((until.timeIntervalSince1970 - start) / Double(bucketSeconds)).rounded(.up)))
        // Expressions this file writes from values it checked (a finite time, a positive whole number).
        let bucket = "CAST((created_at - \(start)) / \(bucketSeconds) AS INTEGER)"
        let model = "COALESCE(served_model, model)"
        let sumsSQL = """
            SELECT \(bucket) AS bucket, \(model) AS served, COUNT(*) AS requests,
                   COALESCE(SUM(status >= 400 OR error IS NOT NULL), 0) AS errors, COALESCE(SUM(cost_usd), 0) AS cost,
                   COALESCE(SUM(saved_usd), 0) AS saved, COALESCE(SUM(cache LIKE 'hit%'), 0) AS hits,
                   COALESCE(SUM(prompt_tokens), 0) AS prompt, COALESCE(SUM(completion_tokens), 0) AS completion
            FROM request_log \(Self.whereClause(conditions)) GROUP BY bucket, served
            """
        let latencySQL = "SELECT \(bucket), \(model), latency_ms FROM request_log \(Self.whereClause(conditions)) ORDER BY latency_ms"
        return try await database.read { db in
            var perBucket = [RequestLogStats](repeating: RequestLogStats(), count: bucketCount)
            var perModel: [String: RequestLogStats] = [:]
            var totals = RequestLogStats()
            let sums = try Row.fetchCursor(db, sql: sumsSQL, arguments: StatementArguments(arguments))
            while let row = try sums.next() {
                var part = RequestLogStats()
                part.requests = row["requests"]
                part.errors = row["errors"]
                part.costUSD = row["cost"]
                part.savedUSD = row["saved"]
                part.cacheHits = row["hits"]
                part.promptTokens = row["prompt"]
                part.completionTokens = row["completion"]
                let index: Int = row["bucket"]
                if perBucket.indices.contains(index) { perBucket[index].add(part) }
                perModel[row["served"] ?? "", default: RequestLogStats()].add(part)
                totals.add(part)
            }
            var bucketLatencies = [[Double]](repeating: [], count: bucketCount)
            var modelLatencies: [String: [Double]] = [:]
            var allLatencies: [Double] = []
            let latencies = try Row.fetchCursor(db, sql: latencySQL, arguments: StatementArguments(arguments))
            while let row = try latencies.next() {
                let index: Int = row[0]
                let latency: Double = row[2]
                if bucketLatencies.indices.contains(index) { bucketLatencies[index].append(latency) }
                modelLatencies[row[1] ?? "", default: []].append(latency)
                allLatencies.append(latency)
            }
            for index in perBucket.indices { perBucket[index].setPercentiles(sorted: bucketLatencies[index]) }
            for (name, sorted) in modelLatencies { perModel[name]?.setPercentiles(sorted: sorted) }
            totals.setPercentiles(sorted: allLatencies)
            let buckets = perBucket.enumerated().map { index, stats in
                (start: Date(timeIntervalSince1970: start + Double(index * bucketSeconds)), stats: stats)
            }
            let models = perModel.map { (model: $0.key, stats: $0.value) }
                .sorted { ($0.stats.costUSD, $0.stats.requests, $1.model) > ($1.stats.costUSD, $1.stats.requests, $0.model) }
            return RequestLogOverview(
                since: since, until: until, bucketSeconds: bucketSeconds, buckets: buckets, totals: totals, models: models)
        }
    }

    /// The scope's condition and the filter's, each value an argument.
    static func conditions(_ filter: RequestLogFilter, scope: LedgerScope) -> ([String], [DatabaseValue]) {
        let (scopeCondition, scopeArguments) = Self.filter(scope)
        var conditions = scopeCondition.isEmpty ? [] : [scopeCondition]
        var arguments = scopeArguments
        if let model = filter.model {
            conditions.append("(model = ? OR served_model = ?)")
            arguments += [model.databaseValue, model.databaseValue]
        }
        switch filter.outcome {
        case .succeeded: conditions.append("(status < 400 AND error IS NULL)")
        case .failed: conditions.append("(status >= 400 OR error IS NOT NULL)")
        case .status(let status):
            conditions.append("status = ?")
            arguments.append(status.databaseValue)
        case nil: break
        }
        if let key = filter.key {
            conditions.append("(key_id = ? OR caller = ?)")
            arguments += [key.databaseValue, key.databaseValue]
        }
        if let team = filter.team {
            conditions.append("team = ?")
            arguments.append(team.databaseValue)
        }
        if let since = filter.since {
            conditions.append("created_at >= ?")
            arguments.append(since.timeIntervalSince1970.databaseValue)
        }
        if let until = filter.until {
            conditions.append("created_at < ?")
            arguments.append(until.timeIntervalSince1970.databaseValue)
        }
        return (conditions, arguments)
    }

    private static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }
}

extension RequestLogStats {
    /// Adds another group's counts and sums (not its percentiles).
    package mutating func add(_ other: RequestLogStats) {
        requests += other.requests
        errors += other.errors
        costUSD += other.costUSD
        savedUSD += other.savedUSD
        cacheHits += other.cacheHits
        promptTokens += other.promptTokens
        completionTokens += other.completionTokens
    }

    /// Nearest-rank p50 and p95 of latencies given in ascending order.
    package mutating func setPercentiles(sorted latencies: [Double]) {
        guard !latencies.isEmpty else { return }
        let count = latencies.count
        p50LatencyMs = latencies[(count * 50 + 99) / 100 - 1]
        p95LatencyMs = latencies[(count * 95 + 99) / 100 - 1]
    }
}
