import Foundation
import PostgresNIO
import Storage
import SwitchyardCore

/// The dashboard's reads, as `RequestLogStore+Dashboard` makes them in SQLite: keyset pages newest
/// first (a range scan of `request_log_time_id` whatever the page), and the overview in two scans.
extension PostgresRequestLogStore {
    public func page(_ filter: RequestLogFilter, before: RequestLogCursor?, limit: Int, scope: LedgerScope) async throws -> RequestLogPage {
        let limit = max(0, limit)
        var count = PostgresStatement()
        let countConditions = try Self.conditions(filter, scope: scope, &count)
        count.append(
            "SELECT count(*) FROM (SELECT 1 FROM request_log \(Self.whereClause(countConditions)) LIMIT \(RequestLogPage.countCap + 1)) matching")

        var page = PostgresStatement()
        var conditions = try Self.conditions(filter, scope: scope, &page)
        if let before {
            let time = try page.bind(before.createdAt)
            conditions.append("(created_at < \(time) OR (created_at = \(time) AND id < \(try page.text(before.id))))")
        }
        let pageLimit = try page.bind(limit + 1)
        page.append(
            "SELECT \(Self.recordColumns) FROM request_log \(Self.whereClause(conditions)) ORDER BY created_at DESC, id DESC LIMIT \(pageLimit)")

        var records = try await rows(page).map(Self.record)
        let more = records.count > limit
        if more { records.removeLast(records.count - limit) }
        let counted = try await rows(count).first.map { try $0.decode(Int.self) } ?? 0
        return RequestLogPage(
            records: records,
            next: more ? records.last.map { RequestLogCursor(createdAt: $0.createdAt.timeIntervalSince1970, id: $0.id) } : nil,
            total: min(counted, RequestLogPage.countCap), totalIsExact: counted <= RequestLogPage.countCap)
    }

    /// The overview's figures: sums per (bucket, model) in one GROUP BY, and the latencies in
    /// ascending order so each group's nearest-rank percentiles are exact, as SQLite computes them.
    public func overview(
        since: Date, until: Date, bucketSeconds: Int, filter: RequestLogFilter, scope: LedgerScope
    ) async throws -> RequestLogOverview {
        guard bucketSeconds > 0 else { throw StorageFailure(message: "The overview's bucket must be at least one second.") }
        var window = filter
        window.since = max(since, filter.since ?? since)
        window.until = min(until, filter.until ?? until)
        let start = since.timeIntervalSince1970
        let span = ((until.timeIntervalSince1970 - start) / Double(bucketSeconds)).rounded(.up)
        guard span.isFinite, let bucketCount = Int(exactly: max(0, span)), bucketCount <= 1_000_000 else {
            throw StorageFailure(message: "The overview's window holds too many buckets.")
        }

        func statement(_ select: (String) -> String) throws -> PostgresStatement {
            var statement = PostgresStatement()
            // Rows start at or after `since`, so the quotient is never negative: truncation is floor, as SQLite's CAST.
            let bucket = "trunc((created_at - \(try statement.bind(start))) / \(try statement.bind(Double(bucketSeconds))))::bigint"
            let conditions = try Self.conditions(window, scope: scope, &statement)
            statement.append(select(bucket) + " FROM request_log " + Self.whereClause(conditions))
            return statement
        }
        let model = "COALESCE(served_model, model)"
        let sums = try statement { bucket in
            """
            SELECT \(bucket) AS bucket, \(model) AS served, count(*) AS requests,
                   count(*) FILTER (WHERE status >= 400 OR error IS NOT NULL) AS errors, COALESCE(SUM(cost_usd), 0)::float8 AS cost,
                   COALESCE(SUM(saved_usd), 0)::float8 AS saved, count(*) FILTER (WHERE cache ILIKE 'hit%') AS hits,
                   COALESCE(SUM(prompt_tokens), 0)::bigint AS prompt, COALESCE(SUM(completion_tokens), 0)::bigint AS completion
            """
        }
        var sumsQuery = sums
        sumsQuery.append(" GROUP BY 1, 2")
        var latencies = try statement { bucket in "SELECT \(bucket) AS bucket, \(model) AS served, latency_ms" }
        latencies.append(" ORDER BY latency_ms")

        var perBucket = [RequestLogStats](repeating: RequestLogStats(), count: bucketCount)
        var perModel: [String: RequestLogStats] = [:]
        var totals = RequestLogStats()
        for row in try await rows(sumsQuery) {
            let column = PostgresColumns(row)
            var part = RequestLogStats()
            part.requests = try column("requests")
            part.errors = try column("errors")
            part.costUSD = try column("cost")
            part.savedUSD = try column("saved")
            part.cacheHits = try column("hits")
            part.promptTokens = try column("prompt")
            part.completionTokens = try column("completion")
            let index: Int = try column("bucket")
            if perBucket.indices.contains(index) { perBucket[index].add(part) }
            perModel[try column("served", as: String?.self) ?? "", default: RequestLogStats()].add(part)
            totals.add(part)
        }
        var bucketLatencies = [[Double]](repeating: [], count: bucketCount)
        var modelLatencies: [String: [Double]] = [:]
        var allLatencies: [Double] = []
        for row in try await rows(latencies) {
            let (index, served, latency) = try row.decode((Int, String?, Double).self)
            if bucketLatencies.indices.contains(index) { bucketLatencies[index].append(latency) }
            modelLatencies[served ?? "", default: []].append(latency)
            allLatencies.append(latency)
        }
        for index in perBucket.indices { perBucket[index].setPercentiles(sorted: bucketLatencies[index]) }
        for (name, sorted) in modelLatencies { perModel[name]?.setPercentiles(sorted: sorted) }
        totals.setPercentiles(sorted: allLatencies)
        let buckets = perBucket.enumerated().map { index, stats in
            (start: Date(timeIntervalSince1970: start + Double(index) * Double(bucketSeconds)), stats: stats)
        }
        let models = perModel.map { (model: $0.key, stats: $0.value) }
            .sorted { ($0.stats.costUSD, $0.stats.requests, $1.model) > ($1.stats.costUSD, $1.stats.requests, $0.model) }
        return RequestLogOverview(since: since, until: until, bucketSeconds: bucketSeconds, buckets: buckets, totals: totals, models: models)
    }
}
