import Foundation
import PostgresNIO
import SwitchyardCore

/// Uploaded eval reports in PostgreSQL: one row each, the summary in columns (the list reads only
/// those) and the report as uploaded beside it. The same answers as `EvalReportStore` (SQLite).
public final class PostgresEvalReportStore: EvalReportPersistence {
    let database: PostgresDatabase

    /// Applies the store's migrations (blocking: call it off the event loops).
    public init(database: PostgresDatabase) throws {
        self.database = database
        try database.migrate(store: "eval_reports", Self.migrations)
    }

    static let migrations = [
        // Ids sort by upload time (see `EvalReportSummary.newID`): the list pages by id, in byte order.
        """
        CREATE TABLE eval_report (
            id TEXT COLLATE "C" PRIMARY KEY,
            created_at DOUBLE PRECISION NOT NULL,
            description TEXT,
            eval_id TEXT,
            started_at DOUBLE PRECISION,
            providers TEXT NOT NULL,
            tests BIGINT NOT NULL,
            cells BIGINT NOT NULL,
            passes BIGINT NOT NULL,
            errors BIGINT NOT NULL,
            cost_usd DOUBLE PRECISION NOT NULL,
            duration_ms DOUBLE PRECISION NOT NULL,
            bytes BIGINT NOT NULL,
            uploaded_by TEXT NOT NULL,
            report BYTEA NOT NULL
        )
        """,
    ]

    /// Every column but the report.
    static let summaryColumns =
        "id, created_at, description, eval_id, started_at, providers, tests, cells, passes, errors, cost_usd, duration_ms, bytes, uploaded_by"

    /// Stores a new report; an id already stored is an error, as in SQLite.
    public func saveReport(_ summary: EvalReportSummary, report: Data) throws {
        _ = try database.blockingRows(try Self.insert(summary, report: report))
    }

    /// Stores a report from another deployment (`switchyard migrate`); one whose id is already stored is
    /// left alone (false).
    public func importReport(_ summary: EvalReportSummary, report: Data) throws -> Bool {
        var statement = try Self.insert(summary, report: report)
        statement.append(" ON CONFLICT (id) DO NOTHING RETURNING 1")
        return try !database.blockingRows(statement).isEmpty
    }

    static func insert(_ summary: EvalReportSummary, report: Data) throws -> PostgresStatement {
        var statement = PostgresStatement()
        let values = [
            try statement.text(summary.id), try statement.bind(summary.createdAt.timeIntervalSince1970),
            try statement.text(summary.description), try statement.text(summary.evalID),
            try statement.bind(summary.startedAt?.timeIntervalSince1970, as: "float8"),
            try statement.text(JSONValue.array(summary.json["providers"]?.arrayValue ?? []).jsonString()),
            try statement.bind(summary.tests), try statement.bind(summary.cells), try statement.bind(summary.passes),
            try statement.bind(summary.errors), try statement.bind(summary.costUSD), try statement.bind(summary.durationMs),
            try statement.bind(summary.bytes), try statement.text(summary.uploadedBy), try statement.bind(report),
        ]
        statement.append("INSERT INTO eval_report (\(Self.summaryColumns), report) VALUES (\(values.joined(separator: ", ")))")
        return statement
    }

    public func listReports(before: String?, limit: Int) throws -> [EvalReportSummary] {
        var statement = PostgresStatement()
        var sql = "SELECT \(Self.summaryColumns) FROM eval_report"
        if let before { sql += " WHERE id < \(try statement.text(before))" }
        sql += " ORDER BY id DESC LIMIT \(try statement.bind(max(0, limit)))"
        statement.append(sql)
        return try database.blockingRows(statement).map(Self.summary)
    }

    public func countReports() throws -> Int {
        try database.blockingRows(PostgresStatement("SELECT count(*) FROM eval_report")).first.map { try $0.decode(Int.self) } ?? 0
    }

    public func loadReportSummary(id: String) throws -> EvalReportSummary? {
        var statement = PostgresStatement()
        statement.append("SELECT \(Self.summaryColumns) FROM eval_report WHERE id = \(try statement.text(id))")
        return try database.blockingRows(statement).first.map(Self.summary)
    }

    public func loadReport(id: String) throws -> Data? {
        var statement = PostgresStatement()
        statement.append("SELECT report FROM eval_report WHERE id = \(try statement.text(id))")
        return try database.blockingRows(statement).first.map { try $0.decode(Data.self) }
    }

    public func deleteReport(id: String) throws -> Bool {
        var statement = PostgresStatement()
        statement.append("DELETE FROM eval_report WHERE id = \(try statement.text(id)) RETURNING 1")
        return try !database.blockingRows(statement).isEmpty
    }

    static func summary(_ row: PostgresRow) throws -> EvalReportSummary {
        let column = PostgresColumns(row)
        return EvalReportSummary(
            id: try column("id"), createdAt: try column.date("created_at"), description: try column("description"),
            evalID: try column("eval_id"), startedAt: try column.optionalDate("started_at"),
            providers: EvalReportSummary.providers(from: JSONValue.parse(try column("providers", as: String.self)) ?? .array([])),
            tests: try column("tests"), cells: try column("cells"), passes: try column("passes"), errors: try column("errors"),
            costUSD: try column("cost_usd"), durationMs: try column("duration_ms"), bytes: try column("bytes"),
            uploadedBy: try column("uploaded_by"))
    }
}
