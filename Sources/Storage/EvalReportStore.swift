import Foundation
import GRDB
import SwitchyardCore

/// Uploaded eval reports (`POST /v1/switchyard/eval-reports`) in the gateway's SQLite file: one row
/// each, the summary in columns (the list reads only those) and the report as uploaded beside it.
public final class EvalReportStore: EvalReportPersistence {
    private let database: any DatabaseWriter

    public init(path: String) throws {
        database = try SQLiteDatabase.open(path: path, migrator: Self.migrator, what: "eval report database")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("eval-reports-v1") { db in
            try db.create(table: "eval_report") { table in
                // Ids sort by upload time (see `EvalReportSummary.newID`): the list pages by id.
                table.primaryKey("id", .text)
                table.column("created_at", .double).notNull()
                table.column("description", .text)
                table.column("eval_id", .text)
                table.column("started_at", .double)
                table.column("providers", .text).notNull()
                table.column("tests", .integer).notNull()
                table.column("cells", .integer).notNull()
                table.column("passes", .integer).notNull()
                table.column("errors", .integer).notNull()
                table.column("cost_usd", .double).notNull()
                table.column("duration_ms", .double).notNull()
                table.column("bytes", .integer).notNull()
                table.column("uploaded_by", .text).notNull()
                table.column("report", .blob).notNull()
            }
        }
        return migrator
    }

    /// Every column but the report.
    private static let summaryColumns =
        "id, created_at, description, eval_id, started_at, providers, tests, cells, passes, errors, cost_usd, duration_ms, bytes, uploaded_by"

    public func saveReport(_ summary: EvalReportSummary, report: Data) throws {
        let providers = JSONValue.array(summary.json["providers"]?.arrayValue ?? []).jsonString()
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO eval_report (\(Self.summaryColumns), report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    summary.id, summary.createdAt.timeIntervalSince1970, summary.description, summary.evalID,
                    summary.startedAt?.timeIntervalSince1970, providers, summary.tests, summary.cells, summary.passes,
                    summary.errors, summary.costUSD, summary.durationMs, summary.bytes, summary.uploadedBy, report,
                ])
        }
    }

    public func listReports(before: String?, limit: Int) throws -> [EvalReportSummary] {
        try database.read { db in
            var sql = "SELECT \(Self.summaryColumns) FROM eval_report"
            var arguments: StatementArguments = []
            if let before {
                sql += " WHERE id < ?"
                arguments += [before]
            }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.summary)
        }
    }

    public func countReports() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM eval_report") ?? 0 }
    }

    public func loadReportSummary(id: String) throws -> EvalReportSummary? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.summaryColumns) FROM eval_report WHERE id = ?", arguments: [id]).map(Self.summary)
        }
    }

    public func loadReport(id: String) throws -> Data? {
        try database.read { db in try Data.fetchOne(db, sql: "SELECT report FROM eval_report WHERE id = ?", arguments: [id]) }
    }

    public func deleteReport(id: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM eval_report WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    static func summary(_ row: Row) -> EvalReportSummary {
        EvalReportSummary(
            id: row["id"], createdAt: Date(timeIntervalSince1970: row["created_at"]), description: row["description"],
            evalID: row["eval_id"], startedAt: (row["started_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            providers: EvalReportSummary.providers(from: JSONValue.parse(row["providers"] as String) ?? .array([])),
            tests: row["tests"], cells: row["cells"], passes: row["passes"], errors: row["errors"], costUSD: row["cost_usd"],
            durationMs: row["duration_ms"], bytes: row["bytes"], uploadedBy: row["uploaded_by"])
    }
}
