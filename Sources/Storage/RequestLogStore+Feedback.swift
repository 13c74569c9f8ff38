import Foundation
import GRDB
import SwitchyardCore

/// Feedback on logged requests and episodes, in the request log's database (so reports join the two),
/// and the reads built on both: feedback per spend group, per experiment variant, and the
/// prompt/model/outcome rows `route train --from-log` learns from.
///
/// Several pieces of feedback for the same target (request or episode) and metric are all kept;
/// every report counts only the newest (`latestFeedback`).
extension RequestLogStore {
    static func registerFeedbackMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("feedback-v1-request-log") { db in
            try db.alter(table: "request_log") { table in
                table.add(column: "episode_id", .text)
                table.add(column: "prompt", .text)
                table.add(column: "variant", .text)
            }
            try db.create(index: "request_log_episode", on: "request_log", columns: ["episode_id"])
            try db.create(index: "request_log_variant", on: "request_log", columns: ["variant"])
        }
        migrator.registerMigration("feedback-v1") { db in
            try db.create(table: "feedback") { table in
                table.primaryKey("id", .text)
                table.column("request_id", .text)
                table.column("episode_id", .text)
                table.column("metric", .text).notNull()
                table.column("value", .double).notNull()
                table.column("value_type", .text).notNull()  // bool | number
                table.column("comment", .text)
                table.column("created_at", .double).notNull()
                table.column("given_by", .text)  // the key's id
            }
            try db.create(index: "feedback_request", on: "feedback", columns: ["request_id", "metric"])
            try db.create(index: "feedback_episode", on: "feedback", columns: ["episode_id", "metric"])
        }
    }

    /// The newest feedback per target and metric (ties by insertion order), as a CTE named `latest`.
    /// `metricFilter` narrows it to one metric (its `?` takes the metric as the first argument).
    static func latestFeedback(metricFilter: Bool = false) -> String {
        """
        latest AS (
          SELECT id, request_id, episode_id, metric, value, value_type FROM (
            SELECT id, request_id, episode_id, metric, value, value_type,
                   ROW_NUMBER() OVER (PARTITION BY request_id, episode_id, metric ORDER BY created_at DESC, rowid DESC) AS rank
            FROM feedback \(metricFilter ? "WHERE metric = ?" : "")
          ) WHERE rank = 1
        )
        """
    }

    // MARK: Writing and reading feedback

    /// Stores one piece of feedback (a direct write: feedback is not on the request path).
    public func insertFeedback(_ feedback: Feedback) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO feedback (id, request_id, episode_id, metric, value, value_type, comment, created_at, given_by)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    feedback.id, feedback.requestID, feedback.episodeID, feedback.metric, feedback.value.number,
                    feedback.value.isBool ? "bool" : "number", feedback.comment, feedback.createdAt.timeIntervalSince1970, feedback.keyID,
                ])
        }
    }

    /// True when `scope` may see at least one request of the episode.
    public func episodeExists(_ episodeID: String, scope: LedgerScope) async throws -> Bool {
        let (filter, arguments) = Self.filter(scope)
        return try await database.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT 1 FROM request_log WHERE episode_id = ? \(filter.isEmpty ? "" : "AND " + filter) LIMIT 1",
                arguments: StatementArguments([episodeID.databaseValue] + arguments)) ?? false
        }
    }

    /// Feedback on each record and on its episode, oldest first, by request id.
    public func feedback(for records: [RequestRecord]) async throws -> [String: [Feedback]] {
        guard !records.isEmpty else { return [:] }
        return try await database.read { db in
            var byRequest: [String: [Feedback]] = [:]
            var byEpisode: [String: [Feedback]] = [:]
            // In slices, well under SQLite's limit on bound variables.
            let requestIDs = records.map(\.id)
            let episodeIDs = Array(Set(records.compactMap(\.episodeID)))
            for slice in stride(from: 0, to: requestIDs.count, by: 400).map({ requestIDs[$0..<min($0 + 400, requestIDs.count)] }) {
                let marks = Array(repeating: "?", count: slice.count).joined(separator: ",")
                for row in try Row.fetchAll(
                    db, sql: "SELECT * FROM feedback WHERE request_id IN (\(marks)) ORDER BY created_at, rowid",
                    arguments: StatementArguments(Array(slice)))
                {
                    let feedback = Self.feedback(row)
                    byRequest[feedback.requestID ?? "", default: []].append(feedback)
                }
            }
            for slice in stride(from: 0, to: episodeIDs.count, by: 400).map({ episodeIDs[$0..<min($0 + 400, episodeIDs.count)] }) {
                let marks = Array(repeating: "?", count: slice.count).joined(separator: ",")
                for row in try Row.fetchAll(
                    db, sql: "SELECT * FROM feedback WHERE episode_id IN (\(marks)) AND request_id IS NULL ORDER BY created_at, rowid",
                    arguments: StatementArguments(Array(slice)))
                {
                    let feedback = Self.feedback(row)
                    byEpisode[feedback.episodeID ?? "", default: []].append(feedback)
                }
            }
            var result: [String: [Feedback]] = [:]
            for record in records {
                let all = (byRequest[record.id] ?? []) + (record.episodeID.flatMap { byEpisode[$0] } ?? [])
                if !all.isEmpty { result[record.id] = all.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) } }
            }
            return result
        }
    }

    /// Every piece of feedback, a page at a time in the order it was given (`switchyard migrate`). Blocks.
    public func exportFeedback(after rowID: Int64 = 0, limit: Int) throws -> ExportPage<Feedback> {
        try database.read { db in
            ExportPage.make(try Row.fetchAll(db, sql: ExportPage<Feedback>.sql("feedback"), arguments: [rowID, limit]), limit: limit, Self.feedback)
        }
    }

    static func feedback(_ row: Row) -> Feedback {
        let number: Double = row["value"]
        let value: FeedbackValue = (row["value_type"] as String?) == "bool" ? .bool(number != 0) : .number(number)
        return Feedback(
            id: row["id"], requestID: row["request_id"], episodeID: row["episode_id"], metric: row["metric"], value: value,
            comment: row["comment"], createdAt: Date(timeIntervalSince1970: row["created_at"]), keyID: row["given_by"])
    }

    // MARK: Reports

    /// Per group of the spend report (the request-log rows `conditions` select, grouped by `column`)
    /// and per metric: how many pieces of feedback touch the group and their mean. Feedback on a
    /// request counts in its request's group; feedback on an episode in every group one of the
    /// episode's requests is in, once each.
    static func feedbackStats(_ db: Database, column: String, conditions: [String], arguments: [DatabaseValue]) throws
        -> [String: [String: FeedbackStat]]
    {
        let sql = """
            WITH \(latestFeedback()),
            r AS (SELECT id, episode_id, \(column) AS grp FROM request_log \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")))
            SELECT grp, metric, COUNT(*) AS n, AVG(value) AS mean FROM (
              SELECT r.grp AS grp, f.id, f.metric, f.value FROM r JOIN latest f ON f.request_id = r.id
              UNION
              SELECT r.grp AS grp, f.id, f.metric, f.value FROM r JOIN latest f ON f.episode_id = r.episode_id
            ) GROUP BY grp, metric
            """
        var stats: [String: [String: FeedbackStat]] = [:]
        for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)) {
            let group = (row["grp"] as String?) ?? ""
            stats[group, default: [:]][row["metric"]] = FeedbackStat(count: row["n"], mean: row["mean"])
        }
        return stats
    }

    /// The logged requests of experiment `name` (their `variant` is `name/…`) and their feedback.
    public func experimentObservations(_ name: String) async throws -> ExperimentObservations {
        // Names hold no "/" (checked at load), and "0" follows "/" in ASCII: one index range scan.
        let bounds: [DatabaseValue] = [(name + "/").databaseValue, (name + "0").databaseValue]
        let prefix = name + "/"
        return try await database.read { db in
            var observations = ExperimentObservations()
            for row in try Row.fetchAll(
                db, sql: "SELECT variant, cost_usd, latency_ms, status, error FROM request_log WHERE variant >= ? AND variant < ?",
                arguments: StatementArguments(bounds))
            {
                let variant = String((row["variant"] as String).dropFirst(prefix.count))
                let status: Int = row["status"]
                let error: String? = row["error"]
                observations.requests[variant, default: []].append(
                    .init(costUSD: row["cost_usd"], latencyMs: row["latency_ms"], failed: status >= 400 || error != nil))
            }
            let sql = """
                WITH \(Self.latestFeedback()),
                r AS (SELECT id, episode_id, variant FROM request_log WHERE variant >= ? AND variant < ?)
                SELECT r.variant AS variant, f.id, f.metric AS metric, f.value AS value, f.value_type AS value_type
                  FROM r JOIN latest f ON f.request_id = r.id
                UNION
                SELECT r.variant, f.id, f.metric, f.value, f.value_type FROM r JOIN latest f ON f.episode_id = r.episode_id
                """
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(bounds)) {
                let variant = String((row["variant"] as String).dropFirst(prefix.count))
                let number: Double = row["value"]
                let value: FeedbackValue = (row["value_type"] as String?) == "bool" ? .bool(number != 0) : .number(number)
                observations.feedback[variant, default: [:]][row["metric"], default: []].append(value)
            }
            return observations
        }
    }

    // MARK: Training data

    /// Logged requests with a stored prompt and the newest feedback on `metric` — their own, else
    /// their episode's — as (prompt, the model that answered, the value scaled to [0, 1]) rows.
    /// Failed requests are left out (there was no answer to judge). Values are scaled over all of
    /// the metric's newest values (see `FeedbackScale`). Oldest first.
    public func outcomeObservations(metric: String) async throws -> [OutcomeObservation] {
        try await database.read { db in
            let all = try Row.fetchAll(
                db, sql: "WITH \(Self.latestFeedback(metricFilter: true)) SELECT value, value_type FROM latest", arguments: [metric])
            let scale = FeedbackScale(all.map { row in
                let number: Double = row["value"]
                return (row["value_type"] as String?) == "bool" ? FeedbackValue.bool(number != 0) : .number(number)
            })
            let columns = "r.id AS id, r.prompt AS prompt, COALESCE(r.served_model, r.model) AS model, r.created_at AS created_at, "
                + "r.tags AS tags, r.team AS team, r.episode_id AS episode_id, f.value AS value, f.value_type AS value_type"
            let answered = "r.prompt IS NOT NULL AND r.status < 400 AND r.error IS NULL"
            let sql = """
                WITH \(Self.latestFeedback(metricFilter: true))
                SELECT \(columns) FROM request_log r JOIN latest f ON f.request_id = r.id WHERE \(answered)
                UNION ALL
                SELECT \(columns) FROM request_log r JOIN latest f ON f.episode_id = r.episode_id
                  WHERE \(answered) AND NOT EXISTS (SELECT 1 FROM latest g WHERE g.request_id = r.id)
                ORDER BY created_at, id
                """
            return try Row.fetchAll(db, sql: sql, arguments: [metric]).map { row in
                let number: Double = row["value"]
                let value: FeedbackValue = (row["value_type"] as String?) == "bool" ? .bool(number != 0) : .number(number)
                let tags = (row["tags"] as String?).flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
                let source = tags?["source"] ?? (row["team"] as String?) ?? (row["episode_id"] as String?).map { "episode:" + $0 } ?? "log"
                return OutcomeObservation(
                    requestID: row["id"], prompt: row["prompt"], model: row["model"], value: scale.scaled(value),
                    createdAt: Date(timeIntervalSince1970: row["created_at"]), source: source)
            }
        }
    }
}
