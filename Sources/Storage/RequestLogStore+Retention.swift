import Foundation
import GRDB
import SwitchyardCore

/// Retention: records older than a cut-off are deleted in bounded batches, and what budgets need of them
/// — their cost and count per UTC day, key and team — is kept in `request_log_rollup` first, in the same
/// transaction. Budget periods start at UTC midnight and the cut-off is a UTC midnight, so a budget's
/// spend stays exact however short the retention (a `total` budget sums every day ever logged).
extension RequestLogStore {
    static func registerRetentionMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("retention-v1") { db in
            try db.create(table: "request_log_rollup") { table in
                table.column("day", .double).notNull()  // the UTC day's start, Unix seconds
                table.column("key_id", .text)
                table.column("team", .text)
                table.column("requests", .integer).notNull()
                table.column("cost_usd", .double).notNull()
            }
            try db.create(index: "request_log_rollup_key_day", on: "request_log_rollup", columns: ["key_id", "day"])
            try db.create(index: "request_log_rollup_team_day", on: "request_log_rollup", columns: ["team", "day"])
        }
    }

    /// Deletes up to `limit` of the oldest records created before `cutoff` (and feedback given before it),
    /// rolling their spend into `request_log_rollup` first, in one transaction on the background writer.
    /// Returns how many records went; call again until it returns less than `limit`.
    public func prune(before cutoff: Date, limit: Int) async throws -> Int {
        let database = database
        let limit = max(1, limit)
        let cutoffSeconds = cutoff.timeIntervalSince1970
        return try await BackgroundWriter.shared.write(database) { db in
            // Integer division, not `floor` (SQLite's math functions are a compile-time option); times are positive.
            let doomed = "SELECT rowid FROM request_log WHERE created_at < ? ORDER BY created_at, rowid LIMIT ?"
            try db.execute(
                sql: """
                    INSERT INTO request_log_rollup (day, key_id, team, requests, cost_usd)
                    SELECT (CAST(created_at AS INTEGER) / 86400) * 86400.0, key_id, team, COUNT(*), SUM(cost_usd)
                    FROM request_log WHERE rowid IN (\(doomed)) GROUP BY 1, 2, 3
                    """, arguments: [cutoffSeconds, limit])
            try db.execute(sql: "DELETE FROM request_log WHERE rowid IN (\(doomed))", arguments: [cutoffSeconds, limit])
            let removed = db.changesCount
            if removed < limit { try db.execute(sql: "DELETE FROM feedback WHERE created_at < ?", arguments: [cutoffSeconds]) }
            return removed
        }
    }
}

/// One day's spend of pruned records for a key and team (what `request_log_rollup` holds).
public struct SpendRollup: Sendable, Hashable {
    public var day: Date
    public var keyID: String?
    public var team: String?
    public var requests: Int
    public var costUSD: Double

    public init(day: Date, keyID: String?, team: String?, requests: Int, costUSD: Double) {
        self.day = day
        self.keyID = keyID
        self.team = team
        self.requests = requests
        self.costUSD = costUSD
    }
}

extension RequestLogStore {
    /// Every roll-up row, oldest day first (for `switchyard migrate`; a few rows per day, key and team).
    public func exportRollups() throws -> [SpendRollup] {
        try database.read { db in
            guard try db.tableExists("request_log_rollup") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT day, key_id, team, requests, cost_usd FROM request_log_rollup ORDER BY day, rowid").map { row in
                SpendRollup(
                    day: Date(timeIntervalSince1970: row["day"]), keyID: row["key_id"], team: row["team"], requests: row["requests"],
                    costUSD: row["cost_usd"])
            }
        }
    }
}
