import Foundation
import GRDB
import SwitchyardCore

/// Workflow runs and their finished steps in SQLite (the same file as the request log). Each finished step is
/// one transaction: its row in `workflow_steps` and the run's running totals in `workflow_runs` — two rows.
/// Checkpoints are written at once, not batched: a step is durable before the next one starts.
public final class WorkflowRunStore: WorkflowCheckpointStore {
    private let database: any DatabaseWriter

    public init(path: String) throws {
        database = try SQLiteDatabase.open(path: path, migrator: Self.migrator, what: "workflow runs database")
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("workflows-v1") { db in
            try db.create(table: "workflow_runs") { table in
                table.primaryKey("id", .text)
                table.column("workflow", .text).notNull()
                table.column("status", .text).notNull()
                table.column("input", .text).notNull()
                table.column("output", .text)
                table.column("error", .text)
                table.column("cost_usd", .double).notNull()
                table.column("steps_done", .integer).notNull()
                table.column("created_at", .double).notNull()
                table.column("updated_at", .double).notNull()
                table.column("caller", .text)
            }
            try db.create(index: "workflow_runs_status", on: "workflow_runs", columns: ["status", "created_at"])
            try db.create(index: "workflow_runs_workflow", on: "workflow_runs", columns: ["workflow", "created_at"])
            try db.create(table: "workflow_steps") { table in
                table.column("run_id", .text).notNull()
                table.column("step_id", .text).notNull()
                table.column("status", .text).notNull()
                table.column("input", .text).notNull()
                table.column("output", .text)
                table.column("error", .text)
                table.column("cost_usd", .double).notNull()
                table.column("prompt_tokens", .integer).notNull()
                table.column("completion_tokens", .integer).notNull()
                table.column("ms", .double).notNull()
                table.column("attempts", .integer).notNull()
                table.column("started_at", .double).notNull()
                table.column("finished_at", .double).notNull()
                table.primaryKey(["run_id", "step_id"])
            }
        }
        return migrator
    }

    public func createRun(_ run: WorkflowRunRecord) async throws {
        try await BackgroundWriter.checkpoints.write(database) { db in
            try db.execute(
                sql: """
                    INSERT INTO workflow_runs (id, workflow, status, input, output, error, cost_usd, steps_done, created_at, updated_at, caller)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    run.id, run.workflow, run.status.rawValue, run.input.jsonString(), run.output?.jsonString(), run.error, run.costUSD,
                    run.stepsDone, run.createdAt.timeIntervalSince1970, run.updatedAt.timeIntervalSince1970, run.callerID,
                ])
        }
    }

    public func run(id: String) async throws -> WorkflowRunRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM workflow_runs WHERE id = ?", arguments: [id]).map(Self.run(from:))
        }
    }

    public func steps(runID: String) async throws -> [WorkflowStepRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM workflow_steps WHERE run_id = ? ORDER BY finished_at, rowid", arguments: [runID])
                .map(Self.step(from:))
        }
    }

    public func recordStep(_ step: WorkflowStepRecord, runCostUSD: Double, stepsDone: Int) async throws {
        try await BackgroundWriter.checkpoints.write(database) { db in
            // A failed step may be recorded again when its run is retried: the latest attempt replaces it.
            try Self.insert(step, db)
            try db.execute(
                sql: "UPDATE workflow_runs SET cost_usd = ?, steps_done = ?, updated_at = ? WHERE id = ?",
                arguments: [runCostUSD, stepsDone, step.finishedAt.timeIntervalSince1970, step.runID])
        }
    }

    public func finishRun(id: String, status: WorkflowRunStatus, output: JSONValue?, error: String?, at date: Date) async throws {
        try await BackgroundWriter.checkpoints.write(database) { db in
            try db.execute(
                sql: "UPDATE workflow_runs SET status = ?, output = ?, error = ?, updated_at = ? WHERE id = ?",
                arguments: [status.rawValue, output?.jsonString(), error, date.timeIntervalSince1970, id])
        }
    }

    public func transition(id: String, from: Set<WorkflowRunStatus>, to: WorkflowRunStatus, at date: Date) async throws -> Bool {
        let allowed = from.map(\.rawValue).sorted()
        let marks = allowed.map { _ in "?" }.joined(separator: ", ")
        return try await BackgroundWriter.checkpoints.write(database) { db in
            try db.execute(
                sql: "UPDATE workflow_runs SET status = ?, error = NULL, updated_at = ? WHERE id = ? AND status IN (\(marks))",
                arguments: StatementArguments([to.rawValue, date.timeIntervalSince1970, id] as [any DatabaseValueConvertible] + allowed))
            return db.changesCount > 0
        }
    }

    public func supplyInput(_ step: WorkflowStepRecord, stepsDone: Int) async throws -> Bool {
        try await BackgroundWriter.checkpoints.write(database) { db in
            // The status change first: when the run was not waiting, nothing is written.
            try db.execute(
                sql: "UPDATE workflow_runs SET status = 'running', error = NULL, steps_done = ?, updated_at = ? WHERE id = ? AND status = 'waiting'",
                arguments: [stepsDone, step.finishedAt.timeIntervalSince1970, step.runID])
            guard db.changesCount > 0 else { return false }
            try Self.insert(step, db)
            return true
        }
    }

    public func runs(status: WorkflowRunStatus, limit: Int) async throws -> [WorkflowRunRecord] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM workflow_runs WHERE status = ? ORDER BY created_at LIMIT ?", arguments: [status.rawValue, max(0, limit)]
            ).map(Self.run(from:))
        }
    }

    public func runs(workflow: String, limit: Int) async throws -> [WorkflowRunRecord] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM workflow_runs WHERE workflow = ? ORDER BY created_at DESC LIMIT ?",
                arguments: [workflow, max(0, limit)]
            ).map(Self.run(from:))
        }
    }

    /// Every run, a page at a time in the order they were created (`switchyard migrate`). Blocks.
    public func exportRuns(after rowID: Int64 = 0, limit: Int) throws -> ExportPage<WorkflowRunRecord> {
        try database.read { db in
            ExportPage.make(
                try Row.fetchAll(db, sql: ExportPage<WorkflowRunRecord>.sql("workflow_runs"), arguments: [rowID, limit]), limit: limit,
                Self.run(from:))
        }
    }

    /// The number of rows in each workflow table (for measuring what a checkpoint writes).
    public func rowCounts() async throws -> (runs: Int, steps: Int) {
        try await database.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workflow_runs") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workflow_steps") ?? 0)
        }
    }

    /// Rows changed in this database connection's lifetime by writes (SQLite's `total_changes()`).
    public func totalChanges() async throws -> Int {
        try await BackgroundWriter.checkpoints.write(database) { db in try Int.fetchOne(db, sql: "SELECT total_changes()") ?? 0 }
    }

    private static func insert(_ step: WorkflowStepRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO workflow_steps (run_id, step_id, status, input, output, error, cost_usd, prompt_tokens,
                    completion_tokens, ms, attempts, started_at, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                step.runID, step.stepID, step.status.rawValue, step.input.jsonString(), step.output?.jsonString(), step.error,
                step.costUSD, step.promptTokens, step.completionTokens, step.ms, step.attempts, step.startedAt.timeIntervalSince1970,
                step.finishedAt.timeIntervalSince1970,
            ])
    }

    private static func json(_ text: String?) -> JSONValue? {
        text.flatMap { JSONValue.parse($0) }
    }

    private static func run(from row: Row) -> WorkflowRunRecord {
        WorkflowRunRecord(
            id: row["id"], workflow: row["workflow"],
            status: WorkflowRunStatus(rawValue: row["status"] ?? "") ?? .failed,
            input: json(row["input"]) ?? .null, output: json(row["output"]), error: row["error"],
            costUSD: row["cost_usd"] ?? 0, stepsDone: row["steps_done"] ?? 0,
            createdAt: Date(timeIntervalSince1970: row["created_at"] ?? 0), updatedAt: Date(timeIntervalSince1970: row["updated_at"] ?? 0),
            callerID: row["caller"])
    }

    private static func step(from row: Row) -> WorkflowStepRecord {
        WorkflowStepRecord(
            runID: row["run_id"], stepID: row["step_id"], status: WorkflowStepStatus(rawValue: row["status"] ?? "") ?? .failed,
            input: json(row["input"]) ?? .null, output: json(row["output"]), error: row["error"], costUSD: row["cost_usd"] ?? 0,
            promptTokens: row["prompt_tokens"] ?? 0, completionTokens: row["completion_tokens"] ?? 0, ms: row["ms"] ?? 0,
            attempts: row["attempts"] ?? 0, startedAt: Date(timeIntervalSince1970: row["started_at"] ?? 0),
            finishedAt: Date(timeIntervalSince1970: row["finished_at"] ?? 0))
    }
}
