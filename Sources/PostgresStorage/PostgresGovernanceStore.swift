import Foundation
import Governance
import Logging
import PostgresNIO
import SwitchyardCore

/// Keys, teams and the hash-chained audit log in PostgreSQL, shared by every replica. A key or team
/// written here is announced on `switchyard_governance` (`NOTIFY`, delivered at commit) so the other
/// replicas apply it within a second (`GovernanceSyncService`). Secrets are never stored: a key is
/// its SHA-256 and a display prefix, as in SQLite.
public final class PostgresGovernanceStore: GovernancePersistence {
    public static let channel = "switchyard_governance"

    let database: PostgresDatabase
    /// Spend so far from the request log (its store owns that table).
    private let spendSource: @Sendable (String?, String?, Date) throws -> Double

    public init(database: PostgresDatabase, spend: @escaping @Sendable (_ key: String?, _ team: String?, _ since: Date) throws -> Double) throws {
        self.database = database
        spendSource = spend
        try database.migrate(store: "governance", Self.migrations)
    }

    static let migrations = [
        """
        CREATE TABLE governance_key (
            id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE TABLE governance_team (name TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE TABLE audit_log (
            seq BIGINT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
            details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
        """,
        // Shared budgets and rate limits (see PostgresSharedLimits).
        """
        CREATE TABLE replicas (id TEXT PRIMARY KEY, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE TABLE budget_account (
            subject TEXT NOT NULL, period_start DOUBLE PRECISION NOT NULL, spent DOUBLE PRECISION NOT NULL DEFAULT 0,
            PRIMARY KEY (subject, period_start));
        CREATE TABLE budget_hold (
            id BIGSERIAL PRIMARY KEY, subject TEXT NOT NULL, period_start DOUBLE PRECISION NOT NULL, usd DOUBLE PRECISION NOT NULL,
            replica TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE INDEX budget_hold_account ON budget_hold (subject, period_start);
        CREATE TABLE rate_cell (subject TEXT NOT NULL, kind TEXT NOT NULL, tat DOUBLE PRECISION NOT NULL, PRIMARY KEY (subject, kind));
        """,
        PostgresSharedLimits.functions,
    ]

    private static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try? decoder.decode(T.self, from: Data(text.utf8))
    }

    // MARK: Keys and teams

    public func loadKeys() throws -> [StoredKey] {
        try database.blocking { client in
            try await client.query("SELECT body FROM governance_key ORDER BY created_at, id").decode(String.self).all()
        }.compactMap { Self.decode(StoredKey.self, $0) }
    }

    public func key(id: String) throws -> StoredKey? {
        try database.blocking { client in
            try await client.query("SELECT body FROM governance_key WHERE id = \(id)").decode(String.self).all()
        }.first.flatMap { Self.decode(StoredKey.self, $0) }
    }

    public func saveKey(_ key: StoredKey) throws {
        let body = try Self.json(key)
        let note = "key:" + key.id
        try database.blocking { client in
            try await client.withTransaction(logger: self.database.logger) { connection in
                try await connection.query(
                    """
                    INSERT INTO governance_key (id, hash, body, created_at) VALUES (\(key.id), \(key.hash), \(body), \(key.createdAt.timeIntervalSince1970))
                    ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, body = excluded.body, updated_at = now()
                    """, logger: self.database.logger)
                try await connection.query("SELECT pg_notify(\(Self.channel), \(note))", logger: self.database.logger)
            }
        }
    }

    public func loadTeams() throws -> [StoredTeam] {
        try database.blocking { client in
            try await client.query("SELECT body FROM governance_team ORDER BY name").decode(String.self).all()
        }.compactMap { Self.decode(StoredTeam.self, $0) }
    }

    public func team(named name: String) throws -> StoredTeam? {
        try database.blocking { client in
            try await client.query("SELECT body FROM governance_team WHERE name = \(name)").decode(String.self).all()
        }.first.flatMap { Self.decode(StoredTeam.self, $0) }
    }

    public func saveTeam(_ team: StoredTeam) throws {
        let body = try Self.json(team)
        let note = "team:" + team.name
        try database.blocking { client in
            try await client.withTransaction(logger: self.database.logger) { connection in
                try await connection.query(
                    """
                    INSERT INTO governance_team (name, body) VALUES (\(team.name), \(body))
                    ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = now()
                    """, logger: self.database.logger)
                try await connection.query("SELECT pg_notify(\(Self.channel), \(note))", logger: self.database.logger)
            }
        }
    }

    // MARK: Audit

    /// Appends under a transaction-level advisory lock, so replicas appending at once still chain
    /// one after the other (each reads the last hash only once the lock is its own).
    public func appendAudit(at: Date, actor: String, action: String, target: String, details: JSONValue) throws -> AuditEntry {
        let at = Date(timeIntervalSince1970: (at.timeIntervalSince1970 * 1000).rounded() / 1000)
        let text = details.jsonString()
        return try database.blocking { client in
            try await client.withTransaction(logger: self.database.logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.auditLock))", logger: self.database.logger)
                var sequence = 1
                var previous = AuditChain.genesis
                for try await (seq, hash) in try await connection.query(
                    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", logger: self.database.logger
                ).decode((Int64, String).self) {
                    sequence = Int(seq) + 1
                    previous = hash
                }
                let hash = AuditChain.hash(
                    AuditChain.material(sequence: sequence, at: at, actor: actor, action: action, target: target, detailsJSON: text, previousHash: previous))
                try await connection.query(
                    """
                    INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash)
                    VALUES (\(Int64(sequence)), \(at.timeIntervalSince1970), \(actor), \(action), \(target), \(text), \(previous), \(hash))
                    """, logger: self.database.logger)
                return AuditEntry(
                    sequence: sequence, at: at, actor: actor, action: action, target: target, detailsJSON: text, previousHash: previous, hash: hash)
            }
        }
    }

    static let auditLock: Int64 = 0x5357_4155

    /// Stores entries of another deployment's chain as they are, sequence numbers and hashes unchanged
    /// (`switchyard migrate`); an entry whose sequence number is already stored is left alone. Returns
    /// how many were stored. Under the append lock, so no replica appends in between. Blocks.
    public func importAudit(_ entries: [AuditEntry]) throws -> Int {
        guard !entries.isEmpty else { return 0 }
        for entry in entries {
            for text in [entry.actor, entry.action, entry.target, entry.detailsJSON, entry.previousHash, entry.hash] {
                try StorableText.check(text, "Audit entry \(entry.sequence)", param: "audit")
            }
        }
        return try database.blocking { client in
            try await client.withTransaction(logger: self.database.logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.auditLock))", logger: self.database.logger)
                var stored = 0
                var start = 0
                while start < entries.count {
                    let batch = entries[start..<min(entries.count, start + 1_000)]
                    start += batch.count
                    stored += try await connection.query(
                        """
                        INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash)
                        SELECT * FROM unnest(\(batch.map { Int64($0.sequence) })::bigint[], \(batch.map { $0.at.timeIntervalSince1970 })::float8[],
                            \(batch.map(\.actor))::text[], \(batch.map(\.action))::text[], \(batch.map(\.target))::text[],
                            \(batch.map(\.detailsJSON))::text[], \(batch.map(\.previousHash))::text[], \(batch.map(\.hash))::text[])
                        ON CONFLICT (seq) DO NOTHING RETURNING seq
                        """, logger: self.database.logger
                    ).collect().count
                }
                return stored
            }
        }
    }

    public func auditEntries() throws -> [AuditEntry] {
        try database.blocking { client in
            var entries: [AuditEntry] = []
            for try await (seq, at, actor, action, target, details, previous, hash) in try await client.query(
                "SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit_log ORDER BY seq"
            ).decode((Int64, Double, String, String, String, String, String, String).self) {
                entries.append(AuditEntry(
                    sequence: Int(seq), at: Date(timeIntervalSince1970: at), actor: actor, action: action, target: target, detailsJSON: details,
                    previousHash: previous, hash: hash))
            }
            return entries
        }
    }

    // MARK: Spend

    public func spend(key: String?, team: String?, since: Date) throws -> Double { try spendSource(key, team, since) }
}
