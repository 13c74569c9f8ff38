import Foundation
import GRDB
import SwitchyardCore

/// Cached answers in SQLite, so the cache survives restarts. Written in batches off the request path.
public final class ResponseCacheStore: CachePersistence {
    private let database: any DatabaseWriter

    public init(path: String) throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-response-cache") { db in
            try db.create(table: "response_cache") { table in
                table.primaryKey("key", .text)
                table.column("namespace", .text).notNull().indexed()
                table.column("scope", .text)
                table.column("vector", .blob)
                table.column("response", .blob).notNull()
                table.column("model", .text).notNull()
                table.column("cost_usd", .double).notNull()
                table.column("prompt_tokens", .integer).notNull()
                table.column("completion_tokens", .integer).notNull()
                table.column("created_at", .double).notNull()
                table.column("expires_at", .double).notNull().indexed()
            }
        }
        migrator.registerMigration("v2-response-cache-text") { db in
            // The embedded text, so semantic candidates restored at start can be verified.
            try db.alter(table: "response_cache") { table in table.add(column: "semantic_text", .text) }
        }
        database = try SQLiteDatabase.open(path: path, migrator: migrator, what: "cache database")
    }

    public func save(_ records: [CacheRecord]) async throws {
        try await BackgroundWriter.shared.write(database) { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO response_cache
                    (key, namespace, scope, vector, semantic_text, response, model, cost_usd, prompt_tokens, completion_tokens, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for (index, record) in records.enumerated() {
                BackgroundWriter.yield(after: index)
                let vector = record.vector.map { values in values.withUnsafeBufferPointer { Data(buffer: $0) } }
                try statement.execute(arguments: [
                    record.key, record.namespace, record.scope, vector, record.text, record.response, record.model, record.costUSD,
                    record.promptTokens, record.completionTokens, record.createdAt.timeIntervalSince1970,
                    record.expiresAt.timeIntervalSince1970,
                ])
            }
        }
    }

    public func remove(keys: [String]) async throws {
        try await BackgroundWriter.shared.write(database) { db in
            for key in keys { try db.execute(sql: "DELETE FROM response_cache WHERE key = ?", arguments: [key]) }
        }
    }

    public func removeAll(namespace: String?) async throws {
        try await BackgroundWriter.shared.write(database) { db in
            if let namespace {
                try db.execute(sql: "DELETE FROM response_cache WHERE namespace = ?", arguments: [namespace])
            } else {
                try db.execute(sql: "DELETE FROM response_cache")
            }
        }
    }

    public func load(now: Date) throws -> [CacheRecord] {
        try database.write { db in
            try db.execute(sql: "DELETE FROM response_cache WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            return try Row.fetchAll(db, sql: "SELECT * FROM response_cache ORDER BY created_at").map(Self.record)
        }
    }

    /// The entries not expired at `now`, a page at a time, without deleting the rest (`switchyard
    /// migrate` reads a file it must leave as it found it). Blocks.
    public func exportRecords(now: Date, after rowID: Int64 = 0, limit: Int) throws -> ExportPage<CacheRecord> {
        try database.read { db in
            ExportPage.make(
                try Row.fetchAll(
                    db, sql: ExportPage<CacheRecord>.sql("response_cache", filter: "expires_at > ?"),
                    arguments: [rowID, now.timeIntervalSince1970, limit]),
                limit: limit, Self.record)
        }
    }

    static func record(_ row: Row) -> CacheRecord {
        let blob: Data? = row["vector"]
        let vector = blob.map { data in
            data.withUnsafeBytes { raw in Array(raw.bindMemory(to: Float.self)) }
        }
        return CacheRecord(
            key: row["key"], namespace: row["namespace"], scope: row["scope"], vector: vector, text: row["semantic_text"], response: row["response"],
            model: row["model"], costUSD: row["cost_usd"], promptTokens: row["prompt_tokens"],
            completionTokens: row["completion_tokens"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            expiresAt: Date(timeIntervalSince1970: row["expires_at"]))
    }
}
