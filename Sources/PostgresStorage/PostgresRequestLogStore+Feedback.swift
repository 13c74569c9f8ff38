import Foundation
import PostgresNIO
import Storage
import SwitchyardCore

/// Feedback beside the log in PostgreSQL, and the reports that join the two, as
/// `RequestLogStore+Feedback` makes them in SQLite. Every piece of feedback is kept; reports count
/// only the newest per target and metric (ties by insertion order: the `seq` column, SQLite's rowid).
extension PostgresRequestLogStore {
    /// The newest feedback per target and metric, as a CTE named `latest`; `metric` narrows it to one.
    static func latestFeedback(metric: String? = nil) -> String {
        """
        latest AS (
          SELECT id, request_id, episode_id, metric, value, value_type FROM (
            SELECT id, request_id, episode_id, metric, value, value_type,
                   row_number() OVER (PARTITION BY request_id, episode_id, metric ORDER BY created_at DESC, seq DESC) AS newest
            FROM feedback \(metric.map { "WHERE metric = \($0)" } ?? "")
          ) ranked WHERE newest = 1
        )
        """
    }

    public func insertFeedback(_ feedback: Feedback) async throws {
        var statement = PostgresStatement()
        let values = [
            try statement.text(feedback.id), try statement.text(feedback.requestID), try statement.text(feedback.episodeID),
            try statement.text(feedback.metric), try statement.bind(feedback.value.number),
            try statement.text(feedback.value.isBool ? "bool" : "number"), try statement.text(feedback.comment),
            try statement.bind(feedback.createdAt.timeIntervalSince1970), try statement.text(feedback.keyID),
        ]
        statement.append(
            "INSERT INTO feedback (id, request_id, episode_id, metric, value, value_type, comment, created_at, given_by) VALUES ("
                + values.joined(separator: ", ") + ")")
        _ = try await rows(statement)
    }

    /// Stores pieces of feedback given elsewhere (`switchyard migrate`), in their order; one whose id is
    /// already stored is left alone. Returns how many were stored.
    public func importFeedback(_ items: [Feedback]) async throws -> Int {
        var stored = 0
        var start = 0
        while start < items.count {
            let batch = items[start..<min(items.count, start + 500)]
            start += batch.count
            var statement = PostgresStatement(
                "INSERT INTO feedback (id, request_id, episode_id, metric, value, value_type, comment, created_at, given_by) VALUES ")
            for (position, feedback) in batch.enumerated() {
                let values = [
                    try statement.text(feedback.id), try statement.text(feedback.requestID), try statement.text(feedback.episodeID),
                    try statement.text(feedback.metric), try statement.bind(feedback.value.number),
                    try statement.text(feedback.value.isBool ? "bool" : "number"), try statement.text(feedback.comment),
                    try statement.bind(feedback.createdAt.timeIntervalSince1970), try statement.text(feedback.keyID),
                ]
                statement.append((position == 0 ? "(" : ", (") + values.joined(separator: ", ") + ")")
            }
            statement.append(" ON CONFLICT (id) DO NOTHING RETURNING 1")
            stored += try await rows(statement).count
        }
        return stored
    }

    public func episodeExists(_ episodeID: String, scope: LedgerScope) async throws -> Bool {
        var statement = PostgresStatement()
        var conditions = ["episode_id = \(try statement.text(episodeID))"]
        if let condition = try Self.scopeCondition(scope, &statement) { conditions.append(condition) }
        statement.append("SELECT 1 FROM request_log \(Self.whereClause(conditions)) LIMIT 1")
        return try await !rows(statement).isEmpty
    }

    public func feedback(for records: [RequestRecord]) async throws -> [String: [Feedback]] {
        guard !records.isEmpty else { return [:] }
        var byRequest = PostgresStatement()
        byRequest.append(
            "SELECT * FROM feedback WHERE request_id = ANY(\(try byRequest.bind(records.map { PostgresText.storable($0.id) }))) "
                + "ORDER BY created_at, seq")
        var byEpisode = PostgresStatement()
        let episodes = Array(Set(records.compactMap(\.episodeID).map(PostgresText.storable)))
        byEpisode.append(
            "SELECT * FROM feedback WHERE episode_id = ANY(\(try byEpisode.bind(episodes))) AND request_id IS NULL ORDER BY created_at, seq")
        var requestFeedback: [String: [Feedback]] = [:]
        for row in try await rows(byRequest) {
            let feedback = try Self.feedback(row)
            requestFeedback[feedback.requestID ?? "", default: []].append(feedback)
        }
        var episodeFeedback: [String: [Feedback]] = [:]
        if !episodes.isEmpty {
            for row in try await rows(byEpisode) {
                let feedback = try Self.feedback(row)
                episodeFeedback[feedback.episodeID ?? "", default: []].append(feedback)
            }
        }
        var result: [String: [Feedback]] = [:]
        for record in records {
            let all = (requestFeedback[record.id] ?? []) + (record.episodeID.flatMap { episodeFeedback[$0] } ?? [])
            if !all.isEmpty { result[record.id] = all.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) } }
        }
        return result
    }

    static func feedback(_ row: PostgresRow) throws -> Feedback {
        let column = PostgresColumns(row)
        return Feedback(
            id: try column("id"), requestID: try column("request_id"), episodeID: try column("episode_id"), metric: try column("metric"),
            value: try value(column), comment: try column("comment"), createdAt: try column.date("created_at"), keyID: try column("given_by"))
    }

    static func value(_ column: PostgresColumns) throws -> FeedbackValue {
        let number: Double = try column("value")
        return try column("value_type", as: String.self) == "bool" ? .bool(number != 0) : .number(number)
    }

    // MARK: Reports

    /// Per spend group and metric: how many pieces of feedback touch the group and their mean (see
    /// `RequestLogStore.feedbackStats`).
    func feedbackStats(groupBy: SpendGrouping, filter: RequestLogFilter, scope: LedgerScope) async throws -> [String: [String: FeedbackStat]] {
        var statement = PostgresStatement()
        let column = try Self.groupColumn(groupBy, &statement)
        let conditions = try Self.conditions(filter, scope: scope, &statement)
        statement.append(
            """
            WITH \(Self.latestFeedback()),
            r AS (SELECT id, episode_id, \(column) AS grp FROM request_log \(Self.whereClause(conditions)))
            SELECT grp, metric, count(*) AS n, avg(value)::float8 AS mean FROM (
              SELECT r.grp AS grp, f.id, f.metric, f.value FROM r JOIN latest f ON f.request_id = r.id
              UNION
              SELECT r.grp AS grp, f.id, f.metric, f.value FROM r JOIN latest f ON f.episode_id = r.episode_id
            ) touched GROUP BY grp, metric
            """)
        var stats: [String: [String: FeedbackStat]] = [:]
        for row in try await rows(statement) {
            let (group, metric, count, mean) = try row.decode((String?, String, Int, Double).self)
            stats[group ?? "", default: [:]][metric] = FeedbackStat(count: count, mean: mean)
        }
        return stats
    }

    public func experimentObservations(_ name: String) async throws -> ExperimentObservations {
        // Names hold no "/" (checked at load), and "0" follows "/" in bytes: one index range scan.
        let prefix = name + "/"
        func bounds(_ statement: inout PostgresStatement) throws -> String {
            "variant >= \(try statement.text(prefix)) AND variant < \(try statement.text(name + "0"))"
        }
        var requests = PostgresStatement()
        requests.append("SELECT variant, cost_usd, latency_ms, status, error FROM request_log WHERE \(try bounds(&requests))")
        var feedback = PostgresStatement()
        feedback.append(
            """
            WITH \(Self.latestFeedback()),
            r AS (SELECT id, episode_id, variant FROM request_log WHERE \(try bounds(&feedback)))
            SELECT r.variant AS variant, f.id, f.metric AS metric, f.value AS value, f.value_type AS value_type
              FROM r JOIN latest f ON f.request_id = r.id
            UNION
            SELECT r.variant, f.id, f.metric, f.value, f.value_type FROM r JOIN latest f ON f.episode_id = r.episode_id
            """)
        var observations = ExperimentObservations()
        for row in try await rows(requests) {
            let (variant, cost, latency, status, error) = try row.decode((String, Double, Double, Int, String?).self)
            observations.requests[String(variant.dropFirst(prefix.count)), default: []].append(
                .init(costUSD: cost, latencyMs: latency, failed: status >= 400 || error != nil))
        }
        for row in try await rows(feedback) {
            let column = PostgresColumns(row)
            let variant = String(try column("variant", as: String.self).dropFirst(prefix.count))
            observations.feedback[variant, default: [:]][try column("metric", as: String.self), default: []].append(try Self.value(column))
        }
        return observations
    }

    public func outcomeObservations(metric: String) async throws -> [OutcomeObservation] {
        var all = PostgresStatement()
        all.append("WITH \(Self.latestFeedback(metric: try all.text(metric))) SELECT value, value_type FROM latest")
        let scale = FeedbackScale(try await rows(all).map { try Self.value(PostgresColumns($0)) })

        var statement = PostgresStatement()
        let latest = Self.latestFeedback(metric: try statement.text(metric))
        let columns = "r.id AS id, r.prompt AS prompt, COALESCE(r.served_model, r.model) AS model, r.created_at AS created_at, "
            + "r.tags::text AS tags, r.team AS team, r.episode_id AS episode_id, f.value AS value, f.value_type AS value_type"
        let answered = "r.prompt IS NOT NULL AND r.status < 400 AND r.error IS NULL"
        statement.append(
            """
            WITH \(latest)
            SELECT \(columns) FROM request_log r JOIN latest f ON f.request_id = r.id WHERE \(answered)
            UNION ALL
            SELECT \(columns) FROM request_log r JOIN latest f ON f.episode_id = r.episode_id
              WHERE \(answered) AND NOT EXISTS (SELECT 1 FROM latest g WHERE g.request_id = r.id)
            ORDER BY created_at, id
            """)
        return try await rows(statement).map { row in
            let column = PostgresColumns(row)
            let tags = try column("tags", as: String?.self).flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
            let team = try column("team", as: String?.self)
            let episode = try column("episode_id", as: String?.self)
            let source = tags?["source"] ?? team ?? episode.map { "episode:" + $0 } ?? "log"
            return OutcomeObservation(
                requestID: try column("id"), prompt: try column("prompt"), model: try column("model"), value: scale.scaled(try Self.value(column)),
                createdAt: try column.date("created_at"), source: source)
        }
    }
}
