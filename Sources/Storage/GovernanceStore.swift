import Foundation
import GRDB
import Governance
import SwitchyardCore

/// Keys, teams and the hash-chained audit log in SQLite (the same file as the request log, whose
/// lines are the spend ledger). Secrets are never stored: a key is its SHA-256 and a display prefix.
public final class GovernanceStore: GovernancePersistence {
    private let database: any DatabaseWriter

    public init(path: String) throws {
        database = try SQLiteDatabase.open(path: path, migrator: Self.migrator, what: "governance database")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("governance-v1") { db in
            try db.create(table: "governance_team") { table in
                table.primaryKey("name", .text)
                table.column("budget", .text)
                table.column("rpm", .integer)
                table.column("tpm", .integer)
                table.column("created_at", .double).notNull()
            }
            try db.create(table: "governance_key") { table in
                table.primaryKey("id", .text)
                table.column("hash", .text).notNull().unique()
                table.column("prefix", .text).notNull()
                table.column("name", .text).notNull()
                table.column("team", .text)
                table.column("role", .text).notNull()
                table.column("models", .text)
                table.column("tools", .text)
                table.column("groups", .text).notNull()
                table.column("collection_write", .boolean).notNull()
                table.column("budget", .text)
                table.column("rpm", .integer)
                table.column("tpm", .integer)
                table.column("tags", .text).notNull()
                table.column("expires_at", .double)
                table.column("revoked_at", .double)
                table.column("created_at", .double).notNull()
            }
            try db.create(table: "audit_log") { table in
                table.primaryKey("seq", .integer)
                table.column("at", .double).notNull()
                table.column("actor", .text).notNull()
                table.column("action", .text).notNull()
                table.column("target", .text).notNull()
                table.column("details", .text).notNull()
                table.column("prev_hash", .text).notNull()
                table.column("hash", .text).notNull()
            }
        }
        return migrator
    }

    private static func json<T: Encodable>(_ value: T?) -> String? {
        guard let value else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    // MARK: Keys and teams

    public func loadKeys() throws -> [StoredKey] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM governance_key ORDER BY created_at").map { row in
                StoredKey(
                    id: row["id"], hash: row["hash"], prefix: row["prefix"], name: row["name"], team: row["team"],
                    role: Role(rawValue: row["role"]) ?? .member, models: Self.decode([String].self, row["models"]),
                    tools: Self.decode([String].self, row["tools"]), groups: Self.decode([String].self, row["groups"]) ?? [],
                    collectionWrite: row["collection_write"], budget: Self.decode(Budget.self, row["budget"]), rpm: row["rpm"],
                    tpm: row["tpm"], tags: Self.decode([String: String].self, row["tags"]) ?? [:],
                    expiresAt: (row["expires_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    public func saveKey(_ key: StoredKey) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO governance_key
                    (id, hash, prefix, name, team, role, models, tools, groups, collection_write, budget, rpm, tpm, tags,
                     expires_at, revoked_at, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.hash, key.prefix, key.name, key.team, key.role.rawValue, Self.json(key.models), Self.json(key.tools),
                    Self.json(key.groups) ?? "[]", key.collectionWrite, Self.json(key.budget), key.rpm, key.tpm,
                    Self.json(key.tags) ?? "{}", key.expiresAt?.timeIntervalSince1970, key.revokedAt?.timeIntervalSince1970,
                    key.createdAt.timeIntervalSince1970,
                ])
        }
    }

    public func loadTeams() throws -> [StoredTeam] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM governance_team ORDER BY name").map { row in
                StoredTeam(
                    name: row["name"], budget: Self.decode(Budget.self, row["budget"]), rpm: row["rpm"], tpm: row["tpm"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    public func saveTeam(_ team: StoredTeam) throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO governance_team (name, budget, rpm, tpm, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [team.name, Self.json(team.budget), team.rpm, team.tpm, team.createdAt.timeIntervalSince1970])
        }
    }

    // MARK: Audit

    public func appendAudit(at: Date, actor: String, action: String, target: String, details: JSONValue) throws -> AuditEntry {
        try database.write { db in
            let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            let sequence = (last?["seq"] as Int? ?? 0) + 1
            let previous = last?["hash"] as String? ?? AuditChain.genesis
            // Stored at millisecond precision, the precision the hash covers.
            let at = Date(timeIntervalSince1970: (at.timeIntervalSince1970 * 1000).rounded() / 1000)
            let text = details.jsonString()
            let hash = AuditChain.hash(
                AuditChain.material(sequence: sequence, at: at, actor: actor, action: action, target: target, detailsJSON: text, previousHash: previous))
            try db.execute(
                sql: "INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [sequence, at.timeIntervalSince1970, actor, action, target, text, previous, hash])
            return AuditEntry(
                sequence: sequence, at: at, actor: actor, action: action, target: target, detailsJSON: text, previousHash: previous, hash: hash)
        }
    }

    public func auditEntries() throws -> [AuditEntry] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY seq").map { row in
                AuditEntry(
                    sequence: row["seq"], at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], action: row["action"],
                    target: row["target"], detailsJSON: row["details"],
                    previousHash: row["prev_hash"], hash: row["hash"])
            }
        }
    }

    // MARK: Spend

    public func spend(key: String?, team: String?, since: Date) throws -> Double {
        try database.read { db in
            guard try db.tableExists("request_log") else { return 0 }
            return try RequestLogStore.spend(db, key: key, team: team, since: since)
        }
    }
}
