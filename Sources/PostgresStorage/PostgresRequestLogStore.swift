import Foundation
import Logging
import PostgresNIO
import Storage
import SwitchyardCore
import Synchronization

/// The request log in PostgreSQL, shared by every replica: each writes its own requests in batches,
/// each reads everyone's. Gives the answers `RequestLogStore` (SQLite) gives for the same rows.
///
/// Times are the request's own `created_at` as Unix seconds in `DOUBLE PRECISION`, exactly the
/// `Double` SQLite keeps, so pages and cursors order by it, then by id, the same on every replica
/// (and a cursor's time compares equal to the row it came from). Text columns use the "C"
/// collation: ids, variants and groups order by their bytes, as SQLite's do.
public final class PostgresRequestLogStore: RequestLogPersistence {
    let database: PostgresDatabase
    let logger: Logger
    /// Batches are written one at a time, in the order `insert` was called.
    private let writes = SerialGate()
    private let refused = Atomic<Int>(0)

    /// Rows per INSERT statement at most (33 binds each: far under the protocol's 65 535), and the
    /// text per statement, so a batch of long prompts goes in several statements of bounded size.
    static let rowsPerStatement = 500
    static let bytesPerStatement = 16 << 20
    /// Attempts at a statement when the connection fails (the rows' ids make a retry harmless).
    static let attempts = 3
    /// How long one attempt may take before it counts as a lost connection.
    static let statementDeadline: Duration = .seconds(10)

    /// Applies the log's migrations (blocking: call it off the event loops, e.g. in `BlockingWork.run`).
    public init(database: PostgresDatabase) throws {
        self.database = database
        self.logger = database.logger
        try database.migrate(store: "request_log", Self.migrations)
    }

    /// Rows the server refused even alone (so not stored); the rest of their batch was.
    public var refusedRows: Int { refused.load(ordering: .relaxed) }

    /// One statement per migration (the extended protocol takes one at a time); append, never edit.
    static let migrations = [
        """
        CREATE TABLE request_log (
            id TEXT COLLATE "C" PRIMARY KEY,
            created_at DOUBLE PRECISION NOT NULL,
            caller TEXT COLLATE "C" NOT NULL,
            protocol TEXT COLLATE "C" NOT NULL,
            endpoint TEXT COLLATE "C" NOT NULL,
            model TEXT COLLATE "C" NOT NULL,
            provider TEXT COLLATE "C",
            upstream_model TEXT COLLATE "C",
            stream BOOLEAN NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            cached_tokens BIGINT NOT NULL,
            usage_estimated BOOLEAN NOT NULL,
            cost_usd DOUBLE PRECISION NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            ttft_ms DOUBLE PRECISION,
            status BIGINT NOT NULL,
            error TEXT COLLATE "C",
            route TEXT,
            cache TEXT COLLATE "C",
            saved_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
            tool_calls TEXT,
            retrieval TEXT,
            key_id TEXT COLLATE "C",
            team TEXT COLLATE "C",
            "user" TEXT COLLATE "C",
            tags JSONB,
            budget_flag TEXT COLLATE "C",
            served_model TEXT COLLATE "C",
            guardrail TEXT,
            episode_id TEXT COLLATE "C",
            prompt TEXT,
            variant TEXT COLLATE "C"
        )
        """,
        // The page order (newest first, then id): a page is a range scan of this index.
        "CREATE INDEX request_log_time_id ON request_log (created_at, id)",
        // Budgets and scoped reads: a key's or a team's rows since a time.
        "CREATE INDEX request_log_key_time ON request_log (key_id, created_at)",
        "CREATE INDEX request_log_team_time ON request_log (team, created_at)",
        "CREATE INDEX request_log_episode ON request_log (episode_id) WHERE episode_id IS NOT NULL",
        "CREATE INDEX request_log_variant ON request_log (variant) WHERE variant IS NOT NULL",
        """
        CREATE TABLE feedback (
            id TEXT COLLATE "C" PRIMARY KEY,
            seq BIGINT GENERATED ALWAYS AS IDENTITY,
            request_id TEXT COLLATE "C",
            episode_id TEXT COLLATE "C",
            metric TEXT COLLATE "C" NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            value_type TEXT COLLATE "C" NOT NULL,
            comment TEXT,
            created_at DOUBLE PRECISION NOT NULL,
            given_by TEXT COLLATE "C"
        )
        """,
        "CREATE INDEX feedback_request ON feedback (request_id, metric)",
        "CREATE INDEX feedback_episode ON feedback (episode_id, metric)",
        // Retention: the spend of pruned records per UTC day, key and team (budgets stay exact).
        """
        CREATE TABLE request_log_rollup (
            day DOUBLE PRECISION NOT NULL,
            key_id TEXT COLLATE "C",
            team TEXT COLLATE "C",
            requests BIGINT NOT NULL,
            cost_usd DOUBLE PRECISION NOT NULL
        )
        """,
        "CREATE INDEX request_log_rollup_key_day ON request_log_rollup (key_id, day)",
        "CREATE INDEX request_log_rollup_team_day ON request_log_rollup (team, day)",
    ]

    // MARK: Writing

    public func insert(taking take: @escaping @Sendable () -> [RequestRecord]) async throws {
        await writes.enter()
        defer { writes.leave() }
        let records = take()
        guard !records.isEmpty else { return }
        let rows = records.map(LogRow.init)
        do {
            for run in rows.runs(count: Self.rowsPerStatement, bytes: Self.bytesPerStatement, size: \.bytes) {
                try await insert(run)
            }
        } catch {
            throw StorageFailure(error)
        }
    }

    /// Inserts `rows` in one statement. When the server refuses it (not a lost connection), the
    /// halves are tried apart, down to the one row it refuses, which is dropped and counted: one
    /// bad row never costs the others theirs.
    private func insert(_ rows: ArraySlice<LogRow>) async throws {
        do {
            try await withRetries { client in
                _ = try await client.query(try Self.insertStatement(rows).query, logger: self.logger).collect()
            }
        } catch where !PostgresDatabase.isConnectionError(error) {
            guard rows.count > 1 else {
                refused.add(1, ordering: .relaxed)
                logger.error(
                    "PostgreSQL refused a request log row; the rest of its batch is stored",
                    metadata: ["switchyard.request_id": "\(String(rows.first?.id.prefix(64) ?? ""))", "error": "\(PostgresDatabase.describe(error))"])
                return
            }
            let middle = rows.startIndex + rows.count / 2
            try await insert(rows[rows.startIndex..<middle])
            try await insert(rows[middle..<rows.endIndex])
        }
    }

    /// Runs `body`, again after a pause when the connection failed (at most `attempts` times).
    /// Errors are thrown as they came, so the caller can tell a refusal from a lost connection.
    func withRetries(_ body: @escaping @Sendable (PostgresClient) async throws -> Void) async throws {
        var attempt = 1
        while true {
            do {
                // Bounded: while the server is down the pool waits for a connection without end, and the
                // log's flushes, which run one after another, would all wait behind this one.
                let client = database.client
                try await withDeadline(Self.statementDeadline) { try await body(client) }
                database.markReachable()
                return
            } catch where PostgresDatabase.isConnectionError(error) {
                database.markUnreachable(error)
                guard attempt < Self.attempts, !Task.isCancelled else { throw error }
                try await Task.sleep(for: .milliseconds(200 * attempt * attempt))
                attempt += 1
            }
        }
    }

    static func insertStatement(_ rows: ArraySlice<LogRow>) throws -> PostgresStatement {
        var statement = PostgresStatement(
            """
            INSERT INTO request_log
            (id, created_at, caller, protocol, endpoint, model, provider, upstream_model, stream, prompt_tokens,
             completion_tokens, cached_tokens, usage_estimated, cost_usd, latency_ms, ttft_ms, status, error, route,
             cache, saved_usd, tool_calls, retrieval, key_id, team, "user", tags, budget_flag, served_model, guardrail,
             episode_id, prompt, variant)
            VALUES
            """)
        for (index, row) in rows.enumerated() {
            let record = row.record
            let values = [
                try statement.text(record.id), try statement.bind(record.createdAt.timeIntervalSince1970),
                try statement.text(record.caller), try statement.text(record.clientProtocol), try statement.text(record.endpoint),
                try statement.text(record.model), try statement.text(record.provider), try statement.text(record.upstreamModel),
                try statement.bind(record.stream), try statement.bind(record.promptTokens), try statement.bind(record.completionTokens),
                try statement.bind(record.cachedTokens), try statement.bind(record.usageEstimated), try statement.bind(record.costUSD),
                try statement.bind(record.latencyMs), try statement.bind(record.ttftMs, as: "float8"), try statement.bind(record.status),
                try statement.text(record.error), try statement.text(row.route), try statement.text(record.cache),
                try statement.bind(record.savedUSD), try statement.text(row.toolCalls), try statement.text(row.retrieval),
                try statement.text(record.keyID), try statement.text(record.team), try statement.text(record.user),
                try statement.bind(row.tags, as: "jsonb"), try statement.text(record.budgetFlag), try statement.text(record.servedModel),
                try statement.text(row.guardrail), try statement.text(record.episodeID), try statement.text(record.prompt),
                try statement.text(record.variant),
            ]
            statement.append((index == 0 ? "\n(" : ",\n(") + values.joined(separator: ", ") + ")")
        }
        // A batch sent again (a retry after a lost reply) stores nothing twice.
        statement.append("\nON CONFLICT (id) DO NOTHING")
        return statement
    }

    /// A record with its JSON columns built, as SQLite's store builds them.
    struct LogRow: Sendable {
        var record: RequestRecord
        var route: String?
        var toolCalls: String?
        var retrieval: String?
        var tags: String?
        var guardrail: String?
        /// Text this row sends, roughly (for sizing statements).
        var bytes: Int
        var id: String { record.id }

        init(_ record: RequestRecord) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            func json<Value: Encodable>(_ value: Value?) -> String? {
                value.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) }
            }
            self.record = record
            // A plain model that answered at the first try has nothing to explain: keep the log lean.
            if let trace = record.route, trace.kind != "model" || trace.attempts.count > 1 || !trace.notes.isEmpty { route = json(trace) }
            toolCalls = record.toolCalls?.jsonString()
            retrieval = json(record.retrieval)
            tags = record.tags.flatMap(PostgresText.storableJSON)
            guardrail = json(record.guardrail)
            let texts: [String?] = [
                record.id, record.caller, record.model, record.provider, record.upstreamModel, record.error, record.cache, record.keyID,
                record.team, record.user, record.budgetFlag, record.servedModel, record.episodeID, record.prompt, record.variant,
                route, toolCalls, retrieval, tags, guardrail,
            ]
            bytes = 256 + texts.reduce(0) { $0 + ($1?.utf8.count ?? 0) }
        }
    }

    // MARK: Reading

    /// Every column of a row, in the form `record(_:)` reads.
    static let recordColumns = """
        id, created_at, caller, protocol, endpoint, model, provider, upstream_model, stream, prompt_tokens, completion_tokens,
        cached_tokens, usage_estimated, cost_usd, latency_ms, ttft_ms, status, error, route, cache, saved_usd, tool_calls, retrieval,
        key_id, team, "user", tags::text AS tags, budget_flag, served_model, guardrail, episode_id, prompt, variant
        """

    public func recent(limit: Int, scope: LedgerScope) async throws -> [RequestRecord] {
        var statement = PostgresStatement()
        let condition = try Self.scopeCondition(scope, &statement)
        // A negative limit is no limit, as in SQLite.
        let limit = try statement.bind(limit < 0 ? nil : limit, as: "bigint")
        statement.append(
            "SELECT \(Self.recordColumns) FROM request_log \(Self.whereClause(condition.map { [$0] } ?? [])) "
                + "ORDER BY created_at DESC, id DESC LIMIT \(limit)")
        return try await rows(statement).map(Self.record)
    }

    public func record(id: String, scope: LedgerScope) async throws -> RequestRecord? {
        var statement = PostgresStatement()
        var conditions = ["id = \(try statement.text(id))"]
        if let condition = try Self.scopeCondition(scope, &statement) { conditions.append(condition) }
        statement.append("SELECT \(Self.recordColumns) FROM request_log \(Self.whereClause(conditions))")
        return try await rows(statement).first.map(Self.record)
    }

    public func spendReport(groupBy: SpendGrouping, since: Date?, until: Date?, scope: LedgerScope) async throws -> [SpendRow] {
        var statement = PostgresStatement()
        let column = try Self.groupColumn(groupBy, &statement)
        let conditions = try Self.conditions(RequestLogFilter(since: since, until: until), scope: scope, &statement)
        statement.append(
            """
            SELECT grp, name, requests, cost, prompt, completion FROM (
              SELECT \(column) AS grp, MAX(caller) AS name, COUNT(*) AS requests, COALESCE(SUM(cost_usd), 0)::float8 AS cost,
                     COALESCE(SUM(prompt_tokens), 0)::bigint AS prompt, COALESCE(SUM(completion_tokens), 0)::bigint AS completion
              FROM request_log \(Self.whereClause(conditions)) GROUP BY 1
            ) totals
            ORDER BY cost DESC, grp COLLATE "C" ASC NULLS FIRST
            """)
        var report = try await rows(statement).map { row in
            let columns = PostgresColumns(row)
            return SpendRow(
                group: try columns("grp", as: String?.self) ?? "", name: groupBy == .key ? try columns("name", as: String?.self) : nil,
                costUSD: try columns("cost"), requests: try columns("requests"), promptTokens: try columns("prompt"),
                completionTokens: try columns("completion"))
        }
        let feedback = try await feedbackStats(groupBy: groupBy, filter: RequestLogFilter(since: since, until: until), scope: scope)
        for index in report.indices { report[index].feedback = feedback[report[index].group] ?? [:] }
        return report
    }

    public func count() throws -> Int {
        try database.blocking { [logger] client in
            try await client.query("SELECT count(*) FROM request_log", logger: logger).decode(Int.self).all().first ?? 0
        }
    }

    /// Cost since `since` of a key, a team, or both, as `GovernanceStore.spend` sums it in SQLite, pruned days
    /// included (their roll-ups): what budgets are checked against. An index range scan of each table.
    public func spend(key: String?, team: String?, since: Date) throws -> Double {
        var statement = PostgresStatement()
        let time = try statement.bind(since.timeIntervalSince1970)
        var conditions: [String] = []
        if let key { conditions.append("key_id = \(try statement.text(key))") }
        if let team { conditions.append("team = \(try statement.text(team))") }
        let logged = Self.whereClause(["created_at >= \(time)"] + conditions)
        let rolledUp = Self.whereClause(["day >= \(time)"] + conditions)
        statement.append(
            "SELECT (SELECT COALESCE(SUM(cost_usd), 0) FROM request_log \(logged))::float8"
                + " + (SELECT COALESCE(SUM(cost_usd), 0) FROM request_log_rollup \(rolledUp))::float8")
        let query = statement.query
        return try database.blocking { [logger] client in
            try await client.query(query, logger: logger).decode(Double.self).all().first ?? 0
        }
    }

    /// Deletes up to `limit` of the oldest records created before `cutoff` (and, on the last batch, feedback
    /// given before it), rolling their spend into `request_log_rollup` in the same statement. Replicas pruning
    /// at once each delete a row at most once (a deleted row is skipped by the other's `DELETE`), so no spend
    /// is rolled up twice.
    public func prune(before cutoff: Date, limit: Int) async throws -> Int {
        let limit = max(1, limit)
        var statement = PostgresStatement()
        let time = try statement.bind(cutoff.timeIntervalSince1970)
        let count = try statement.bind(Int64(limit))
        statement.append(
            """
            WITH doomed AS (
                DELETE FROM request_log WHERE id IN (
                    SELECT id FROM request_log WHERE created_at < \(time) ORDER BY created_at, id LIMIT \(count))
                RETURNING created_at, key_id, team, cost_usd),
            rolled AS (
                INSERT INTO request_log_rollup (day, key_id, team, requests, cost_usd)
                SELECT floor(created_at / 86400) * 86400, key_id, team, count(*), SUM(cost_usd) FROM doomed GROUP BY 1, 2, 3)
            SELECT count(*)::int8 FROM doomed
            """)
        let query = statement.query
        let removed = try await database.run { [logger] client in
            try await client.query(query, logger: logger).decode(Int64.self).all().first ?? 0
        }
        if removed < limit {
            var feedback = PostgresStatement()
            let before = try feedback.bind(cutoff.timeIntervalSince1970)
            feedback.append("DELETE FROM feedback WHERE created_at < \(before)")
            let query = feedback.query
            _ = try await database.run { [logger] client in try await client.query(query, logger: logger).collect() }
        }
        return Int(removed)
    }

    /// Stores the roll-ups of a SQLite log (`switchyard migrate`), unless this log already holds some: roll-ups
    /// have no ids, so a second copy would count their spend twice. Returns how many rows were stored.
    public func importRollups(_ rollups: [SpendRollup]) async throws -> Int {
        guard !rollups.isEmpty else { return 0 }
        let present = try await rows(PostgresStatement("SELECT 1 FROM request_log_rollup LIMIT 1"))
        guard present.isEmpty else { return 0 }
        var stored = 0
        for start in stride(from: 0, to: rollups.count, by: 500) {
            var statement = PostgresStatement("INSERT INTO request_log_rollup (day, key_id, team, requests, cost_usd) VALUES ")
            for (position, rollup) in rollups[start..<min(rollups.count, start + 500)].enumerated() {
                let values = [
                    try statement.bind(rollup.day.timeIntervalSince1970), try statement.text(rollup.keyID), try statement.text(rollup.team),
                    try statement.bind(Int64(rollup.requests)), try statement.bind(rollup.costUSD),
                ]
                statement.append((position == 0 ? "(" : ", (") + values.joined(separator: ", ") + ")")
            }
            statement.append(" RETURNING 1")
            stored += try await rows(statement).count
        }
        return stored
    }

    /// Runs a read and returns its rows (errors without SQL or binds).
    func rows(_ statement: PostgresStatement) async throws -> [PostgresRow] {
        let query = statement.query
        return try await database.run { [logger] client in try await client.query(query, logger: logger).collect() }
    }

    // MARK: Conditions

    static func scopeCondition(_ scope: LedgerScope, _ statement: inout PostgresStatement) throws -> String? {
        switch scope {
        case .all: return nil
        case .team(let team): return "team = \(try statement.text(team))"
        case .key(let key): return "key_id = \(try statement.text(key))"
        }
    }

    /// The scope's condition and the filter's, each value a bind (as `RequestLogStore.conditions`).
    static func conditions(_ filter: RequestLogFilter, scope: LedgerScope, _ statement: inout PostgresStatement) throws -> [String] {
        var conditions: [String] = []
        if let condition = try scopeCondition(scope, &statement) { conditions.append(condition) }
        if let model = filter.model {
            let bind = try statement.text(model)
            conditions.append("(model = \(bind) OR served_model = \(bind))")
        }
        switch filter.outcome {
        case .succeeded: conditions.append("(status < 400 AND error IS NULL)")
        case .failed: conditions.append("(status >= 400 OR error IS NOT NULL)")
        case .status(let status): conditions.append("status = \(try statement.bind(status))")
        case nil: break
        }
        if let key = filter.key {
            let bind = try statement.text(key)
            conditions.append("(key_id = \(bind) OR caller = \(bind))")
        }
        if let team = filter.team { conditions.append("team = \(try statement.text(team))") }
        if let since = filter.since { conditions.append("created_at >= \(try statement.bind(since.timeIntervalSince1970))") }
        if let until = filter.until { conditions.append("created_at < \(try statement.bind(until.timeIntervalSince1970))") }
        return conditions
    }

    /// The expression a spend report groups by.
    static func groupColumn(_ grouping: SpendGrouping, _ statement: inout PostgresStatement) throws -> String {
        switch grouping {
        case .key: return "key_id"
        case .team: return "team"
        case .model: return "COALESCE(served_model, model)"
        case .route: return "model"
        case .user: return "\"user\""
        case .provider: return "provider"
        case .day: return "to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        case .tag(let name): return "(tags ->> \(try statement.text(name)))"
        }
    }

    static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }

    // MARK: Rows

    static func record(_ row: PostgresRow) throws -> RequestRecord {
        let column = PostgresColumns(row)
        let decoder = JSONDecoder()
        func json<Value: Decodable>(_ name: String, as type: Value.Type) throws -> Value? {
            try column(name, as: String?.self).flatMap { try? decoder.decode(Value.self, from: Data($0.utf8)) }
        }
        var record = RequestRecord(
            id: try column("id"), createdAt: try column.date("created_at"), caller: try column("caller"),
            clientProtocol: try column("protocol"), endpoint: try column("endpoint"), model: try column("model"),
            provider: try column("provider"), upstreamModel: try column("upstream_model"), stream: try column("stream"),
            promptTokens: try column("prompt_tokens"), completionTokens: try column("completion_tokens"),
            cachedTokens: try column("cached_tokens"), usageEstimated: try column("usage_estimated"), costUSD: try column("cost_usd"),
            latencyMs: try column("latency_ms"), ttftMs: try column("ttft_ms"), status: try column("status"), error: try column("error"),
            route: try json("route", as: RouteTrace.self), cache: try column("cache"), savedUSD: try column("saved_usd"),
            toolCalls: try column("tool_calls", as: String?.self).flatMap { JSONValue.parse($0) })
        record.retrieval = try json("retrieval", as: RetrievalTrace.self)
        record.keyID = try column("key_id")
        record.team = try column("team")
        record.user = try column("user")
        record.tags = try json("tags", as: [String: String].self)
        record.budgetFlag = try column("budget_flag")
        record.servedModel = try column("served_model")
        record.guardrail = try json("guardrail", as: GuardTrace.self)
        record.episodeID = try column("episode_id")
        record.prompt = try column("prompt")
        record.variant = try column("variant")
        return record
    }
}

/// A first-come, first-served lock for async callers: `enter` waits its turn without blocking a
/// thread, `leave` hands the turn to the next in line.
final class SerialGate: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let proceed = state.withLock { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }

    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
