import Foundation
import GRDB
import SwitchyardCore

/// The reads behind the dashboard: the log a page at a time with filters (keyset paging, newest first,
/// so page 100 costs what page 1 does), and the overview's figures per time bucket and per model,
/// percentiles included, computed in SQLite so only a few rows per bucket leave the database.
extension RequestLogStore {
    static func registerDashboardMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("dashboard-v1-log-order") { db in
            // The page order is (created_at, id): with both in one index, a page is a range scan.
            try db.create(index: "request_log_time_id", on: "request_log", columns: ["created_at", "id"])
        }
    }

    /// One page of the rows `scope` may see that match `filter`, newest first, starting after `before`.
    public func page(
        _ filter: RequestLogFilter, before: RequestLogCursor?, limit: Int, scope: LedgerScope = .all
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
    public func overview(
        since: Date, until: Date, bucketSeconds: Int, filter: RequestLogFilter = .init(), scope: LedgerScope = .all
    ) async throws -> RequestLogOverview {
        var window = filter
        window.since = max(since, filter.since ?? since)
        window.until = min(until, filter.until ?? until)
        let (conditions, arguments) = Self.conditions(window, scope: scope)
        let start = since.timeIntervalSince1970
        let bucketCount = Int(((until.timeIntervalSince1970 - start) / Double(bucketSeconds)).rounded(.up))
        return try await database.read { db in
            let perBucket = try Self.stats(
                db, group: "CAST((created_at - \(start)) / \(bucketSeconds) AS INTEGER)", conditions: conditions, arguments: arguments)
            let totals = try Self.stats(db, group: "0", conditions: conditions, arguments: arguments)
            let perModel = try Self.stats(db, group: "COALESCE(served_model, model)", conditions: conditions, arguments: arguments)
            var byIndex: [Int: RequestLogStats] = [:]
            for (key, stats) in perBucket { if let index = Int.fromDatabaseValue(key) { byIndex[index] = stats } }
            let buckets = (0..<max(0, bucketCount)).map { index in
                (start: Date(timeIntervalSince1970: start + Double(index * bucketSeconds)), stats: byIndex[index] ?? RequestLogStats())
            }
            let models = perModel.compactMap { key, stats in String.fromDatabaseValue(key).map { (model: $0, stats: stats) } }
                .sorted { ($0.stats.costUSD, $0.stats.requests, $1.model) > ($1.stats.costUSD, $1.stats.requests, $0.model) }
            return RequestLogOverview(
                since: since, until: until, bucketSeconds: bucketSeconds, buckets: buckets,
                totals: totals.first?.1 ?? RequestLogStats(), models: models)
        }
    }

    /// The figures per value of `group` (an SQL expression this file writes, never client text), with
    /// nearest-rank p50/p95 latency from window functions: two rows per group leave SQLite, not every latency.
    private static func stats(
        _ db: Database, group: String, conditions: [String], arguments: [DatabaseValue]
    ) throws -> [(DatabaseValue, RequestLogStats)] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                WITH w AS (
                    SELECT \(group) AS grp, latency_ms, cost_usd, saved_usd, prompt_tokens, completion_tokens,
                           (status >= 400 OR error IS NOT NULL) AS failed, (cache LIKE 'hit%') AS hit
                    FROM request_log \(whereClause(conditions))
                ), ranked AS (
                    SELECT *, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY latency_ms) AS rn, COUNT(*) OVER (PARTITION BY grp) AS n FROM w
                )
                SELECT grp, COUNT(*) AS requests, COALESCE(SUM(failed), 0) AS errors, COALESCE(SUM(cost_usd), 0) AS cost,
                       COALESCE(SUM(saved_usd), 0) AS saved, COALESCE(SUM(hit), 0) AS hits,
                       COALESCE(SUM(prompt_tokens), 0) AS prompt, COALESCE(SUM(completion_tokens), 0) AS completion,
                       MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN latency_ms END) AS p50,
                       MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN latency_ms END) AS p95
                FROM ranked GROUP BY grp
                """,
            arguments: StatementArguments(arguments))
        return rows.map { row in
            var stats = RequestLogStats()
            stats.requests = row["requests"]
            stats.errors = row["errors"]
            stats.costUSD = row["cost"]
            stats.savedUSD = row["saved"]
            stats.cacheHits = row["hits"]
            stats.promptTokens = row["prompt"]
            stats.completionTokens = row["completion"]
            stats.p50LatencyMs = row["p50"]
            stats.p95LatencyMs = row["p95"]
            return (row["grp"] as DatabaseValue, stats)
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
