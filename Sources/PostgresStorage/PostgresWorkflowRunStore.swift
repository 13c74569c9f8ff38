import Foundation
import Logging
import PostgresNIO
import SwitchyardCore

/// Workflow runs and their finished steps in the PostgreSQL database every replica shares, with the SQLite
/// store's atomicity (a finished step and the run's totals in one transaction; `transition` and `supplyInput`
/// compare-and-set), plus leases: the replica executing a run owns it (`owner`, `lease_until`) and renews the
/// lease while it runs it; a run whose lease expired is claimed by another replica and resumed from its
/// checkpoints. Every lease time is the database's clock (`now()`), never a replica's.
public final class PostgresWorkflowRunStore: WorkflowRunLeasing {
    let database: PostgresDatabase
    /// This process, as the owner of the runs it executes.
    public let replicaID: String
    public let leaseDuration: Duration

    /// Applies the store's migrations (blocking: call it off the event loops).
    /// - Parameters:
    ///   - replicaID: unique among the replicas alive at once (a host name and process id will do).
    ///   - leaseDuration: how long a run stays owned without renewal; renew every fifth of it.
    public init(database: PostgresDatabase, replicaID: String, leaseDuration: Duration = .seconds(10)) throws {
        guard !replicaID.isEmpty, replicaID.count <= 200 else {
            throw StorageFailure(message: "A replica id must be 1-200 characters.")
        }
        try StorableText.check(replicaID, "The replica id", param: "replica_id")
        self.database = database
        self.replicaID = replicaID
        self.leaseDuration = leaseDuration
        try database.migrate(store: "workflows", Self.migrations)
    }

    static let migrations = [
        """
        CREATE TABLE workflow_runs (
            id TEXT PRIMARY KEY, workflow TEXT NOT NULL, status TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT,
            cost_usd DOUBLE PRECISION NOT NULL, steps_done BIGINT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL, caller TEXT, owner TEXT, lease_until TIMESTAMPTZ)
        """,
        "CREATE INDEX workflow_runs_status ON workflow_runs (status, created_at)",
        "CREATE INDEX workflow_runs_workflow ON workflow_runs (workflow, created_at)",
        """
        CREATE TABLE workflow_steps (
            run_id TEXT NOT NULL, step_id TEXT NOT NULL, status TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT,
            cost_usd DOUBLE PRECISION NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
            ms DOUBLE PRECISION NOT NULL, attempts BIGINT NOT NULL, started_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION NOT NULL, sequence BIGSERIAL NOT NULL, PRIMARY KEY (run_id, step_id))
        """,
    ]

    var logger: Logger { database.logger }

    /// The lease as seconds, for `make_interval`.
    var leaseSeconds: Double {
        Double(leaseDuration.components.seconds) + Double(leaseDuration.components.attoseconds) / 1e18
    }

    static let runColumns = "id, workflow, status, input, output, error, cost_usd, steps_done, created_at, updated_at, caller"
    typealias RunRow = (String, String, String, String, String?, String?, Double, Int, Double, Double, String?)
    typealias StepRow = (String, String, String, String, String?, String?, Double, Int, Int, Double, Int, Double, Double)

    // MARK: WorkflowCheckpointStore

    public func createRun(_ run: WorkflowRunRecord) async throws {
        try Self.checkIdentifiers(run.id, run.workflow, run.callerID)
        let (me, lease) = (replicaID, leaseSeconds)
        let error = StorableText.shown(run.error)
        try await database.transaction { connection in
            try await connection.execute(
                """
                INSERT INTO workflow_runs (id, workflow, status, input, output, error, cost_usd, steps_done, created_at, updated_at, caller,
                    owner, lease_until)
                VALUES (\(run.id), \(run.workflow), \(run.status.rawValue), \(run.input.jsonString()), \(run.output?.jsonString()),
                    \(error), \(run.costUSD), \(run.stepsDone), \(run.createdAt.timeIntervalSince1970),
                    \(run.updatedAt.timeIntervalSince1970), \(run.callerID),
                    CASE WHEN \(run.status.rawValue) = 'running' THEN \(me) END,
                    CASE WHEN \(run.status.rawValue) = 'running' THEN now() + make_interval(secs => \(lease)) END)
                """, logger: self.logger)
        }
    }

    public func run(id: String) async throws -> WorkflowRunRecord? {
        guard !id.utf8.contains(0) else { return nil }
        return try await database.transaction(readOnly: true) { connection in
            try await connection.query(
                "SELECT \(unescaped: Self.runColumns) FROM workflow_runs WHERE id = \(id)", logger: self.logger
            ).decode(RunRow.self).all().first.map(Self.run(from:))
        }
    }

    public func steps(runID: String) async throws -> [WorkflowStepRecord] {
        guard !runID.utf8.contains(0) else { return [] }
        return try await database.transaction(readOnly: true) { connection in
            try await connection.query(
                """
                SELECT run_id, step_id, status, input, output, error, cost_usd, prompt_tokens, completion_tokens, ms, attempts,
                    started_at, finished_at
                FROM workflow_steps WHERE run_id = \(runID) ORDER BY finished_at, sequence
                """, logger: self.logger
            ).decode(StepRow.self).all().map(Self.step(from:))
        }
    }

    public func recordStep(_ step: WorkflowStepRecord, runCostUSD: Double, stepsDone: Int) async throws {
        try Self.checkIdentifiers(step.runID, step.stepID, nil)
        try await database.transaction { connection in
            // A failed step may be recorded again when its run is retried: the latest attempt replaces it.
            try await Self.insert(step, connection, logger: self.logger)
            try await connection.execute(
                """
                UPDATE workflow_runs SET cost_usd = \(runCostUSD), steps_done = \(stepsDone), updated_at = \(step.finishedAt.timeIntervalSince1970)
                WHERE id = \(step.runID)
                """, logger: self.logger)
        }
    }

    public func finishRun(id: String, status: WorkflowRunStatus, output: JSONValue?, error: String?, at date: Date) async throws {
        try Self.checkIdentifiers(id, nil, nil)
        let error = StorableText.shown(error)
        try await database.transaction { connection in
            // A run that stops running is nobody's: a waiting or failed run is resumed through `transition` or
            // `supplyInput`, which lease it to the replica that resumes it.
            try await connection.execute(
                """
                UPDATE workflow_runs SET status = \(status.rawValue), output = \(output?.jsonString()), error = \(error),
                    updated_at = \(date.timeIntervalSince1970),
                    owner = CASE WHEN \(status.rawValue) = 'running' THEN owner END,
                    lease_until = CASE WHEN \(status.rawValue) = 'running' THEN lease_until END
                WHERE id = \(id)
                """, logger: self.logger)
        }
    }

    /// Compare-and-set on the status, and only when no other live replica holds the run (so a resume through one
    /// replica cannot start a second execution of a run another replica is executing). A run moved to `running`
    /// is leased to this replica.
    public func transition(id: String, from: Set<WorkflowRunStatus>, to: WorkflowRunStatus, at date: Date) async throws -> Bool {
        guard !id.utf8.contains(0) else { return false }
        let allowed = from.map(\.rawValue).sorted()
        let (me, lease) = (replicaID, leaseSeconds)
        return try await database.transaction { connection in
            try await !connection.query(
                """
                UPDATE workflow_runs SET status = \(to.rawValue), error = NULL, updated_at = \(date.timeIntervalSince1970),
                    owner = CASE WHEN \(to.rawValue) = 'running' THEN \(me) END,
                    lease_until = CASE WHEN \(to.rawValue) = 'running' THEN now() + make_interval(secs => \(lease)) END
                WHERE id = \(id) AND status = ANY(\(allowed))
                    AND (owner IS NULL OR owner = \(me) OR lease_until IS NULL OR lease_until < now())
                RETURNING id
                """, logger: self.logger
            ).collect().isEmpty
        }
    }

    public func supplyInput(_ step: WorkflowStepRecord, stepsDone: Int) async throws -> Bool {
        try Self.checkIdentifiers(step.runID, step.stepID, nil)
        let (me, lease) = (replicaID, leaseSeconds)
        return try await database.transaction { connection in
            // The status change first: when the run was not waiting, nothing is written.
            let moved = try await connection.query(
                """
                UPDATE workflow_runs SET status = 'running', error = NULL, steps_done = \(stepsDone),
                    updated_at = \(step.finishedAt.timeIntervalSince1970), owner = \(me), lease_until = now() + make_interval(secs => \(lease))
                WHERE id = \(step.runID) AND status = 'waiting'
                RETURNING id
                """, logger: self.logger
            ).collect()
            guard !moved.isEmpty else { return false }
            try await Self.insert(step, connection, logger: self.logger)
            return true
        }
    }

    public func runs(status: WorkflowRunStatus, limit: Int) async throws -> [WorkflowRunRecord] {
        let limit = max(0, limit)
        return try await database.transaction(readOnly: true) { connection in
            try await connection.query(
                "SELECT \(unescaped: Self.runColumns) FROM workflow_runs WHERE status = \(status.rawValue) ORDER BY created_at LIMIT \(limit)",
                logger: self.logger
            ).decode(RunRow.self).all().map(Self.run(from:))
        }
    }

    public func runs(workflow: String, limit: Int) async throws -> [WorkflowRunRecord] {
        guard !workflow.utf8.contains(0) else { return [] }
        let limit = max(0, limit)
        return try await database.transaction(readOnly: true) { connection in
            try await connection.query(
                "SELECT \(unescaped: Self.runColumns) FROM workflow_runs WHERE workflow = \(workflow) ORDER BY created_at DESC LIMIT \(limit)",
                logger: self.logger
            ).decode(RunRow.self).all().map(Self.run(from:))
        }
    }

    /// Leases a `running` run to this replica unless another live one holds it. A run that is not `running` (or
    /// does not exist) is not leased, and the answer is yes: the engine reports it as it is.
    public func claimExecution(of runID: String) async throws -> Bool {
        guard !runID.utf8.contains(0) else { return true }
        let (me, lease) = (replicaID, leaseSeconds)
        return try await database.transaction { connection in
            let claimed = try await connection.query(
                """
                UPDATE workflow_runs SET owner = \(me), lease_until = now() + make_interval(secs => \(lease))
                WHERE id = \(runID) AND status = 'running'
                    AND (owner IS NULL OR owner = \(me) OR lease_until IS NULL OR lease_until < now())
                RETURNING id
                """, logger: self.logger
            ).collect()
            if !claimed.isEmpty { return true }
            let running = try await connection.query(
                "SELECT 1 FROM workflow_runs WHERE id = \(runID) AND status = 'running'", logger: self.logger
            ).collect()
            return running.isEmpty
        }
    }

    // MARK: Import

    /// Stores a run and its finished steps from another deployment (`switchyard migrate`) as they were,
    /// leased to nobody: a `running` run is claimed and resumed by the first replica that looks
    /// (`claimExpiredRuns`). A run whose id is already stored is left alone, steps included; false then.
    public func importRun(_ run: WorkflowRunRecord, steps: [WorkflowStepRecord]) async throws -> Bool {
        try Self.checkIdentifiers(run.id, run.workflow, run.callerID)
        for step in steps { try Self.checkIdentifiers(step.runID, step.stepID, nil) }
        let error = StorableText.shown(run.error)
        return try await database.transaction { connection in
            let created = try await connection.query(
                """
                INSERT INTO workflow_runs (id, workflow, status, input, output, error, cost_usd, steps_done, created_at, updated_at, caller)
                VALUES (\(run.id), \(run.workflow), \(run.status.rawValue), \(run.input.jsonString()), \(run.output?.jsonString()),
                    \(error), \(run.costUSD), \(run.stepsDone), \(run.createdAt.timeIntervalSince1970),
                    \(run.updatedAt.timeIntervalSince1970), \(run.callerID))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: self.logger
            ).collect()
            guard !created.isEmpty else { return false }
            // In their order: `sequence` keeps it for steps that finished at the same time.
            for step in steps { try await Self.insert(step, connection, logger: self.logger) }
            return true
        }
    }

    // MARK: WorkflowRunLeasing

    public func renewLeases(runIDs: [String]) async throws -> Set<String> {
        let ids = runIDs.filter { !$0.utf8.contains(0) }
        guard !ids.isEmpty else { return [] }
        let (me, lease) = (replicaID, leaseSeconds)
        return try await database.transaction { connection in
            Set(
                try await connection.query(
                    """
                    UPDATE workflow_runs SET lease_until = now() + make_interval(secs => \(lease))
                    WHERE id = ANY(\(ids)) AND owner = \(me) AND status = 'running'
                    RETURNING id
                    """, logger: self.logger
                ).decode(String.self).all())
        }
    }

    /// `FOR UPDATE SKIP LOCKED` lets claimers on several replicas pick disjoint runs; the outer condition is
    /// checked again on the row it updates, so a run renewed or claimed meanwhile is left alone.
    public func claimExpiredRuns(limit: Int) async throws -> [WorkflowRunRecord] {
        let limit = max(0, limit)
        guard limit > 0 else { return [] }
        let (me, lease) = (replicaID, leaseSeconds)
        return try await database.transaction { connection in
            try await connection.query(
                """
                UPDATE workflow_runs SET owner = \(me), lease_until = now() + make_interval(secs => \(lease))
                WHERE id IN (
                        SELECT id FROM workflow_runs
                        WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now()) AND strpos(id, '.') = 0
                        ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    AND status = 'running' AND (lease_until IS NULL OR lease_until < now())
                RETURNING \(unescaped: Self.runColumns)
                """, logger: self.logger
            ).decode(RunRow.self).all().map(Self.run(from:)).sorted { $0.createdAt < $1.createdAt }
        }
    }

    public func releaseLeases(runIDs: [String]) async throws {
        let ids = runIDs.filter { !$0.utf8.contains(0) }
        guard !ids.isEmpty else { return }
        let me = replicaID
        try await database.transaction { connection in
            try await connection.execute(
                "UPDATE workflow_runs SET owner = NULL, lease_until = NULL WHERE id = ANY(\(ids)) AND owner = \(me)", logger: self.logger)
        }
    }

    /// Who holds a run and whether the lease is live, by the database's clock (for tests and the dashboard).
    public func lease(of runID: String) async throws -> (owner: String?, live: Bool)? {
        try await database.transaction(readOnly: true) { connection in
            try await connection.query(
                "SELECT owner, coalesce(lease_until > now(), false) FROM workflow_runs WHERE id = \(runID)", logger: self.logger
            ).decode((String?, Bool).self).all().first.map { (owner: $0, live: $1) }
        }
    }

    // MARK: Rows

    /// Ids and names are bound as `TEXT`, which cannot hold NUL: refused with a clear message instead.
    static func checkIdentifiers(_ first: String, _ second: String?, _ third: String?) throws {
        try StorableText.check(first, "The workflow run id \(StorableText.quoted(first))", param: "id")
        try StorableText.check(second, "A workflow or step name", param: "id")
        try StorableText.check(third, "The caller id", param: "caller")
    }

    static func insert(_ step: WorkflowStepRecord, _ connection: PostgresConnection, logger: Logger) async throws {
        let error = StorableText.shown(step.error)
        try await connection.execute(
            """
            INSERT INTO workflow_steps (run_id, step_id, status, input, output, error, cost_usd, prompt_tokens, completion_tokens, ms,
                attempts, started_at, finished_at)
            VALUES (\(step.runID), \(step.stepID), \(step.status.rawValue), \(step.input.jsonString()), \(step.output?.jsonString()), \(error),
                \(step.costUSD), \(step.promptTokens), \(step.completionTokens), \(step.ms), \(step.attempts),
                \(step.startedAt.timeIntervalSince1970), \(step.finishedAt.timeIntervalSince1970))
            ON CONFLICT (run_id, step_id) DO UPDATE SET status = EXCLUDED.status, input = EXCLUDED.input, output = EXCLUDED.output,
                error = EXCLUDED.error, cost_usd = EXCLUDED.cost_usd, prompt_tokens = EXCLUDED.prompt_tokens,
                completion_tokens = EXCLUDED.completion_tokens, ms = EXCLUDED.ms, attempts = EXCLUDED.attempts,
                started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, sequence = DEFAULT
            """, logger: logger)
    }

    static func run(from row: RunRow) -> WorkflowRunRecord {
        let (id, workflow, status, input, output, error, cost, stepsDone, created, updated, caller) = row
        return WorkflowRunRecord(
            id: id, workflow: workflow, status: WorkflowRunStatus(rawValue: status) ?? .failed, input: JSONValue.parse(input) ?? .null,
            output: output.flatMap { JSONValue.parse($0) }, error: error, costUSD: cost, stepsDone: stepsDone,
            createdAt: Date(timeIntervalSince1970: created), updatedAt: Date(timeIntervalSince1970: updated), callerID: caller)
    }

    static func step(from row: StepRow) -> WorkflowStepRecord {
        let (runID, stepID, status, input, output, error, cost, prompt, completion, ms, attempts, started, finished) = row
        return WorkflowStepRecord(
            runID: runID, stepID: stepID, status: WorkflowStepStatus(rawValue: status) ?? .failed, input: JSONValue.parse(input) ?? .null,
            output: output.flatMap { JSONValue.parse($0) }, error: error, costUSD: cost, promptTokens: prompt, completionTokens: completion,
            ms: ms, attempts: attempts, startedAt: Date(timeIntervalSince1970: started), finishedAt: Date(timeIntervalSince1970: finished))
    }
}
