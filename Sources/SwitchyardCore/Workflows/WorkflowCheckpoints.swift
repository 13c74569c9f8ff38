import Foundation

// Workflow run records and the checkpoint store protocol live in Core so that Storage can implement the
// store without depending on the workflow engine (as GovernancePersistence does for Governance).

public enum WorkflowRunStatus: String, Sendable, Hashable, Codable {
    case running, waiting, completed, failed
}

public enum WorkflowStepStatus: String, Sendable, Hashable, Codable {
    /// `waiting`: a `human` step asked its question and waits for `resume` to supply the answer.
    case completed, skipped, failed, waiting

    /// Finished for good: a resumed run does not run it again.
    public var isFinished: Bool { self == .completed || self == .skipped }
}

extension WorkflowRunStatus {
    /// Completed or failed: nothing more happens unless the run is resumed.
    public var isTerminal: Bool { self == .completed || self == .failed }
}

/// A run as the checkpoint store keeps it. `costUSD`, `stepsDone` and `createdAt` are what the limits are held
/// to, so they survive a restart.
public struct WorkflowRunRecord: Sendable, Hashable {
    public var id: String
    public var workflow: String
    public var status: WorkflowRunStatus
    public var input: JSONValue
    public var output: JSONValue?
    public var error: String?
    public var costUSD: Double
    public var stepsDone: Int
    public var createdAt: Date
    public var updatedAt: Date
    /// The key (or caller) that started the run; a resumed run's steps are called as it.
    public var callerID: String?

    public init(
        id: String, workflow: String, status: WorkflowRunStatus = .running, input: JSONValue, output: JSONValue? = nil,
        error: String? = nil, costUSD: Double = 0, stepsDone: Int = 0, createdAt: Date, updatedAt: Date? = nil, callerID: String? = nil
    ) {
        self.id = id
        self.workflow = workflow
        self.status = status
        self.input = input
        self.output = output
        self.error = error
        self.costUSD = costUSD
        self.stepsDone = stepsDone
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.callerID = callerID
    }
}

/// One finished step: written once, when it finishes (a step is never half-recorded).
public struct WorkflowStepRecord: Sendable, Hashable {
    public var runID: String
    public var stepID: String
    public var status: WorkflowStepStatus
    /// What the step was asked (the rendered prompt, or the items a `parallel` step mapped over).
    public var input: JSONValue
    public var output: JSONValue?
    public var error: String?
    public var costUSD: Double
    public var promptTokens: Int
    public var completionTokens: Int
    public var ms: Double
    public var attempts: Int
    public var startedAt: Date
    public var finishedAt: Date

    public init(
        runID: String, stepID: String, status: WorkflowStepStatus, input: JSONValue = .null, output: JSONValue? = nil,
        error: String? = nil, costUSD: Double = 0, promptTokens: Int = 0, completionTokens: Int = 0, ms: Double = 0, attempts: Int = 0,
        startedAt: Date, finishedAt: Date
    ) {
        self.runID = runID
        self.stepID = stepID
        self.status = status
        self.input = input
        self.output = output
        self.error = error
        self.costUSD = costUSD
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.ms = ms
        self.attempts = attempts
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// Where runs are checkpointed. `recordStep` writes the step and the run's running totals together, so a crash
/// leaves either both or neither.
public protocol WorkflowCheckpointStore: Sendable {
    func createRun(_ run: WorkflowRunRecord) async throws
    func run(id: String) async throws -> WorkflowRunRecord?
    /// The run's recorded steps, in the order they finished.
    func steps(runID: String) async throws -> [WorkflowStepRecord]
    func recordStep(_ step: WorkflowStepRecord, runCostUSD: Double, stepsDone: Int) async throws
    func finishRun(id: String, status: WorkflowRunStatus, output: JSONValue?, error: String?, at: Date) async throws
    /// Moves the run to `to` only if it is now in one of `from` (so two callers cannot both resume it); false if it
    /// was not. Clears its error.
    func transition(id: String, from: Set<WorkflowRunStatus>, to: WorkflowRunStatus, at: Date) async throws -> Bool
    /// A waiting run's answer: records `step` (the `human` step, completed) and moves the run from `waiting` to
    /// `running`, together; false (and nothing written) if the run was not waiting.
    func supplyInput(_ step: WorkflowStepRecord, stepsDone: Int) async throws -> Bool
    /// Runs in `status`, oldest first (start-up resumes those left `running`).
    func runs(status: WorkflowRunStatus, limit: Int) async throws -> [WorkflowRunRecord]
    /// The newest runs of one workflow.
    func runs(workflow: String, limit: Int) async throws -> [WorkflowRunRecord]
    /// Takes the run for this process to execute, just before it does. A store several processes share says no
    /// while another live process holds the run's lease; a store of one process always says yes.
    func claimExecution(of runID: String) async throws -> Bool
}

extension WorkflowCheckpointStore {
    /// One process: every run it is asked to execute is its own.
    public func claimExecution(of runID: String) async throws -> Bool { true }
}

/// A checkpoint store several gateway processes share. A run being executed is leased to one process, which
/// renews the lease while it runs it (`renewLeases`, every fifth of `leaseDuration`); a run left `running` whose
/// lease ran out (its process died) is claimed by another process and resumed from its checkpoints. Moving a run
/// to `running` (`createRun`, `transition`, `supplyInput`, `claimExecution`) leases it to the process that did.
/// Sub-workflow runs (`PARENT.STEP`) are resumed with their parents and never claimed on their own.
public protocol WorkflowRunLeasing: WorkflowCheckpointStore {
    /// How long a lease lasts without renewal.
    var leaseDuration: Duration { get }
    /// Extends this process's leases on these runs; returns those it still holds (a lease it lost was taken by
    /// another process after it expired).
    func renewLeases(runIDs: [String]) async throws -> Set<String>
    /// Runs left `running` with an expired lease, now leased to this process, oldest first.
    func claimExpiredRuns(limit: Int) async throws -> [WorkflowRunRecord]
    /// Gives the leases up, so another process may claim the runs at once.
    func releaseLeases(runIDs: [String]) async throws
}


// The runs API's shapes, here so that the server and the CLI's database reader (`explain wfr_…`) answer alike.
extension WorkflowRunRecord {
    /// A run as `GET /v1/switchyard/workflows/NAME/runs/ID` shows it; `steps` nil leaves them out (lists).
    public func apiJSON(steps: [WorkflowStepRecord]?) -> JSONValue {
        let recorded = steps ?? []
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "workflow.run", "workflow": .string(workflow), "status": .string(status.rawValue),
            "input": input, "output": output ?? .null, "cost_usd": .double(costUSD), "steps_done": .int(Int64(stepsDone)),
            "created_at": .int(Int64(createdAt.timeIntervalSince1970.rounded(.down))),
            "usage": [
                "prompt_tokens": .int(Int64(recorded.reduce(0) { $0 &+ $1.promptTokens })),
                "completion_tokens": .int(Int64(recorded.reduce(0) { $0 &+ $1.completionTokens })),
            ],
        ]
        if let steps { object["steps"] = .array(steps.map(\.apiJSON)) }
        if steps == nil { object["usage"] = nil }
        if let error { object["error"] = .string(error) }
        return .object(object)
    }
}

extension WorkflowStepRecord {
    /// A step as the runs API and the events stream show it.
    public var apiJSON: JSONValue {
        var item: [String: JSONValue] = [
            "id": .string(stepID), "status": .string(status.rawValue), "input": input, "output": output ?? .null,
            "cost_usd": .double(costUSD), "ms": .double((ms * 1000).rounded() / 1000), "attempts": .int(Int64(attempts)),
            "usage": ["prompt_tokens": .int(Int64(promptTokens)), "completion_tokens": .int(Int64(completionTokens))],
        ]
        if let error { item["error"] = .string(error) }
        return .object(item)
    }
}
