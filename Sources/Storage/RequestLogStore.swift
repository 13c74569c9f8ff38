import Foundation
import GRDB
import SwitchyardCore

/// The request log in SQLite. Written in batches by a background service, read by the API and CLI.
public final class RequestLogStore: RequestLogPersistence {
    let database: any DatabaseWriter

    /// Opens (creating if needed) the SQLite file at `path`; `:memory:` keeps it in memory.
    public init(path: String) throws {
        database = try SQLiteDatabase.open(path: path, migrator: Self.migrator, what: "SQLite database")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-request-log") { db in
            try db.create(table: "request_log") { table in
                table.primaryKey("id", .text)
                table.column("created_at", .double).notNull().indexed()
                table.column("caller", .text).notNull()
                table.column("protocol", .text).notNull()
                table.column("endpoint", .text).notNull()
                table.column("model", .text).notNull()
                table.column("provider", .text)
                table.column("upstream_model", .text)
                table.column("stream", .boolean).notNull()
                table.column("prompt_tokens", .integer).notNull()
                table.column("completion_tokens", .integer).notNull()
                table.column("cached_tokens", .integer).notNull()
                table.column("usage_estimated", .boolean).notNull()
                table.column("cost_usd", .double).notNull()
                table.column("latency_ms", .double).notNull()
                table.column("ttft_ms", .double)
                table.column("status", .integer).notNull()
                table.column("error", .text)
            }
        }
        migrator.registerMigration("v2-route-trace") { db in
            try db.alter(table: "request_log") { table in table.add(column: "route", .text) }
        }
        migrator.registerMigration("v3-cache") { db in
            try db.alter(table: "request_log") { table in
                table.add(column: "cache", .text)
                table.add(column: "saved_usd", .double).notNull().defaults(to: 0)
            }
        }
        migrator.registerMigration("retrieval-v1-request-log") { db in
            try db.alter(table: "request_log") { table in table.add(column: "retrieval", .text) }
        }
        migrator.registerMigration("mcp-v1") { db in
            try db.alter(table: "request_log") { table in table.add(column: "tool_calls", .text) }
        }
        migrator.registerMigration("governance-v1-ledger") { db in
            // The spend ledger's dimensions; budgets sum by key or team since a period's start.
            try db.alter(table: "request_log") { table in
                table.add(column: "key_id", .text)
                table.add(column: "team", .text)
                table.add(column: "user", .text)
                table.add(column: "tags", .text)
                table.add(column: "budget_flag", .text)
                table.add(column: "served_model", .text)
            }
            try db.create(index: "request_log_key_time", on: "request_log", columns: ["key_id", "created_at"])
            try db.create(index: "request_log_team_time", on: "request_log", columns: ["team", "created_at"])
        }
        migrator.registerMigration("guardrails-v1-request-log") { db in
            try db.alter(table: "request_log") { table in table.add(column: "guardrail", .text) }
        }
        registerFeedbackMigrations(&migrator)
        registerDashboardMigrations(&migrator)
        registerRetentionMigrations(&migrator)
        return migrator
    }

    /// Takes a batch from `take` and writes it in one transaction, both on the background writer
    /// thread (the caller's thread is not blocked). Batches are taken and written in the order they
    /// were asked for: when this returns, every record that `take` would have returned at the call
    /// is stored, even one an earlier call took but had not written yet. The JSON columns are built
    /// there too, not on the caller's thread (under `serve`, an event loop).
    public func insert(taking take: @escaping @Sendable () -> [RequestRecord]) async throws {
        try await insert(taking: take, on: .shared)
    }

    /// On the normal-priority writer: a read waits for it. Behind the shared, low-priority writer it
    /// waited for every database's queued batches (in one process, all of them), and on a machine busy
    /// with other work that thread gets a few percent of a core: a request-log read once waited over a
    /// minute. The batch is taken inside the write transaction, so batches stay in order across both
    /// threads, and this returns only when everything queued before it is stored.
    public func insertForReader(taking take: @escaping @Sendable () -> [RequestRecord]) async throws {
        try await insert(taking: take, on: .readers)
    }

    private func insert(taking take: @escaping @Sendable () -> [RequestRecord], on writer: BackgroundWriter) async throws {
        let database = database
        try await writer.run {
            try database.write { db in
                let records = take()
                if !records.isEmpty { try Self.insert(records, into: db) }
            }
        }
    }

    private static func insert(_ records: [RequestRecord], into db: Database) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO request_log
                (id, created_at, caller, protocol, endpoint, model, provider, upstream_model, stream, prompt_tokens,
                 completion_tokens, cached_tokens, usage_estimated, cost_usd, latency_ms, ttft_ms, status, error, route,
                 cache, saved_usd, tool_calls, retrieval, key_id, team, user, tags, budget_flag, served_model, guardrail,
                 episode_id, prompt, variant)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (index, record) in records.enumerated() {
            BackgroundWriter.yield(after: index)
            // A plain model that answered at the first try has nothing to explain: keep the log lean.
            var route: String?
            if let trace = record.route, trace.kind != "model" || trace.attempts.count > 1 || !trace.notes.isEmpty {
                route = (try? encoder.encode(trace)).map { String(decoding: $0, as: UTF8.self) }
            }
            try statement.execute(arguments: [
                record.id, record.createdAt.timeIntervalSince1970, record.caller, record.clientProtocol,
                record.endpoint, record.model, record.provider, record.upstreamModel, record.stream,
                record.promptTokens, record.completionTokens, record.cachedTokens, record.usageEstimated,
                record.costUSD, record.latencyMs, record.ttftMs, record.status, record.error, route,
                record.cache, record.savedUSD, record.toolCalls?.jsonString(),
                record.retrieval.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) },
                record.keyID, record.team, record.user,
                record.tags.flatMap { $0.isEmpty ? nil : try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) },
                record.budgetFlag, record.servedModel,
                record.guardrail.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) },
                record.episodeID, record.prompt, record.variant,
            ])
        }
    }

    /// The newest records first, of those `scope` may see. GRDB's async read runs on the database's
    /// own queue: the caller's thread (an event loop, under `serve`) never waits on SQLite.
    public func recent(limit: Int, scope: LedgerScope) async throws -> [RequestRecord] {
        let (filter, arguments) = Self.filter(scope)
        return try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM request_log \(filter.isEmpty ? "" : "WHERE " + filter) ORDER BY created_at DESC LIMIT ?",
                arguments: StatementArguments(arguments + [limit.databaseValue])
            ).map(Self.record)
        }
    }

    /// One record, when `scope` may see it.
    public func record(id: String, scope: LedgerScope) async throws -> RequestRecord? {
        let (filter, arguments) = Self.filter(scope)
        return try await database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM request_log WHERE id = ? \(filter.isEmpty ? "" : "AND " + filter)",
                arguments: StatementArguments([id.databaseValue] + arguments)
            ).map(Self.record)
        }
    }

    static func filter(_ scope: LedgerScope) -> (String, [DatabaseValue]) {
        switch scope {
        case .all: return ("", [])
        case .team(let team): return ("team = ?", [team.databaseValue])
        case .key(let key): return ("key_id = ?", [key.databaseValue])
        }
    }

    /// The spend report: requests, tokens and cost grouped by one dimension, since a time, within a scope.
    public func spendReport(groupBy: SpendGrouping, since: Date?, until: Date?, scope: LedgerScope) async throws -> [SpendRow] {
        var (filter, arguments) = Self.filter(scope)
        let column: String
        switch groupBy {
        case .key: column = "key_id"
        case .team: column = "team"
        case .model: column = "COALESCE(served_model, model)"
        case .route: column = "model"
        case .user: column = "user"
        case .provider: column = "provider"
        case .day: column = "strftime('%Y-%m-%d', created_at, 'unixepoch')"
        case .tag(let name):
            // The tag's name is checked (letters, digits, `_-.`); it still goes in as an argument.
            column = "json_extract(tags, ?)"
            arguments.insert("$.\"\(name)\"".databaseValue, at: 0)
        }
        var conditions = filter.isEmpty ? [] : [filter]
        if let since {
            conditions.append("created_at >= ?")
            arguments.append(since.timeIntervalSince1970.databaseValue)
        }
        if let until {
            conditions.append("created_at < ?")
            arguments.append(until.timeIntervalSince1970.databaseValue)
        }
        let sql = """
            SELECT \(column) AS grp, MAX(caller) AS name, COUNT(*) AS requests, COALESCE(SUM(cost_usd), 0) AS cost,
                   COALESCE(SUM(prompt_tokens), 0) AS prompt, COALESCE(SUM(completion_tokens), 0) AS completion
            FROM request_log \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            GROUP BY grp ORDER BY cost DESC, grp
            """
        let finalArguments = arguments
        let finalConditions = conditions
        return try await database.read { db in
            var rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(finalArguments)).map { row in
                SpendRow(
                    group: (row["grp"] as String?) ?? "", name: groupBy == .key ? row["name"] : nil, costUSD: row["cost"],
                    requests: row["requests"], promptTokens: row["prompt"], completionTokens: row["completion"])
            }
            let feedback = try Self.feedbackStats(db, column: column, conditions: finalConditions, arguments: finalArguments)
            for index in rows.indices { rows[index].feedback = feedback[rows[index].group] ?? [:] }
            return rows
        }
    }

    /// Every record, a page at a time in the order they were written (`switchyard migrate`). Blocks.
    public func exportRecords(after rowID: Int64 = 0, limit: Int) throws -> ExportPage<RequestRecord> {
        try database.read { db in
            ExportPage.make(
                try Row.fetchAll(db, sql: ExportPage<RequestRecord>.sql("request_log"), arguments: [rowID, limit]), limit: limit, Self.record)
        }
    }

    public func count() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request_log") ?? 0 }
    }

    /// Cost since `since` of a key, a team, or both, pruned days included (their roll-ups); what
    /// `GovernanceStore.spend` reads from the same tables.
    public func spend(key: String?, team: String?, since: Date) throws -> Double {
        try database.read { db in try Self.spend(db, key: key, team: team, since: since) }
    }

    static func spend(_ db: Database, key: String?, team: String?, since: Date) throws -> Double {
        let logged = try costSince(db, table: "request_log", timeColumn: "created_at", key: key, team: team, since: since)
        // Days pruned by retention keep their spend in roll-ups (a database opened before them has none).
        guard try db.tableExists("request_log_rollup") else { return logged }
        return logged + (try costSince(db, table: "request_log_rollup", timeColumn: "day", key: key, team: team, since: since))
    }

    /// `SUM(cost_usd)` of `table`'s rows at or after `since` (by `timeColumn`), narrowed to a key and a team when given.
    static func costSince(_ db: Database, table: String, timeColumn: String, key: String?, team: String?, since: Date) throws -> Double {
        var conditions = ["\(timeColumn) >= ?"]
        var arguments: [any DatabaseValueConvertible] = [since.timeIntervalSince1970]
        if let key {
            conditions.append("key_id = ?")
            arguments.append(key)
        }
        if let team {
            conditions.append("team = ?")
            arguments.append(team)
        }
        return try Double.fetchOne(
            db, sql: "SELECT COALESCE(SUM(cost_usd), 0) FROM \(table) WHERE " + conditions.joined(separator: " AND "),
            arguments: StatementArguments(arguments)) ?? 0
    }

    static func record(_ row: Row) -> RequestRecord {
        var record = RequestRecord(
            id: row["id"], createdAt: Date(timeIntervalSince1970: row["created_at"]), caller: row["caller"],
            clientProtocol: row["protocol"], endpoint: row["endpoint"], model: row["model"], provider: row["provider"],
            upstreamModel: row["upstream_model"], stream: row["stream"], promptTokens: row["prompt_tokens"],
            completionTokens: row["completion_tokens"], cachedTokens: row["cached_tokens"],
            usageEstimated: row["usage_estimated"], costUSD: row["cost_usd"], latencyMs: row["latency_ms"],
            ttftMs: row["ttft_ms"], status: row["status"], error: row["error"],
            route: (row["route"] as String?).flatMap { try? JSONDecoder().decode(RouteTrace.self, from: Data($0.utf8)) },
            cache: row["cache"], savedUSD: row["saved_usd"],
            toolCalls: (row["tool_calls"] as String?).flatMap { JSONValue.parse($0) })
        record.retrieval = (row["retrieval"] as String?).flatMap { try? JSONDecoder().decode(RetrievalTrace.self, from: Data($0.utf8)) }
        record.keyID = row["key_id"]
        record.team = row["team"]
        record.user = row["user"]
        record.tags = (row["tags"] as String?).flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
        record.budgetFlag = row["budget_flag"]
        record.servedModel = row["served_model"]
        record.guardrail = (row["guardrail"] as String?).flatMap { try? JSONDecoder().decode(GuardTrace.self, from: Data($0.utf8)) }
        record.episodeID = row["episode_id"]
        record.prompt = row["prompt"]
        record.variant = row["variant"]
        return record
    }
}

/// A storage failure, with the path or operation it concerns.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
