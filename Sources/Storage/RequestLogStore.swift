import Foundation
import GRDB
import SwitchyardCore

/// The request log in SQLite. Written in batches by a background service, read by the API and CLI.
public final class RequestLogStore: Sendable {
    private let database: any DatabaseWriter

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
        return migrator
    }

    /// Takes a batch from `take` and writes it in one transaction, both on the background writer
    /// thread (the caller's thread is not blocked). Batches are taken and written in the order they
    /// were asked for: when this returns, every record that `take` would have returned at the call
    /// is stored, even one an earlier call took but had not written yet. The JSON columns are built
    /// there too, not on the caller's thread (under `serve`, an event loop).
    public func insert(taking take: @escaping @Sendable () -> [RequestRecord]) async throws {
        let database = database
        try await BackgroundWriter.shared.run {
            let records = take()
            if !records.isEmpty { try database.write { db in try Self.insert(records, into: db) } }
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
                 cache, saved_usd, tool_calls, retrieval)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
            ])
        }
    }

    /// The newest records first. GRDB's async read runs on the database's own queue: the caller's
    /// thread (an event loop, under `serve`) never waits on SQLite.
    public func recent(limit: Int) async throws -> [RequestRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM request_log ORDER BY created_at DESC LIMIT ?", arguments: [limit])
                .map(Self.record)
        }
    }

    public func record(id: String) async throws -> RequestRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM request_log WHERE id = ?", arguments: [id]).map(Self.record)
        }
    }

    public func count() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request_log") ?? 0 }
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
        return record
    }
}

/// A storage failure, with the path or operation it concerns.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
