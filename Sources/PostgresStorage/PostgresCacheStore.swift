import Foundation
import Logging
import PostgresNIO
import SwitchyardCore
import Synchronization

/// Cached answers in PostgreSQL, shared by the replicas. Each gateway keeps its cache in memory and
/// writes its fills here in batches (as with SQLite); what makes it shared is `record(key:now:)`:
/// after a local exact miss, one primary-key read finds an answer another replica stored. At start
/// `load` brings every unexpired entry, semantic ones with their vectors, into memory.
///
/// Expired rows are never returned (every read compares `expires_at` with the caller's time) and
/// are deleted by `load` and, at most once a minute per gateway, by `save`.
public final class PostgresCacheStore: SharedCachePersistence {
    let database: PostgresDatabase
    let logger: Logger
    /// How long a shared lookup may take before it counts as a miss (the request goes upstream).
    let lookupDeadline: Duration
    private let lastCleanup = Mutex<Date?>(nil)

    static let rowsPerStatement = 500
    static let bytesPerStatement = 16 << 20
    static let cleanupInterval: TimeInterval = 60

    /// Applies the store's migrations (blocking: call it off the event loops).
    public init(database: PostgresDatabase, lookupDeadline: Duration = .milliseconds(250)) throws {
        self.database = database
        self.logger = database.logger
        self.lookupDeadline = lookupDeadline
        try database.migrate(store: "response_cache", Self.migrations)
    }

    static let migrations = [
        """
        CREATE TABLE response_cache (
            key TEXT COLLATE "C" PRIMARY KEY,
            namespace TEXT COLLATE "C" NOT NULL,
            scope TEXT COLLATE "C",
            vector BYTEA,
            semantic_text TEXT,
            response BYTEA NOT NULL,
            model TEXT NOT NULL,
            cost_usd DOUBLE PRECISION NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL
        )
        """,
        "CREATE INDEX response_cache_namespace ON response_cache (namespace)",
        "CREATE INDEX response_cache_expiry ON response_cache (expires_at)",
    ]

    static let columns =
        "key, namespace, scope, vector, semantic_text, response, model, cost_usd, prompt_tokens, completion_tokens, created_at, expires_at"

    /// Inserts or replaces the records, a few hundred per statement.
    public func save(_ records: [CacheRecord]) async throws {
        // One statement cannot update a row twice: the newest record of a key wins, as in SQLite.
        var newest: [String: Int] = [:]
        for (index, record) in records.enumerated() { newest[record.key] = index }
        let unique = records.enumerated().filter { newest[$0.element.key] == $0.offset }.map(\.element)
        for run in unique.runs(count: Self.rowsPerStatement, bytes: Self.bytesPerStatement, size: Self.size) {
            _ = try await database.rows(try Self.upsert(run))
        }
        try await removeExpiredNowAndThen()
    }

    static func size(_ record: CacheRecord) -> Int {
        128 + record.response.count + (record.vector?.count ?? 0) * 4 + (record.text?.utf8.count ?? 0)
    }

    /// Stores entries from another deployment (`switchyard migrate`); an entry whose key is already
    /// stored is left alone. Returns how many were stored.
    public func importRecords(_ records: [CacheRecord]) async throws -> Int {
        var stored = 0
        for run in records.runs(count: Self.rowsPerStatement, bytes: Self.bytesPerStatement, size: Self.size) {
            stored += try await database.rows(try Self.upsert(run, onConflict: "DO NOTHING RETURNING 1")).count
        }
        return stored
    }

    /// `onConflict` replaces the update of an existing key's row.
    static func upsert(_ records: ArraySlice<CacheRecord>, onConflict: String? = nil) throws -> PostgresStatement {
        var statement = PostgresStatement("INSERT INTO response_cache (\(columns)) VALUES ")
        for (position, record) in records.enumerated() {
            let vector = record.vector.map { values in values.withUnsafeBufferPointer { Data(buffer: $0) } }
            let values = [
                try statement.text(record.key), try statement.text(record.namespace), try statement.text(record.scope),
                try statement.bind(vector, as: "bytea"), try statement.text(record.text), try statement.bind(record.response),
                try statement.text(record.model), try statement.bind(record.costUSD), try statement.bind(record.promptTokens),
                try statement.bind(record.completionTokens), try statement.bind(record.createdAt.timeIntervalSince1970),
                try statement.bind(record.expiresAt.timeIntervalSince1970),
            ]
            statement.append((position == 0 ? "(" : ", (") + values.joined(separator: ", ") + ")")
        }
        if let onConflict {
            statement.append(" ON CONFLICT (key) " + onConflict)
            return statement
        }
        statement.append(
            """
             ON CONFLICT (key) DO UPDATE SET namespace = excluded.namespace, scope = excluded.scope, vector = excluded.vector,
                semantic_text = excluded.semantic_text, response = excluded.response, model = excluded.model, cost_usd = excluded.cost_usd,
                prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, created_at = excluded.created_at,
                expires_at = excluded.expires_at
            """)
        return statement
    }

    public func remove(keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        var statement = PostgresStatement()
        statement.append("DELETE FROM response_cache WHERE key = ANY(\(try statement.bind(keys.map(PostgresText.storable))))")
        _ = try await database.rows(statement)
    }

    public func removeAll(namespace: String?) async throws {
        var statement = PostgresStatement("DELETE FROM response_cache")
        if let namespace { statement.append(" WHERE namespace = \(try statement.text(namespace))") }
        _ = try await database.rows(statement)
    }

    /// Deletes what has expired, then returns the rest, oldest first.
    public func load(now: Date) throws -> [CacheRecord] {
        var remove = PostgresStatement()
        remove.append("DELETE FROM response_cache WHERE expires_at <= \(try remove.bind(now.timeIntervalSince1970))")
        _ = try database.blockingRows(remove)
        var select = PostgresStatement()
        select.append(
            "SELECT \(Self.columns) FROM response_cache WHERE expires_at > \(try select.bind(now.timeIntervalSince1970)) ORDER BY created_at")
        return try database.blockingRows(select).map(Self.record)
    }

    /// One primary-key read, within `lookupDeadline`; a failure or a late answer is a miss (and the
    /// database's health notes a failure).
    public func record(key: String, now: Date) async -> CacheRecord? {
        var statement = PostgresStatement()
        do {
            statement.append(
                "SELECT \(Self.columns) FROM response_cache WHERE key = \(try statement.text(key)) "
                    + "AND expires_at > \(try statement.bind(now.timeIntervalSince1970))")
            let query = statement.query
            let rows = try await withDeadline(lookupDeadline) { [database, logger] in
                try await database.run { client in try await client.query(query, logger: logger).collect() }
            }
            return try rows.first.map(Self.record)
        } catch {
            logger.debug("shared cache lookup missed", metadata: ["error": "\(StorageFailure(error))"])
            return nil
        }
    }

    /// Deletes expired rows when a minute has passed since this gateway last did.
    private func removeExpiredNowAndThen() async throws {
        let now = Date()
        let due = lastCleanup.withLock { last -> Bool in
            guard last.map({ now.timeIntervalSince($0) >= Self.cleanupInterval }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        var statement = PostgresStatement()
        statement.append("DELETE FROM response_cache WHERE expires_at <= \(try statement.bind(now.timeIntervalSince1970))")
        _ = try await database.rows(statement)
    }

    static func record(_ row: PostgresRow) throws -> CacheRecord {
        let column = PostgresColumns(row)
        let vector = try column("vector", as: Data?.self).map { data in
            data.withUnsafeBytes { raw in
                (0..<raw.count / MemoryLayout<Float>.size).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<Float>.size, as: Float.self) }
            }
        }
        return CacheRecord(
            key: try column("key"), namespace: try column("namespace"), scope: try column("scope"), vector: vector,
            text: try column("semantic_text"), response: try column("response"), model: try column("model"), costUSD: try column("cost_usd"),
            promptTokens: try column("prompt_tokens"), completionTokens: try column("completion_tokens"),
            createdAt: try column.date("created_at"), expiresAt: try column.date("expires_at"))
    }
}
